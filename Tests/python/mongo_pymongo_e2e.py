"""pymongo 4.x against the real `ferry serve --mongo-listen 127.0.0.1:0` over TLS (the server's
self-signed certificate as the CA): the database user configured over gRPC with the unmodified Viam
Python SDK and with the CLI, SCRAM-SHA-256 (a wrong password is code 18), every command pymongo
sends for list/find/getMore/aggregate/count/distinct, find with batch_size over many readings with
the getMores counted by pymongo's command monitoring, a pipeline's sink collection, organisation
isolation, the $sql stage, writes refused with code 13, and `ferry run` with mongo_capture_config
inserting captured readings through the endpoint.

Run by the Swift test suite (EndToEndTests/MongoEndpointTests.swift):
    python3 Tests/python/mongo_pymongo_e2e.py /path/to/ferry"""

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from urllib.parse import quote_plus

try:
    import pymongo
    from pymongo import MongoClient, monitoring
    from pymongo.errors import OperationFailure
    from viam.proto.app.data import GetDatabaseConnectionRequest
except ImportError as error:
    print(f"missing a Python package ({error}): pip install pymongo viam-sdk==0.85.1 (CI's .ci/run does)")
    sys.exit(2)

from ferry_e2e import FERRY, check, connect, ferry, run

MONGO_PORT = {"mongo": r"serving MongoDB's wire protocol on [^ ]+:(\d+)"}
PASSWORD_A = "S3cret!pass"
PASSWORD_B = "B3tter%pass"


class Commands(monitoring.CommandListener):
    """Counts the commands pymongo sends, by name."""

    def __init__(self):
        self.counts = {}

    def started(self, event):
        self.counts[event.command_name] = self.counts.get(event.command_name, 0) + 1

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass


def uri(org, password, port, data):
    return (f"mongodb://db-user-{org}:{quote_plus(password)}@127.0.0.1:{port}/"
            f"?tls=true&tlsCAFile={data}/tls-cert.pem&authSource=admin")


def client(org, password, port, data, **options):
    return MongoClient(uri(org, password, port, data), serverSelectionTimeoutMS=60000, **options)


def refused(action, code, what):
    try:
        action()
        check(False, f"{what}: refused with code {code}")
    except OperationFailure as error:
        check(error.code == code, f"{what}: refused with code {code} (got {error.code}: {error})")


def wait_for(what, probe, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.3)
    check(False, f"{what} (waited {timeout} s)")
    return None


async def upload(dc, count, component, base, part="part-1"):
    readings = [{"readings": {"i": i, "temperature": 20.0 + i % 10}} for i in range(count)]
    times = [(base + timedelta(seconds=i), base + timedelta(seconds=i, milliseconds=5)) for i in range(count)]
    for start in range(0, count, 500):
        await dc.tabular_data_capture_upload(
            tabular_data=readings[start:start + 500], part_id=part, component_type="rdk:component:sensor",
            component_name=component, method_name="Readings", data_request_times=times[start:start + 500])


