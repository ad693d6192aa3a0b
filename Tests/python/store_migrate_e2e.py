"""`ferry store migrate` with the real binaries and the published Viam Python SDK (viam-sdk 0.85.1,
unmodified): a `ferry serve` on a data directory (SQLite) takes readings, a payload in a dataset and a pipeline
whose backfill fills its sink; after `ferry store migrate --from DIR --to URL`, a `ferry serve
--database URL` with an empty data directory of its own serves the same readings, payload, dataset and sink,
accepts the same API key, and accepts a token the first server issued; migrated back into a new
data directory, the readings are there again. A second migrate copies nothing; the same store
twice and a missing source are refused.

Run by the Swift test suite (EndToEndTests/StoreMigrateEndToEndTests.swift) with FERRY_DATABASE_URL
set to a fresh database, which only the migrate and the second server use:
    FERRY_DATABASE_URL=postgresql://… python3 Tests/python/store_migrate_e2e.py /path/to/ferry"""

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone

try:
    from viam.proto.app.data import TabularDataSourceType
    from viam.proto.app.datapipelines import DataPipelineRunStatus
except ImportError:
    print("viam-sdk is not installed: pip install viam-sdk==0.85.1 (CI's .ci/run does)")
    sys.exit(2)

from ferry_e2e import FERRY, Server, check, connect, failures, ferry, finish

# The first server and the CLI must use the data directory, not the database.
URL = os.environ.pop("FERRY_DATABASE_URL", "")
MQL = [{"$match": {"component_name": "sensor"}}, {"$group": {"_id": None, "count": {"$sum": 1}}},
       {"$project": {"_id": 0, "count": 1}}]
SINK = TabularDataSourceType.TABULAR_DATA_SOURCE_TYPE_PIPELINE_SINK
ACTIVE = (DataPipelineRunStatus.DATA_PIPELINE_RUN_STATUS_SCHEDULED, DataPipelineRunStatus.DATA_PIPELINE_RUN_STATUS_STARTED)


async def wait_for(what, probe, timeout=180):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = await probe()
        if value:
            return value
        await asyncio.sleep(0.5)
    check(False, f"{what} (waited {timeout} s)")
    return None


def migrate(*args):
    return subprocess.run([FERRY, "store", "migrate", *args], capture_output=True, text=True)


async def on_sqlite(data):
    """Fills the data directory's store through a server; returns what the second server must show."""
    org = ferry("org", "create", "acme", data=data)
    key_id, key = ferry("key", "create", "--org", org, "--role", "owner", data=data).split()
    server = Server(data, ["--pipeline-start-delay", "0", "--backfill-throttle", "0"])
    try:
        client = await connect(server.ports["api"], key_id, key)
        dc = client.data_client
        base = datetime.now(timezone.utc).replace(minute=10, second=0, microsecond=0) - timedelta(hours=3)
        for hour in (base, base + timedelta(hours=1)):
            times = [(hour + timedelta(minutes=i), hour + timedelta(minutes=i, seconds=1)) for i in range(3)]
            await dc.tabular_data_capture_upload(
                tabular_data=[{"readings": {"temperature": 20.0 + i}} for i in range(3)], part_id="part-1",
                component_type="rdk:component:sensor", component_name="sensor", method_name="Readings",
                data_request_times=times)
        payload = bytes(range(256)) * 40
        file_id = await dc.file_upload(part_id="part-1", data=payload, file_name="frame.bin", tags=["yard"])
        dataset_id = await dc.create_dataset("frames", org)
        await dc.add_binary_data_to_dataset_by_ids([file_id], dataset_id)
        pipeline_id = await dc.create_data_pipeline(org, "counts", MQL, "0 * * * *", True)

        async def backfill_done():
            page = await dc.list_data_pipeline_runs(pipeline_id, page_size=100)
            return page.runs if page.runs and not [r for r in page.runs if r.status in ACTIVE] else None

        await wait_for("the pipeline's backfill runs finish on SQLite", backfill_done)
        sink = await dc.tabular_data_by_mql(org, [{"$match": {}}], tabular_data_source_type=SINK, pipeline_id=pipeline_id)
        check(sorted(row.get("count") for row in sink) == [3, 3], f"the sink holds both hours before the move: {sink}")
        token = dc._metadata["authorization"]
        return org, key_id, key, file_id, payload, dataset_id, pipeline_id, sink, token
    finally:
        server.stop()
        if failures:
            print("--- first ferry serve output ---\n" + "".join(server.log))


