"""Two `ferry serve` replicas on one PostgreSQL database (FERRY_DATABASE_URL, set by the test), driven
with the published Viam Python SDK (viam-sdk 0.85.1, unmodified) over TLS:
- what is uploaded through one replica is served by the other (the store is the database);
- an access token issued by one replica is accepted by the other (the signing key is a row), and a
  forged one is refused;
- a pipeline with backfill, scheduled by both replicas, gets exactly one COMPLETED run per window,
  and its sink holds each window once;
- that sink equals, row for row, the sink a `ferry serve` on the embedded SQLite store computes
  from the same readings with the same pipeline.
Each replica has its own data directory (only its TLS certificate lives there).

Run by the Swift test suite (EndToEndTests/ViamSDKTests.swift):
    FERRY_DATABASE_URL=postgresql://… python3 Tests/python/replicas_e2e.py /path/to/ferry"""

import asyncio
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timedelta, timezone

try:
    from viam.proto.app.data import TabularDataSourceType
    from viam.proto.app.datapipelines import DataPipelineRunStatus
except ImportError:
    print("viam-sdk is not installed: pip install viam-sdk==0.85.1 (CI's .ci/run does)")
    sys.exit(2)

from ferry_e2e import POSTGRES, SQLITE_ENV, Server, check, connect, failures, ferry

# Order-sensitive ($first, $last, $push after $sort) and floating-point (avg, standard deviation)
# results, so equal sinks on both backends mean the same rows in the same order, computed the same way.
TEMPERATURE = "$data.readings.temperature"
MQL = [{"$match": {"component_name": "sensor"}}, {"$sort": {"time_received": 1}},
       {"$group": {"_id": None, "count": {"$sum": 1}, "mean": {"$avg": TEMPERATURE}, "spread": {"$stdDevPop": TEMPERATURE},
                   "low": {"$min": TEMPERATURE}, "high": {"$max": TEMPERATURE}, "first": {"$first": TEMPERATURE},
                   "last": {"$last": TEMPERATURE}, "series": {"$push": TEMPERATURE}}},
       {"$project": {"_id": 0}}]
# Sink rows without what names the store they are in (row, run and organisation ids); the window stays.
SINK_ROWS = [{"$match": {}}, {"$project": {"_id": 0, "_viam_pipeline_run.id": 0, "_viam_pipeline_run.organization_id": 0}},
             {"$sort": {"first": 1}}]
SINK = TabularDataSourceType.TABULAR_DATA_SOURCE_TYPE_PIPELINE_SINK
COMPLETED = DataPipelineRunStatus.DATA_PIPELINE_RUN_STATUS_COMPLETED
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


# Readings hours in the past: backfill finds them.
BASE = datetime.now(timezone.utc).replace(minute=10, second=0, microsecond=0) - timedelta(hours=3)
HOURS = [BASE, BASE + timedelta(hours=1)]


async def upload_readings(client):
    for h, hour in enumerate(HOURS):
        times = [(hour + timedelta(minutes=i), hour + timedelta(minutes=i, seconds=1)) for i in range(3)]
        await client.data_client.tabular_data_capture_upload(
            tabular_data=[{"readings": {"temperature": 20.1 + 0.37 * i - 1.3 * h}} for i in range(3)], part_id="part-1",
            component_type="rdk:component:sensor", component_name="sensor", method_name="Readings",
            data_request_times=times)


async def run_pipeline(client, org):
    """Creates the pipeline with backfill and waits until every window of the data has completed
    and nothing is left scheduled or running; returns (pipeline id, runs)."""
    pipeline_id = await client.data_client.create_data_pipeline(org, "hourly", MQL, "0 * * * *", True)

    async def backfill_done():
        page = await client.data_client.list_data_pipeline_runs(pipeline_id, page_size=100)
        runs = list(page.runs)
        windows = {r.data_start_time for r in runs if r.status == COMPLETED}
        want = {h.replace(minute=0, tzinfo=None) for h in HOURS}
        if want <= windows and not [r for r in runs if r.status in ACTIVE]:
            return runs
        return None

    return pipeline_id, await wait_for("backfill completes the data's windows", backfill_done) or []


