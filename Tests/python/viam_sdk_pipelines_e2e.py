"""Data pipelines through the published Viam Python SDK (viam-sdk 0.85.1, unmodified) against the
real `ferry serve` binary over TLS: create (owner) and refused (viewer), list, get, rename,
disable/enable, runs with paging, reading the sink with tabular_data_by_mql(PIPELINE_SINK), delete.

The server runs with --pipeline-start-delay 0 and --backfill-throttle 0, and the readings are
uploaded with timestamps hours in the past, so backfill produces results without waiting for a tick.
Nothing here asserts a duration; waits are for observable states, with generous timeouts.

Run by the Swift test suite (EndToEndTests/ViamSDKTests.swift):
    python3 Tests/python/viam_sdk_pipelines_e2e.py /path/to/ferry"""

import asyncio
import sys
import time
from datetime import datetime, timedelta, timezone

try:
    from viam.proto.app.data import TabularDataSourceType
    from viam.proto.app.datapipelines import (DataPipelineRunStatus, DisableDataPipelineRequest,
                                              EnableDataPipelineRequest)
except ImportError:
    print("viam-sdk is not installed: pip install viam-sdk==0.85.1 (CI's .ci/run does)")
    sys.exit(2)

from ferry_e2e import check, connect, ferry, run
MQL = [
    {"$match": {"component_name": "sensor"}},
    {"$group": {"_id": "$location_id", "avg_temp": {"$avg": "$data.readings.temperature"}, "count": {"$sum": 1}}},
    {"$project": {"location": "$_id", "avg_temp": 1, "count": 1, "_id": 0}},
]
SINK = TabularDataSourceType.TABULAR_DATA_SOURCE_TYPE_PIPELINE_SINK