async def main():
    with tempfile.TemporaryDirectory() as data, tempfile.TemporaryDirectory() as data2:
        org, key_id, key, file_id, payload, dataset_id, pipeline_id, sink, token = await on_sqlite(data)

        first = migrate("--from", data, "--to", URL)
        check(first.returncode == 0, f"ferry store migrate succeeds: {first.stderr}")
        check("readings: 6 copied, 0 already there" in first.stderr, f"it reports readings copied: {first.stderr}")
        check("binary data: 1 copied" in first.stderr and "sink documents: 2 copied" in first.stderr,
              f"it reports payloads and sink documents copied: {first.stderr}")
        second = migrate("--from", data, "--to", URL)
        check(second.returncode == 0 and ": 0 rows copied" in second.stdout and "readings: 0 copied, 6 already there" in second.stderr,
              f"a second run copies nothing: {second.stdout}{second.stderr}")
        same = migrate("--from", data, "--to", data + "/.")
        check(same.returncode != 0 and "same store" in same.stderr, f"the same store twice is refused: {same.stderr}")
        missing = migrate("--from", data + "/nope", "--to", URL)
        check(missing.returncode != 0 and "holds no Ferry store" in missing.stderr, f"a missing source is refused: {missing.stderr}")
        check(not os.path.exists(data + "/nope"), "a missing source is not created")

        # The second server: only its certificate in its own data directory; the store is the database.
        server = Server(data2, ["--database", URL])
        try:
            client = await connect(server.ports["api"], key_id, key)
            dc = client.data_client
            counted = await dc.tabular_data_by_mql(org, [{"$match": {"component_name": "sensor"}}, {"$count": "n"}])
            check(counted == [{"n": 6}], f"ferry serve --database answers with the migrated readings: {counted}")
            got = await dc.binary_data_by_ids([file_id])
            check(len(got) == 1 and got[0].binary == payload and list(got[0].metadata.capture_metadata.tags) == ["yard"],
                  "the payload, with its id and tags, is served from the database")
            check(len(got) == 1 and list(got[0].metadata.dataset_ids) == [dataset_id], "the payload is still in its dataset")
            datasets = await dc.list_datasets_by_organization_id(org)
            check([d.name for d in datasets] == ["frames"], f"the dataset moved: {datasets}")
            moved = await dc.tabular_data_by_mql(org, [{"$match": {}}], tabular_data_source_type=SINK, pipeline_id=pipeline_id)
            check(moved == sink, f"the pipeline's sink moved whole: {moved}")
            pipelines = await dc.list_data_pipelines(org)
            check([p.id for p in pipelines] == [pipeline_id], f"the pipeline moved: {pipelines}")
            # A token the SQLite server issued verifies here: the signing key moved with the store.
            dc._metadata = {"authorization": token}
            try:
                again = await dc.tabular_data_by_mql(org, [{"$match": {"component_name": "sensor"}}, {"$count": "n"}])
                check(again == [{"n": 6}], f"a token issued before the move is accepted after it: {again}")
            except Exception as error:
                check(False, f"a token issued before the move is accepted after it: {error}")
        finally:
            server.stop()
            if failures:
                print("--- second ferry serve output ---\n" + "".join(server.log))
        # And back: from the database into a new data directory.
        with tempfile.TemporaryDirectory() as back:
            home = migrate("--from", URL, "--to", back + "/data")
            check(home.returncode == 0 and "readings: 6 copied" in home.stderr, f"migrating back into a data directory: {home.stderr}")
            counted = ferry("data", "query", "--org", org, "--mql", '[{"$count": "n"}]', data=back + "/data")
            check(counted == '{"n":6}' or counted.replace(" ", "") == '{"n":6}', f"the data directory holds the readings again: {counted}")
    finish()


if __name__ == "__main__":
    if not URL:
        sys.exit("set FERRY_DATABASE_URL to an empty PostgreSQL database")
    asyncio.run(main())
