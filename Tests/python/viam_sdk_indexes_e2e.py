"""Custom indexes through the published Viam Python SDK (viam-sdk 0.85.1, unmodified) against the
real `ferry serve` over TLS: create_index, list_indexes and delete_index on the hot store, with the
physical index appearing in (and leaving) the backend's catalog; tabular_data_by_mql with a leading
$match on the indexed path answering what it answers without the index; the same on a pipeline's
sink (create_index with pipeline_name, a sink query through it, deleting the pipeline deletes its
indexes); bad specs, duplicate names, an unknown pipeline, roles and another organisation.

Run by the Swift test suite (EndToEndTests/ViamSDKTests.swift):
    python3 Tests/python/viam_sdk_indexes_e2e.py /path/to/ferry
Exits 0 when every check passes; prints what failed otherwise."""

import asyncio
import os
import sqlite3
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

try:
    import bson
    from grpclib import Status
    from viam.proto.app.data import IndexableCollection, IndexCreator, TabularDataSourceType
    from viam.proto.app.datapipelines import DataPipelineRunStatus
except ImportError:
    print("viam-sdk is not installed: pip install viam-sdk==0.85.1 (CI's .ci/run does)")
    sys.exit(2)

from ferry_e2e import POSTGRES, check, connect, ferry, refused, run

HOT = IndexableCollection.INDEXABLE_COLLECTION_HOT_STORE
SINK = IndexableCollection.INDEXABLE_COLLECTION_PIPELINE_SINK
SINK_SOURCE = TabularDataSourceType.TABULAR_DATA_SOURCE_TYPE_PIPELINE_SINK
ACTIVE = (DataPipelineRunStatus.DATA_PIPELINE_RUN_STATUS_SCHEDULED, DataPipelineRunStatus.DATA_PIPELINE_RUN_STATUS_STARTED)
# The pipeline copies each level reading into its sink, without _id.
COPY = [{"$match": {"component_name": "gauge"}},
        {"$project": {"_id": 0, "level": "$data.readings.level", "n": "$data.readings.n"}}]


