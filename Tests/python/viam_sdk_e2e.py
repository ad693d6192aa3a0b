"""The published Viam Python SDK (viam-sdk 0.85.1, unmodified) against the real `ferry serve` binary
over TLS: authenticate, the three uploads, MQL on standard and hot storage, SQL, a wrong key, a
viewer trying to upload, and a cross-organisation read that must be refused.

Run by the Swift test suite (EndToEndTests/ViamSDKTests.swift):
    python3 Tests/python/viam_sdk_e2e.py /path/to/ferry
Exits 0 when every check passes; prints what failed otherwise."""

import urllib.request
import sys
from datetime import datetime, timedelta, timezone

try:
    from google.protobuf.any_pb2 import Any
    from google.protobuf.wrappers_pb2 import StringValue
    from viam.proto.app.data import TabularDataSourceType
except ImportError:
    print("viam-sdk is not installed: pip install viam-sdk==0.85.1 (CI's .ci/run does)")
    sys.exit(2)

from ferry_e2e import POSTGRES, check, connect, ferry, run


async def main(data, port, metrics_port):
    org = ferry("org", "create", "acme", data=data)
    other_org = ferry("org", "create", "rival", data=data)
    owner_id, owner_key = ferry("key", "create", "--org", org, "--role", "owner", data=data).split()
    viewer_id, viewer_key = ferry("key", "create", "--org", org, "--role", "viewer", data=data).split()
    rival_id, rival_key = ferry("key", "create", "--org", other_org, "--role", "owner", data=data).split()

    client = await connect(port, owner_id, owner_key)
    data_client = client.data_client
    now = datetime.now(timezone.utc)
    readings = [{"readings": {"temperature": 20.0 + i}} for i in range(6)]
    times = [(now - timedelta(seconds=60 - i), now - timedelta(seconds=59 - i)) for i in range(6)]
    file_id = await data_client.tabular_data_capture_upload(
        tabular_data=readings, part_id="part-1", component_type="rdk:component:sensor", component_name="thermo",
        method_name="Readings", data_request_times=times, tags=["greenhouse"])
    check(bool(file_id), "tabular_data_capture_upload returns a file id")

    binary_id = await data_client.file_upload(part_id="part-1", data=b"hello ferry", file_name="note.txt", tags=["docs"])
    check(bool(binary_id), "file_upload returns an id")
    big = bytes(range(256)) * 8192  # 2 MiB: streamed in chunks by the SDK
    stream_id = await data_client.streaming_data_capture_upload(
        data=big, part_id="part-1", file_ext=".bin", component_type="rdk:component:camera", component_name="cam",
        method_name="ReadImage", data_request_times=(now - timedelta(seconds=2), now - timedelta(seconds=1)))
    check(bool(stream_id), "streaming_data_capture_upload returns an id")

    rows = await data_client.tabular_data_by_mql(organization_id=org, query=[
        {"$match": {"component_name": "thermo"}},
        {"$group": {"_id": "$component_name", "avg": {"$avg": "$data.readings.temperature"}, "n": {"$sum": 1}}},
    ])
    check(rows == [{"_id": "thermo", "avg": 22.5, "n": 6}], f"MQL over standard storage: {rows}")

    hot = await data_client.tabular_data_by_mql(
        organization_id=org, query=[{"$match": {"component_name": "thermo"}}, {"$count": "n"}],
        tabular_data_source_type=TabularDataSourceType.TABULAR_DATA_SOURCE_TYPE_HOT_STORAGE)
    check(hot == [{"n": 6}], f"MQL over hot storage: {hot}")

    first = await data_client.tabular_data_by_mql(organization_id=org, query=[
        {"$match": {"component_name": "thermo"}}, {"$sort": {"time_received": 1}}, {"$limit": 1},
        {"$project": {"_id": 0, "t": "$data.readings.temperature", "when": "$time_received", "tags": 1}}])
    check(len(first) == 1 and first[0]["t"] == 20.0 and isinstance(first[0]["when"], datetime) and first[0]["tags"] == ["greenhouse"],
          f"MQL returns dates as datetimes and keeps tags: {first}")

    # Each backend's own SQL dialect: `data` is JSON text on SQLite, jsonb on PostgreSQL.
    hottest = "(data->'readings'->>'temperature')::float8" if POSTGRES else "json_extract(data, '$.readings.temperature')"
    sql = await data_client.tabular_data_by_sql(
        organization_id=org,
        sql_query=f"SELECT component_name, count(*) AS n, max({hottest}) AS hottest FROM readings GROUP BY component_name")
    check(sql == [{"component_name": "thermo", "n": 6, "hottest": 25.0}], f"SQL over readings: {sql}")

    exported = await data_client.export_tabular_data(
        part_id="part-1", resource_name="thermo", resource_api="rdk:component:sensor", method_name="Readings")
    temperatures = sorted(row.payload["readings"]["temperature"] for row in exported)
    check(temperatures == [20.0, 21.0, 22.0, 23.0, 24.0, 25.0] and all(row.organization_id == org for row in exported),
          f"export_tabular_data streams every reading: {temperatures}")

    # additional_params selects one capture configuration: readings captured with exactly those
    # method parameters (as get_latest_tabular_data does). Uploads carry them as Any-packed strings,
    # as a machine's data manager sends them.
    def packed(params):
        if params is None:
            return None
        out = {}
        for key, value in params.items():
            out[key] = Any()
            out[key].Pack(StringValue(value=value))
        return out

    for params, value in (({"reader_name": "A1"}, 1.0), ({"reader_name": "A2"}, 2.0), ({"reader_name": "A1", "pin": "3"}, 3.0), (None, 4.0)):
        await data_client.tabular_data_capture_upload(
            tabular_data=[{"readings": {"v": value}}], part_id="part-1", component_type="rdk:component:board", component_name="adc",
            method_name="Analogs", data_request_times=[(now, now)], method_parameters=packed(params))
    for params, expected in (({"reader_name": "A1"}, [1.0]), ({"reader_name": "A1", "pin": "3"}, [3.0]), ({}, [4.0]),
                             (None, [1.0, 2.0, 3.0, 4.0]), ({"reader_name": "A9"}, [])):
        exported = await data_client.export_tabular_data(
            part_id="part-1", resource_name="adc", resource_api="rdk:component:board", method_name="Analogs", additional_params=params)
        values = sorted(row.payload["readings"]["v"] for row in exported)
        same = params is None or all(row.method_parameters == params for row in exported)
        check(values == expected and same, f"export_tabular_data with additional_params={params}: {values}")

    try:
        await data_client.tabular_data_by_sql(organization_id=org, sql_query="DELETE FROM readings")
        check(False, "SQL that writes is refused")
    except Exception as error:  # grpclib.exceptions.GRPCError
        check("PERMISSION_DENIED" in repr(error) and "not allowed" in str(error),
              f"SQL that writes is refused with PERMISSION_DENIED: {error}")

    try:
        await data_client.tabular_data_by_mql(organization_id=org, query=[{"$group": {"_id": None, "x": {"$avgg": "$a"}}}])
        check(False, "an invalid MQL pipeline is refused")
    except Exception as error:
        check("$avgg" in str(error) and "stage 0" in str(error), f"an invalid MQL pipeline names stage and operator: {error}")
    client.close()

    # A wrong key never gets a token.
    try:
        bad = await connect(port, owner_id, "not-the-key")
        await bad.data_client.tabular_data_by_mql(organization_id=org, query=[{"$count": "n"}])
        bad.close()
        check(False, "a wrong key is refused")
    except Exception as error:
        check("UNAUTHENTICATED" in repr(error) or "unauthenticated" in str(error).lower() or "wrong key" in str(error),
              f"a wrong key is refused: {type(error).__name__}: {error}")

    # A viewer reads but cannot upload.
    viewer = await connect(port, viewer_id, viewer_key)
    count = await viewer.data_client.tabular_data_by_mql(organization_id=org, query=[{"$count": "n"}])
    check(count == [{"n": 10}], f"a viewer can query: {count}")
    try:
        await viewer.data_client.tabular_data_capture_upload(
            tabular_data=[{"x": 1}], part_id="p", component_type="rdk:component:sensor", component_name="s",
            method_name="Readings", data_request_times=[(now, now)])
        check(False, "a viewer cannot upload")
    except Exception as error:
        check("PERMISSION_DENIED" in repr(error) or "permission" in str(error).lower(), f"a viewer cannot upload: {error}")
    viewer.close()

    # Another organisation's key sees none of acme's data and cannot name acme's organisation.
    rival = await connect(port, rival_id, rival_key)
    own = await rival.data_client.tabular_data_by_mql(organization_id=other_org, query=[{"$count": "n"}])
    check(own == [], f"the rival organisation sees no readings of acme: {own}")
    rival_sql = await rival.data_client.tabular_data_by_sql(organization_id=other_org, sql_query="SELECT count(*) AS n FROM readings")
    check(rival_sql == [{"n": 0}], f"the rival's SQL sees no rows of acme: {rival_sql}")
    try:
        await rival.data_client.tabular_data_by_mql(organization_id=org, query=[{"$count": "n"}])
        check(False, "a cross-organisation read is refused")
    except Exception as error:
        check("PERMISSION_DENIED" in repr(error) or "cannot access organization" in str(error),
              f"a cross-organisation read is refused: {error}")
    rival.close()

    # A machine key (`ferry key create --location --machine`) stamps its uploads with the location
    # and machine, which Viam's upload metadata cannot carry; the part comes from the upload.
    machine_id, machine_key = ferry("key", "create", "--org", other_org, "--role", "operator",
                                    "--location", "north-field", "--machine", "rover-3", data=data).split()
    rover = await connect(port, machine_id, machine_key)
    await rover.data_client.tabular_data_capture_upload(
        tabular_data=[{"readings": {"soil": 0.31}}], part_id="rover-3-main", component_type="rdk:component:sensor",
        component_name="soil", method_name="Readings", data_request_times=[(now, now)])
    rover.close()
    rival = await connect(port, rival_id, rival_key)
    stamped = await rival.data_client.tabular_data_by_mql(organization_id=other_org, query=[
        {"$project": {"_id": 0, "location_id": 1, "robot_id": 1, "part_id": 1}}])
    check(stamped == [{"location_id": "north-field", "robot_id": "rover-3", "part_id": "rover-3-main"}],
          f"a machine key's uploads carry its location and machine: {stamped}")
    rival.close()
    listed = ferry("key", "list", "--org", other_org, data=data)
    check(f"{machine_id} operator active north-field rover-3" in listed, f"`ferry key list` shows the key's machine: {listed}")

    metrics = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).read().decode()
    check('ferry_rows_ingested_total 11' in metrics, "/metrics counts the ingested rows")
    check('ferry_uploads_total{kind="tabular"} 6' in metrics and 'ferry_uploads_total{kind="file"} 1' in metrics,
          "/metrics counts uploads by kind")
    check('ferry_query_duration_seconds_count{kind="mql"}' in metrics, "/metrics has query latency")


if __name__ == "__main__":
    run(main)