async def wait_for(what, probe, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = await probe()
        if value:
            return value
        await asyncio.sleep(0.5)
    check(False, f"{what} (waited {timeout} s)")
    return None


async def all_runs(data_client, pipeline_id, page_size):
    page = await data_client.list_data_pipeline_runs(pipeline_id, page_size=page_size)
    runs, pages = [], 0
    while len(page.runs) > 0:
        runs += page.runs
        pages += 1
        page = await page.next_page()
    return runs, pages


async def main(data, port, _metrics_port):
    org = ferry("org", "create", "acme", data=data)
    owner_id, owner_key = ferry("key", "create", "--org", org, "--role", "owner", data=data).split()
    viewer_id, viewer_key = ferry("key", "create", "--org", org, "--role", "viewer", data=data).split()

    client = await connect(port, owner_id, owner_key)
    dc = client.data_client
    # Readings three hours ago: backfill finds them as the earliest data.
    base = datetime.now(timezone.utc).replace(minute=10, second=0, microsecond=0) - timedelta(hours=3)
    readings = [{"readings": {"temperature": 20.0 + i}} for i in range(4)]
    times = [(base + timedelta(minutes=i), base + timedelta(minutes=i, seconds=1)) for i in range(4)]
    await dc.tabular_data_capture_upload(
        tabular_data=readings, part_id="part-1", component_type="rdk:component:sensor", component_name="sensor",
        method_name="Readings", data_request_times=times)

    viewer = await connect(port, viewer_id, viewer_key)
    try:
        await viewer.data_client.create_data_pipeline(org, "nope", MQL, "0 * * * *", False)
        check(False, "a viewer cannot create a pipeline")
    except Exception as error:
        check("PERMISSION_DENIED" in repr(error) or "needs owner" in str(error), f"a viewer cannot create a pipeline: {error}")
    try:
        await dc.create_data_pipeline(org, "bad", MQL, "0 * * *", False)
        check(False, "a bad schedule is refused")
    except Exception as error:
        check("5 fields" in str(error), f"a bad schedule is refused with the reason: {error}")

    pipeline_id = await dc.create_data_pipeline(org, "sensor-counts", MQL, "0 * * * *", True)
    check(bool(pipeline_id), "create_data_pipeline returns an id")

    listed = await dc.list_data_pipelines(org)
    check([p.id for p in listed] == [pipeline_id], f"list_data_pipelines lists it: {[p.id for p in listed]}")
    got = await dc.get_data_pipeline(pipeline_id)
    check(got.name == "sensor-counts" and got.schedule == "0 * * * *" and got.enabled, f"get_data_pipeline: {got}")
    check(got.mql_binary == MQL, f"the stages round-trip: {got.mql_binary}")

    await dc.rename_data_pipeline(pipeline_id, "hourly-sensor-counts")
    check((await dc.get_data_pipeline(pipeline_id)).name == "hourly-sensor-counts", "rename_data_pipeline renames")

    stub = dc._data_pipelines_client
    await stub.DisableDataPipeline(DisableDataPipelineRequest(id=pipeline_id), metadata=dc._metadata)
    check(not (await dc.get_data_pipeline(pipeline_id)).enabled, "DisableDataPipeline disables")
    await stub.EnableDataPipeline(EnableDataPipelineRequest(id=pipeline_id), metadata=dc._metadata)
    check((await dc.get_data_pipeline(pipeline_id)).enabled, "EnableDataPipeline enables")

    async def sink_rows():
        return await dc.tabular_data_by_mql(org, [{"$match": {}}], tabular_data_source_type=SINK, pipeline_id=pipeline_id)

    rows = await wait_for("backfill results appear in the sink", sink_rows)
    if rows:
        row = rows[0]
        check(len(rows) == 1 and row.get("count") == 4 and row.get("avg_temp") == 21.5 and "location" in row,
              f"the sink holds the window's summary: {rows}")
        meta = row.get("_viam_pipeline_run", {})
        interval = meta.get("interval", {})
        start = interval.get("start")
        check(meta.get("organization_id") == org and bool(meta.get("id")), f"_viam_pipeline_run names the run: {meta}")
        check(isinstance(start, datetime) and start.replace(tzinfo=timezone.utc) == base.replace(minute=0),
              f"the run's interval is the hour of the data, as BSON dates: {interval}")

    async def backfill_done():
        runs, _ = await all_runs(dc, pipeline_id, 100)
        active = [r for r in runs if r.status in (DataPipelineRunStatus.DATA_PIPELINE_RUN_STATUS_SCHEDULED,
                                                  DataPipelineRunStatus.DATA_PIPELINE_RUN_STATUS_STARTED)]
        return runs if runs and not active else None

    runs = await wait_for("backfill runs finish", backfill_done) or []
    completed = [r for r in runs if r.status == DataPipelineRunStatus.DATA_PIPELINE_RUN_STATUS_COMPLETED]
    check(len(runs) >= 3 and len(completed) == len(runs), f"backfill ran every window back to the data: {len(runs)} runs")
    paged, pages = await all_runs(dc, pipeline_id, 2)
    check([r.id for r in paged] == [r.id for r in runs] and pages == (len(runs) + 1) // 2,
          f"list_data_pipeline_runs pages through every run once ({pages} pages of 2)")
    run = runs[-1] if runs else None
    check(run is not None and run.data_end_time > run.data_start_time and run.end_time >= run.start_time,
          "runs carry their data window and timing")

    viewer_runs, _ = await all_runs(viewer.data_client, pipeline_id, 100)
    check(len(viewer_runs) == len(runs), "a viewer may list runs")
    try:
        await viewer.data_client.delete_data_pipeline(pipeline_id)
        check(False, "a viewer cannot delete a pipeline")
    except Exception as error:
        check("PERMISSION_DENIED" in repr(error) or "needs owner" in str(error), f"a viewer cannot delete: {error}")
    viewer.close()

    await dc.delete_data_pipeline(pipeline_id)
    try:
        await dc.get_data_pipeline(pipeline_id)
        check(False, "a deleted pipeline is gone")
    except Exception as error:
        check("NOT_FOUND" in repr(error) or "no pipeline" in str(error), f"a deleted pipeline is gone: {error}")
    check(await sink_rows() == [], "deleting a pipeline removes its sink")

    # The CLI writes the data directory directly; the running server's scheduler picks it up.
    cli_id = ferry("pipelines", "create", "--org-id", org, "--name", "from-cli", "--schedule", "*/30 * * * *",
                   "--enable-backfill=true", "--mql", '[{"$match": {}}, {"$count": "n"}]', data=data)

    async def cli_sink():
        return await dc.tabular_data_by_mql(org, [{"$match": {}}], tabular_data_source_type=SINK, pipeline_id=cli_id)

    cli_rows = await wait_for("a pipeline created with `ferry pipelines create` runs in the server", cli_sink)
    check(cli_rows is not None and [r.get("n") for r in cli_rows] == [4], f"its sink: {cli_rows}")
    queried = ferry("data", "query", "--org", org, "--pipeline-sink", cli_id, "--mql", '[{"$project": {"_id": 0, "n": 1}}]',
                    data=data)
    check(queried == '{"n":4}', f"`ferry data query --pipeline-sink` reads it: {queried}")
    listed = (await dc.list_data_pipelines(org))
    check([p.name for p in listed] == ["from-cli"], f"the SDK lists the CLI's pipeline: {[p.name for p in listed]}")
    client.close()


if __name__ == "__main__":
    run(main, ["--pipeline-start-delay", "0", "--backfill-throttle", "0", "--pipeline-poll", "0.5"])
