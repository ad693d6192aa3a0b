"""`ferry serve --backfill-batch`: a day of hourly history backfills in one batch although the throttle
between batches is an hour (with the default of 10 windows, 14 of the 24 would wait for it), and a
batch size out of range is refused before the server starts. Readings go in through the published
Viam Python SDK (viam-sdk 0.85.1, unmodified); nothing here asserts a duration.

Run by the Swift test suite (EndToEndTests/ViamSDKTests.swift):
    python3 Tests/python/backfill_batch_e2e.py /path/to/ferry"""

import asyncio
import subprocess
import tempfile
import time
from datetime import datetime, timedelta, timezone

from viam.proto.app.data import TabularDataSourceType
from viam.proto.app.datapipelines import DataPipelineRunStatus

from ferry_e2e import FERRY, check, connect, ferry, run

HOURS = 24
MQL = [{"$match": {"component_name": "history"}}, {"$count": "n"}]


async def main(data, port, _metrics_port):
    org = ferry("org", "create", "acme", data=data)
    key_id, key = ferry("key", "create", "--org", org, "--role", "owner", data=data).split()
    client = await connect(port, key_id, key)
    dc = client.data_client
    # One reading in each of the last 24 whole hours.
    hour = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
    first = hour - timedelta(hours=HOURS)
    times = [(first + timedelta(hours=i, minutes=10), first + timedelta(hours=i, minutes=10, seconds=1)) for i in range(HOURS)]
    await dc.tabular_data_capture_upload(
        tabular_data=[{"readings": {"i": i}} for i in range(HOURS)], part_id="part-1", component_type="rdk:component:sensor",
        component_name="history", method_name="Readings", data_request_times=times)

    pipeline_id = await dc.create_data_pipeline(org, "hourly-history", MQL, "0 * * * *", True)

    async def history_runs():
        page = await dc.list_data_pipeline_runs(pipeline_id, page_size=100)
        runs = []
        while len(page.runs) > 0:
            runs += page.runs
            page = await page.next_page()
        # Only the day's windows: a regular window may also run if the hour turns meanwhile.
        return [r for r in runs if first <= r.data_start_time.replace(tzinfo=timezone.utc) < hour]

    completed = []
    deadline = time.time() + 120
    while time.time() < deadline:
        completed = [r for r in await history_runs() if r.status == DataPipelineRunStatus.DATA_PIPELINE_RUN_STATUS_COMPLETED]
        if len(completed) >= HOURS:
            break
        await asyncio.sleep(0.5)
    check(len(completed) == HOURS, f"every hour of the day ran in the first batch, before the hour-long throttle: {len(completed)} of {HOURS}")

    sink = await dc.tabular_data_by_mql(
        org, [{"$match": {}}], tabular_data_source_type=TabularDataSourceType.TABULAR_DATA_SOURCE_TYPE_PIPELINE_SINK,
        pipeline_id=pipeline_id)
    check(len(sink) == HOURS and all(row.get("n") == 1 for row in sink), f"one count per hour in the sink: {len(sink)} rows")

    with tempfile.TemporaryDirectory() as other:
        refused = subprocess.run([FERRY, "serve", "--data", other, "--backfill-batch", "0"], capture_output=True, text=True, timeout=60)
        check(refused.returncode != 0 and "--backfill-batch takes 1 to 1000 windows, not 0" in refused.stderr,
              f"--backfill-batch 0 is refused with the range: {refused.returncode} {refused.stderr.strip()[-200:]}")


run(main, ["--pipeline-start-delay", "0", "--backfill-throttle", "3600", "--backfill-batch", "30", "--pipeline-poll", "0.5"])