async def main(data, port_a, port_b):
    org = ferry("org", "create", "acme", data=data)
    key_id, key = ferry("key", "create", "--org", org, "--role", "owner", data=data).split()
    a = await connect(port_a, key_id, key)
    b = await connect(port_b, key_id, key)

    # Uploaded through replica A; B serves them.
    await upload_readings(a)
    counted = await b.data_client.tabular_data_by_mql(org, [{"$match": {"component_name": "sensor"}}, {"$count": "n"}])
    check(counted == [{"n": 6}], f"replica B serves what was uploaded through replica A: {counted}")

    # A's token on B: the metadata the SDK sends after authenticating, swapped between clients
    # (one DataClient held: ViamClient.data_client makes a new one, with the client's token, each time).
    # (Both may be the same text: a token is its claims and their HMAC, both replicas signing with
    # the one key in the database; different keys would make A's token fail on B.)
    a_token = a.data_client._metadata["authorization"]
    on_b = b.data_client
    on_b._metadata = {"authorization": a_token}
    try:
        again = await on_b.tabular_data_by_mql(org, [{"$count": "n"}])
        check(again == [{"n": 6}], f"a token issued by replica A is accepted by replica B: {again}")
    except Exception as error:
        check(False, f"a token issued by replica A is accepted by replica B: {error}")
    # The same token with another signature.
    body, signature = a_token.split()[-1].split(".")
    on_b._metadata = {"authorization": f"Bearer {body}.{signature[::-1]}"}
    try:
        await on_b.tabular_data_by_mql(org, [{"$count": "n"}])
        check(False, "a token with a forged signature is refused")
    except Exception as error:
        check("UNAUTHENTICATED" in repr(error), f"a token with a forged signature is refused: {error}")

    # Both replicas schedule the pipeline (created through B); each window completes exactly once.
    pipeline_id, runs = await run_pipeline(b, org)
    per_window = Counter(r.data_start_time for r in runs if r.status == COMPLETED)
    check(runs and max(per_window.values()) == 1,
          f"each window has exactly one COMPLETED run though two replicas schedule: {sorted(per_window.items())}")
    check(all(r.status == COMPLETED for r in runs), f"no run failed: {[r.status for r in runs]}")
    sink = await a.data_client.tabular_data_by_mql(org, SINK_ROWS, tabular_data_source_type=SINK, pipeline_id=pipeline_id)
    check(sorted(row["count"] for row in sink) == [3, 3], f"the sink holds each window's result once: {sink}")
    a.close()
    b.close()
    return sink


async def sqlite_sink(data, port):
    """The same readings and pipeline on a `ferry serve` with the embedded SQLite store."""
    org = ferry("org", "create", "acme", data=data, env=SQLITE_ENV)
    key_id, key = ferry("key", "create", "--org", org, "--role", "owner", data=data, env=SQLITE_ENV).split()
    client = await connect(port, key_id, key)
    await upload_readings(client)
    pipeline_id, runs = await run_pipeline(client, org)
    check(len(runs) >= 2 and all(r.status == COMPLETED for r in runs), f"SQLite: every run completed: {[r.status for r in runs]}")
    sink = await client.data_client.tabular_data_by_mql(org, SINK_ROWS, tabular_data_source_type=SINK, pipeline_id=pipeline_id)
    client.close()
    return sink


if __name__ == "__main__":
    if not POSTGRES:
        sys.exit("set FERRY_DATABASE_URL to a postgres:// URL: replicas share a PostgreSQL database")
    args = ["--pipeline-start-delay", "0", "--backfill-throttle", "0", "--pipeline-poll", "0.5"]
    with tempfile.TemporaryDirectory() as data_a, tempfile.TemporaryDirectory() as data_b:
        server_a = Server(data_a, args)
        server_b = Server(data_b, args)
        try:
            postgres_sink = asyncio.run(main(data_a, server_a.ports["api"], server_b.ports["api"]))
        finally:
            server_a.stop()
            server_b.stop()
            if failures or sys.exc_info()[0] is not None:
                print("--- replica A ---\n" + "".join(server_a.log) + "--- replica B ---\n" + "".join(server_b.log))
    with tempfile.TemporaryDirectory() as data:
        server = Server(data, args, env=SQLITE_ENV)
        try:
            embedded_sink = asyncio.run(sqlite_sink(data, server.ports["api"]))
            check(len(embedded_sink) == 2 and embedded_sink == postgres_sink,
                  f"the sink on PostgreSQL equals the SQLite backend's from the same readings:\n  {postgres_sink}\n  {embedded_sink}")
        finally:
            server.stop()
            if failures or sys.exc_info()[0] is not None:
                print("--- SQLite server ---\n" + "".join(server.log))
    print(f"{len(failures)} failed" if failures else "all checks passed")
    sys.exit(1 if failures else 0)