async def main(data, port, _metrics, ports):
    mport = ports["mongo"]
    org_a = ferry("org", "create", "acme", data=data)
    org_b = ferry("org", "create", "bolt", data=data)
    owner_a = ferry("key", "create", "--org", org_a, "--role", "owner", data=data).split()
    viewer_a = ferry("key", "create", "--org", org_a, "--role", "viewer", data=data).split()
    owner_b = ferry("key", "create", "--org", org_b, "--role", "owner", data=data).split()

    # The database user over gRPC, with the unmodified Viam SDK.
    viam_a = await connect(port, *owner_a)
    dc = viam_a.data_client
    try:
        await dc.configure_database_user(org_a, "password")
        check(False, "a weak password is refused")
    except Exception as error:
        check("uppercase" in str(error) and "number" in str(error) and "special character" in str(error),
              f"a weak password is refused naming the rules broken: {error}")
    viewer = await connect(port, *viewer_a)
    try:
        await viewer.data_client.configure_database_user(org_a, PASSWORD_A)
        check(False, "a viewer cannot configure the database user")
    except Exception as error:
        check("PERMISSION_DENIED" in repr(error) or "needs owner" in str(error), f"a viewer cannot configure the user: {error}")
    before = await dc._data_client.GetDatabaseConnection(
        GetDatabaseConnectionRequest(organization_id=org_a), metadata=dc._metadata)
    check(not before.has_database_user, "has_database_user is false before the user exists")
    await dc.configure_database_user(org_a, PASSWORD_A)
    hostname = await dc.get_database_connection(org_a)
    check(hostname == f"127.0.0.1:{mport}", f"get_database_connection gives HOST:PORT ({hostname})")
    connection = await dc._data_client.GetDatabaseConnection(
        GetDatabaseConnectionRequest(organization_id=org_a), metadata=dc._metadata)
    check(connection.has_database_user, "has_database_user is true afterwards")
    check(connection.mongodb_uri == f"mongodb://db-user-{org_a}@127.0.0.1:{mport}/?tls=true&authSource=admin",
          f"mongodb_uri names the user, not the password ({connection.mongodb_uri})")

    # The same through the CLI, as `viam data database …`.
    print(ferry("data", "database", "configure", "--org-id", org_b, "--password", PASSWORD_B, data=data))
    printed = ferry("data", "database", "hostname", "--org-id", org_b, data=data)
    check(f"mongodb://db-user-{org_b}@127.0.0.1:{mport}/?tls=true&authSource=admin" in printed,
          f"`ferry data database hostname` prints the connection string: {printed}")
    weak = subprocess.run([FERRY, "data", "database", "configure", "--org-id", org_b, "--password", "abc", "--data", data],
                          capture_output=True, text=True)
    check(weak.returncode != 0 and "at least 8 characters" in weak.stderr, f"the CLI refuses a weak password: {weak.stderr.strip()}")

    # Readings: 1000 for A's thermo and 30 for A's other sensor, 10 for B, all three hours ago.
    base = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=3)
    await upload(dc, 1000, "thermo", base)
    await upload(dc, 30, "hygro", base, part="part-2")
    viam_b = await connect(port, *owner_b)
    await upload(viam_b.data_client, 10, "thermo", base)

    # Authentication.
    try:
        bad = client(org_a, "Wrong!pass9", mport, data)
        bad.admin.command("ping")
        check(False, "a wrong password is refused")
    except OperationFailure as error:
        check(error.code == 18, f"a wrong password is refused with code 18 (got {error.code})")

    listener = Commands()
    a = client(org_a, PASSWORD_A, mport, data, event_listeners=[listener])
    db = a["sensorData"]
    check(a.admin.command("ping")["ok"] == 1.0, "ping")
    check(a.list_database_names() == ["sensorData"], f"listDatabases: {a.list_database_names()}")
    check({"readings", "hot_readings"} <= set(db.list_collection_names()), f"listCollections: {db.list_collection_names()}")
    info = a.server_info()
    check(info["version"].startswith("6."), f"buildInfo: {info['version']}")
    status = db.command("connectionStatus")
    check(status["authInfo"]["authenticatedUsers"] == [{"user": f"db-user-{org_a}", "db": "admin"}], f"connectionStatus: {status}")

    # find with batch_size over 1000 readings: ten batches, so nine getMores.
    before = listener.counts.get("getMore", 0)
    t0 = base
    docs = list(db.readings.find({"component_name": "thermo", "time_received": {"$gte": t0}})
                .sort("time_received", -1).batch_size(100))
    getmores = listener.counts.get("getMore", 0) - before
    check(len(docs) == 1000, f"find returns all 1000 readings ({len(docs)})")
    check(getmores == 9, f"batch_size(100) over 1000 readings takes 9 getMores ({getmores})")
    check([d["data"]["readings"]["i"] for d in docs[:3]] == [999, 998, 997], "sorted by time_received descending")
    check(isinstance(docs[0]["time_received"], datetime) and isinstance(docs[0]["time_requested"], datetime),
          "time fields are BSON dates")
    check(docs[0]["organization_id"] == org_a and docs[0]["component_type"] == "rdk:component:sensor"
          and docs[0]["method_name"] == "Readings" and docs[0]["part_id"] == "part-1", f"Viam's document shape: {docs[0]}")

    grouped = list(db.readings.aggregate([{"$match": {"component_name": "thermo"}},
                                          {"$group": {"_id": "$part_id", "n": {"$sum": 1}, "t": {"$avg": "$data.readings.temperature"}}}]))
    check(grouped == [{"_id": "part-1", "n": 1000, "t": 24.5}], f"aggregate $group: {grouped}")
    check(db.readings.count_documents({"component_name": "hygro"}) == 30, "count_documents")
    check(db.readings.estimated_document_count() == 1030, f"estimated_document_count: {db.readings.estimated_document_count()}")
    counted = db.command("count", "readings", query={"data.readings.i": {"$lt": 10}})["n"]
    check(counted == 20, f"count with a query: 10 thermo and 10 hygro readings ({counted})")
    check(sorted(db.readings.distinct("component_name")) == ["hygro", "thermo"], "distinct")
    check(db.readings.distinct("data.readings.i", {"component_name": "hygro"}) == list(range(30)), "distinct with a query")
    one = db.readings.find_one({"component_name": "hygro"}, {"_id": 0, "i": "$data.readings.i"}, sort=[("time_received", 1)])
    check(one == {"i": 0}, f"find_one with a projection: {one}")
    limited = list(db.readings.find({"component_name": "thermo"}).skip(10).limit(5).batch_size(2))
    check(len(limited) == 5, "skip and limit with small batches")
    cursor = db.readings.find({}).batch_size(10)
    next(cursor)
    cursor.close()  # killCursors
    check(listener.counts.get("killCursors", 0) >= 1, "closing an unfinished cursor sends killCursors")
    try:
        list(db.readings.aggregate([{"$group": {"_id": None, "x": {"$avgg": "$a"}}}]))
        check(False, "a bad pipeline is refused")
    except OperationFailure as error:
        check(error.code == 2 and "$group" in str(error) and "$avgg" in str(error),
              f"a bad pipeline is BadValue naming the stage and operator: {error}")

    # $sql on the database, as Atlas Data Federation takes it.
    rows = list(db.aggregate([{"$sql": {"statement": "SELECT component_name, count(*) AS n FROM readings GROUP BY component_name ORDER BY component_name",
                                        "format": "jdbc"}}]))
    check(rows == [{"component_name": "hygro", "n": 30}, {"component_name": "thermo", "n": 1000}], f"$sql: {rows}")

    # Writes are refused for a user that may not insert.
    refused(lambda: db.readings.insert_one({"x": 1}), 13, "insert_one")
    refused(lambda: db.readings.delete_many({}), 13, "delete_many")
    refused(lambda: db.readings.update_one({}, {"$set": {"x": 1}}), 13, "update_one")
    refused(lambda: db.drop_collection("readings"), 13, "drop_collection")
    check(db.readings.count_documents({}) == 1030, "nothing was written")

    # Organisation isolation.
    b = client(org_b, PASSWORD_B, mport, data)
    check(b["sensorData"].readings.count_documents({}) == 10, "B sees its own 10 readings only")
    check(b["sensorData"].readings.count_documents({"organization_id": org_a}) == 0, "B cannot read A's readings by asking")
    cursor = db.readings.find({}).batch_size(5)
    first = next(cursor)
    check(first is not None, "A's cursor is open")

    # A pipeline's sink collection (backfill over the readings three hours ago).
    pipeline = await dc.create_data_pipeline(org_a, "per-part", [{"$match": {"component_name": "thermo"}},
                                                                 {"$group": {"_id": "$part_id", "n": {"$sum": 1}}},
                                                                 # _id is unique across a sink: per-window results drop it.
                                                                 {"$project": {"part": "$_id", "_id": 0, "n": 1}}],
                                             "0 * * * *", True)
    check(f"sink-{pipeline}" in db.list_collection_names(), "the pipeline's sink is a collection")
    # Backfill runs each hourly window on its own (the readings may straddle an hour): wait for all.
    def sink():
        return list(db[f"sink-{pipeline}"].find({}, {"_id": 0, "_viam_pipeline_run": 0}))
    wait_for("the sink's documents count every reading", lambda: sum(d["n"] for d in sink()) == 1000)
    check(sum(d["n"] for d in sink()) == 1000, f"the sink's documents count every reading: {sink()}")
    check(b["sensorData"][f"sink-{pipeline}"].count_documents({}) == 0, "B cannot read A's sink")

    # mongo_capture_config: `ferry run` inserts captured readings through the endpoint, as B's user
    # once it may insert.
    print(ferry("data", "database", "configure", "--org-id", org_b, "--password", PASSWORD_B, "--allow-insert", data=data))
    with tempfile.TemporaryDirectory() as machine:
        config = {
            "cloud": {"id": "part-mongo"},
            "components": [{"name": "captured", "api": "rdk:component:sensor", "model": "fake", "attributes": {},
                            "service_configs": [{"type": "data_manager", "attributes": {
                                "capture_methods": [{"method": "Readings", "capture_frequency_hz": 10}]}}]}],
            "services": [{"name": "dm", "type": "data_manager", "attributes": {
                "capture_dir": os.path.join(machine, "capture"), "sync_disabled": True,
                "mongo_capture_config": {"uri": uri(org_b, PASSWORD_B, mport, data)}}}],
        }
        path = os.path.join(machine, "machine.json")
        with open(path, "w") as out:
            json.dump(config, out)
        host = subprocess.Popen([FERRY, "run", path], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            captured = b["sensorData"].readings
            wait_for("captured readings arrive through mongo_capture_config",
                     lambda: captured.count_documents({"component_name": "captured"}) >= 20)
            doc = captured.find_one({"component_name": "captured"})
            check(doc is not None and doc["component_type"] == "rdk:component:sensor" and doc["method_name"] == "Readings"
                  and isinstance(doc["time_received"], datetime) and "readings" in doc["data"],
                  f"a captured reading in Viam's shape: {doc}")
            check(db.readings.count_documents({"component_name": "captured"}) == 0, "they belong to B's organisation only")
        finally:
            host.terminate()
            try:
                output, _ = host.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                host.kill()
                output, _ = host.communicate()
            print("--- ferry run output (tail) ---\n" + "\n".join(output.splitlines()[-15:]))
    print(f"pymongo {pymongo.version}")


if __name__ == "__main__":
    run(main, serve_args=("--mongo-listen", "127.0.0.1:0", "--pipeline-start-delay", "0", "--backfill-throttle", "0",
                          "--pipeline-poll", "1"), extra_ports=MONGO_PORT)