def physical_indexes(data):
    """The names of Ferry's physical custom indexes in the store (SQLite's or PostgreSQL's catalog)."""
    if POSTGRES:
        out = subprocess.run(["psql", os.environ["FERRY_DATABASE_URL"], "-Atc",
                              "SELECT indexname FROM pg_indexes WHERE indexname LIKE 'ferry_ix_%' ORDER BY 1"],
                             capture_output=True, text=True, check=True)
        return out.stdout.split()
    with sqlite3.connect(os.path.join(data, "store.sqlite")) as db:
        return [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'ferry_ix_%' ORDER BY 1")]


def without_run(rows):
    return [{k: v for k, v in r.items() if k != "_viam_pipeline_run"} for r in rows]


def without_org(rows):
    return [{k: v for k, v in r.items() if k != "organization_id"} for r in rows]


async def wait_for_runs(client, pipeline_id, timeout=180):
    deadline = time.time() + timeout
    while time.time() < deadline:
        page = await client.list_data_pipeline_runs(pipeline_id, page_size=100)
        if page.runs and not [r for r in page.runs if r.status in ACTIVE]:
            return
        await asyncio.sleep(0.5)
    check(False, f"the backfill runs of pipeline {pipeline_id} finish (waited {timeout} s)")


async def on_a_sink(data, org, twin, dc, operator, viewer, other):
    """Indexes on a pipeline's sink: both organisations' pipelines copy the same readings (three
    hours back, so their windows are complete and backfilled); only org's sink is indexed."""
    hour = datetime.now(timezone.utc).replace(minute=10, second=0, microsecond=0) - timedelta(hours=3)
    levels = [i % 10 for i in range(40)] + [[7, 2], "7", True, None]
    rows = [{"readings": {"level": v, "n": i}} if v is not None else {"readings": {"n": i}} for i, v in enumerate(levels)]
    times = [(hour + timedelta(seconds=i), hour + timedelta(seconds=i)) for i in range(len(rows))]
    pipelines = {}
    for client, organization in ((dc, org), (other, twin)):
        await client.tabular_data_capture_upload(
            tabular_data=rows, part_id="part-1", component_type="rdk:component:sensor", component_name="gauge",
            method_name="Readings", data_request_times=times)
        pipelines[organization] = await client.create_data_pipeline(organization, "levels", COPY, "0 * * * *", True)
    for client, organization in ((dc, org), (other, twin)):
        await wait_for_runs(client, pipelines[organization])

    await refused(viewer.create_index(org, SINK, {"key": {"level": 1}}, pipeline_name="levels"), Status.PERMISSION_DENIED,
                  "a viewer creating a sink index", "operator")
    await refused(operator.create_index(org, SINK, {"key": {"level": 1}}), Status.INVALID_ARGUMENT,
                  "a sink without pipeline_name", "pipeline_name")
    await operator.create_index(org, SINK, {"key": {"level": 1}, "name": "level"}, pipeline_name="levels")
    sink_indexes = [n for n in physical_indexes(data) if n.startswith("ferry_ix_sink_documents_")]
    check(len(sink_indexes) == 1, f"create_index on a sink builds a physical index on the sink: {physical_indexes(data)}")
    listed = await viewer.list_indexes(org, SINK, pipeline_name="levels")
    check([i.index_name for i in listed] == ["level"] and listed[0].collection_type == SINK
          and bson.decode(listed[0].index_spec[0]) == {"key": {"level": 1}, "name": "level"},
          f"list_indexes on the sink: {listed}")
    check([i.index_name for i in await viewer.list_indexes(org, HOT)] == [], "the sink's index is not the hot store's")
    check(len(await other.list_indexes(twin, SINK, pipeline_name="levels")) == 0, "the twin's pipeline of that name has none")

    for match in ({"level": {"$gt": 6}}, {"level": 7}, {"level": {"$in": [2, "7"]}}, {"level": {"$lte": 1}, "n": {"$lt": 30}}):
        query = [{"$match": match}, {"$sort": {"n": 1}}]
        got = await viewer.tabular_data_by_mql(org, query, tabular_data_source_type=SINK_SOURCE, pipeline_id=pipelines[org])
        expected = await other.tabular_data_by_mql(twin, query, tabular_data_source_type=SINK_SOURCE, pipeline_id=pipelines[twin])
        # Each document names its run (its id and organisation), which differs between the two.
        check(got and without_run(got) == without_run(expected), f"{match} on the sink: {[r['n'] for r in got]} vs {[r['n'] for r in expected]}")
    got = await viewer.tabular_data_by_mql(org, [{"$match": {"level": 7}}], tabular_data_source_type=SINK_SOURCE, pipeline_id=pipelines[org])
    check(sorted(r["n"] for r in got) == [7, 17, 27, 37, 40], f"the array holding 7 is found with the plain 7s (not the string): {got}")

    await refused(operator.delete_index(org, SINK, "level"), Status.INVALID_ARGUMENT, "deleting without pipeline_name", "pipeline_name")
    await refused(operator.delete_index(org, HOT, "level"), Status.NOT_FOUND, "deleting the sink's index from the hot store")
    await operator.delete_index(org, SINK, "level", pipeline_name="levels")
    check(not [n for n in physical_indexes(data) if n.startswith("ferry_ix_sink_documents_")], "deleting it drops the sink's physical index")
    # Deleting the pipeline deletes its indexes: a new pipeline of the same name has none.
    await operator.create_index(org, SINK, {"key": {"n": -1}}, pipeline_name="levels")
    await dc.delete_data_pipeline(pipelines[org])
    await refused(viewer.list_indexes(org, SINK, pipeline_name="levels"), Status.NOT_FOUND, "the deleted pipeline", 'no pipeline named "levels"')
    check(physical_indexes(data) == [], f"deleting the pipeline drops its physical index: {physical_indexes(data)}")
    await dc.create_data_pipeline(org, "levels", COPY, "0 * * * *", False)
    check(len(await viewer.list_indexes(org, SINK, pipeline_name="levels")) == 0, "a new pipeline of the same name starts without indexes")


async def main(data, port, _metrics):
    org = ferry("org", "create", "acme", data=data)
    twin = ferry("org", "create", "twin", data=data)
    keys = {role: ferry("key", "create", "--org", org, "--role", role, data=data).split() for role in ("owner", "operator", "viewer")}
    twin_keys = ferry("key", "create", "--org", twin, "--role", "owner", data=data).split()
    owner_client, operator_client, viewer_client = [await connect(port, *keys[r]) for r in ("owner", "operator", "viewer")]
    twin_client = await connect(port, *twin_keys)
    dc, operator, viewer, other = (owner_client.data_client, operator_client.data_client, viewer_client.data_client,
                                   twin_client.data_client)

    # The same readings in both organisations (recent, so hot storage has them too); some values are
    # awkward for an index: an array, a string, a boolean, a missing field.
    now = datetime.now(timezone.utc) - timedelta(minutes=30)
    values = [20 + i % 15 for i in range(60)] + [[31, 2], "31", True, None]
    rows = [{"readings": {"temperature": v, "i": i}} if v is not None else {"readings": {"i": i}} for i, v in enumerate(values)]
    times = [(now + timedelta(seconds=i), now + timedelta(seconds=i)) for i in range(len(rows))]
    for client in (dc, other):
        await client.tabular_data_capture_upload(
            tabular_data=rows, part_id="part-1", component_type="rdk:component:sensor", component_name="thermo",
            method_name="Readings", data_request_times=times)

    before = physical_indexes(data)
    check(before == [], f"no custom index before create_index: {before}")
    await operator.create_index(org, HOT, {"key": {"data.readings.temperature": 1}, "name": "temperature"})
    await dc.create_index(org, HOT, {"key": {"data.readings.i": -1}})
    created = physical_indexes(data)
    check(len(created) >= 2 and all(n.startswith("ferry_ix_") for n in created),
          f"create_index builds physical indexes in the store: {created}")
    listed = await viewer.list_indexes(org, HOT)
    check([i.index_name for i in listed] == ["temperature", "data.readings.i_-1"],
          f"list_indexes, oldest first, MongoDB's default name: {[i.index_name for i in listed]}")
    check(bson.decode(listed[0].index_spec[0]) == {"key": {"data.readings.temperature": 1}, "name": "temperature"}
          and listed[0].collection_type == HOT and listed[0].created_by == IndexCreator.INDEX_CREATOR_CUSTOMER,
          f"an index lists its spec, collection and creator: {listed[0]}")
    check(len(await other.list_indexes(twin, HOT)) == 0, "another organisation has none of them")

    # Queries through the index answer what the twin organisation (no index) gets.
    for match in ({"data.readings.temperature": {"$gt": 30}}, {"data.readings.temperature": 31},
                  {"data.readings.temperature": {"$in": [2, "31"]}}, {"data.readings.temperature": {"$lte": 21}}):
        for source in (TabularDataSourceType.TABULAR_DATA_SOURCE_TYPE_STANDARD, TabularDataSourceType.TABULAR_DATA_SOURCE_TYPE_HOT_STORAGE):
            query = [{"$match": match}, {"$sort": {"data.readings.i": 1}}]
            got = await viewer.tabular_data_by_mql(org, query, tabular_data_source_type=source)
            expected = await other.tabular_data_by_mql(twin, query, tabular_data_source_type=source)
            check(got and without_org(got) == without_org(expected),
                  f"{match} on source {source}: {[r['data']['readings']['i'] for r in got]}")
    got = await viewer.tabular_data_by_mql(org, [{"$match": {"data.readings.temperature": 31}}, {"$project": {"_id": 0, "i": "$data.readings.i"}}])
    check(sorted(r["i"] for r in got) == [11, 26, 41, 56, 60], f"the array holding 31 is found with the plain 31 (not the string): {got}")

    # Refusals: what is wrong and what to give.
    await refused(operator.create_index(org, HOT, {"key": {"data.readings.humidity": 1}, "name": "temperature"}),
                  Status.ALREADY_EXISTS, "a duplicate name", 'index named "temperature"')
    await refused(operator.create_index(org, HOT, {"key": {"data.readings.temperature": 1}, "name": "again"}),
                  Status.ALREADY_EXISTS, "the same keys under another name", "already has the keys")
    await refused(operator.create_index(org, HOT, {"key": {"readings.temperature": 1}}), Status.INVALID_ARGUMENT,
                  "a path outside data", "not inside a reading's data")
    await refused(operator.create_index(org, HOT, {"key": {"data.readings.temperature": "text"}}), Status.INVALID_ARGUMENT,
                  "a text index", "only ascending (1) and descending (-1)")
    await refused(operator.create_index(org, HOT, {"key": {"data.readings.t": 1}, "unique": True}), Status.INVALID_ARGUMENT,
                  "an unsupported option", 'index option "unique"')
    await refused(operator.create_index(org, IndexableCollection.INDEXABLE_COLLECTION_UNSPECIFIED, {"key": {"data.x": 1}}),
                  Status.INVALID_ARGUMENT, "no collection type", "collection_type")
    await refused(operator.create_index(org, SINK, {"key": {"data.x": 1}}, pipeline_name="nope"), Status.NOT_FOUND,
                  "an unknown pipeline", 'no pipeline named "nope"')
    await refused(viewer.create_index(org, HOT, {"key": {"data.x": 1}}), Status.PERMISSION_DENIED, "a viewer creating", "operator")
    await refused(operator.create_index(twin, HOT, {"key": {"data.x": 1}}), Status.PERMISSION_DENIED, "another organisation")
    await refused(viewer.delete_index(org, HOT, "temperature"), Status.PERMISSION_DENIED, "a viewer deleting", "operator")
    await refused(other.delete_index(twin, HOT, "temperature"), Status.NOT_FOUND, "deleting an index the organisation lacks")

    # The twin indexes the same path: one physical index serves both, and stays until the last goes.
    await other.create_index(twin, HOT, {"key": {"data.readings.temperature": 1}, "name": "t"})
    check(physical_indexes(data) == created, "the same paths in another organisation share the physical index")
    await operator.delete_index(org, HOT, "temperature")
    check(physical_indexes(data) == created, "deleting one organisation's index keeps the one the other uses")
    await other.delete_index(twin, HOT, "t")
    await dc.delete_index(org, HOT, "data.readings.i_-1")
    check(physical_indexes(data) == [], f"the last delete_index drops the physical index: {physical_indexes(data)}")
    check(len(await viewer.list_indexes(org, HOT)) == 0, "list_indexes is empty again")
    got = await viewer.tabular_data_by_mql(org, [{"$match": {"data.readings.temperature": {"$gt": 30}}}])
    check(len(got) == 17, f"queries work the same without the index: {len(got)}")

    await on_a_sink(data, org, twin, dc, operator, viewer, other)

    for client in (owner_client, operator_client, viewer_client, twin_client):
        client.close()


run(main, ["--pipeline-start-delay", "0", "--backfill-throttle", "0"])
