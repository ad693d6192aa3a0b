"""find over many readings through pymongo (Ferry's MongoDB endpoint) against the same query through
TabularDataByMQL (the unmodified Viam Python SDK), side by side against one `ferry serve`, over TLS
on loopback. Both decode every result with pymongo's C BSON decoder, so the difference is the
server and the protocol: cursor batches of up to 16 MiB streamed from the store a page at a time,
against one gRPC response holding every result.

    swift build -c release --product ferry --scratch-path .build-bench
    python3 Benchmarks/MongoEndpoint/find_vs_mql.py .build-bench/release/ferry [READINGS] [ROUNDS]

READINGS defaults to 1,000,000 and ROUNDS to 3; the two clients alternate, and each round's time and
rate are printed, then the median. Needs pymongo and viam-sdk 0.85.1 (pip)."""

import os
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Tests", "python"))
from pymongo import MongoClient  # noqa: E402

from ferry_e2e import check, connect, ferry, run  # noqa: E402

READINGS = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
ROUNDS = int(sys.argv[3]) if len(sys.argv) > 3 else 3
PASSWORD = "B3nch!mark"
QUERY = {"component_name": "bench"}


async def main(data, port, _metrics, ports):
    org = ferry("org", "create", "bench", data=data)
    key_id, key = ferry("key", "create", "--org", org, "--role", "viewer", data=data).split()
    ferry("data", "database", "configure", "--org-id", org, "--password", PASSWORD, "--allow-insert", data=data)
    uri = (f"mongodb://db-user-{org}:B3nch%21mark@127.0.0.1:{ports['mongo']}/"
           f"?tls=true&tlsCAFile={data}/tls-cert.pem&authSource=admin")
    mongo = MongoClient(uri)
    readings = mongo["sensorData"].readings

    started = time.perf_counter()
    base = datetime(2025, 1, 1, tzinfo=timezone.utc)
    batch = []
    for i in range(READINGS):
        t = base + timedelta(milliseconds=i)
        batch.append({"time_requested": t, "time_received": t, "component_name": "bench", "component_type": "rdk:component:sensor",
                      "method_name": "Readings", "part_id": "part-1",
                      "data": {"readings": {"temperature": 20.0 + (i % 100) / 10, "humidity": 40 + i % 30, "i": i}}})
        if len(batch) == 10_000:
            readings.insert_many(batch, ordered=False)
            batch = []
    if batch:
        readings.insert_many(batch, ordered=False)
    print(f"loaded {READINGS} readings through the endpoint's insert in {time.perf_counter() - started:.1f} s")

    viam = await connect(port, key_id, key)
    results = {"pymongo find": [], "TabularDataByMQL": []}
    first_batch = []
    for round_number in range(ROUNDS):
        started = time.perf_counter()
        cursor = readings.find(QUERY)
        first = next(cursor)
        first_batch.append(time.perf_counter() - started)
        count = 1 + sum(1 for _ in cursor)
        results["pymongo find"].append(time.perf_counter() - started)
        check(count == READINGS, f"round {round_number}: find returned {count} readings")

        started = time.perf_counter()
        rows = await viam.data_client.tabular_data_by_mql(org, [{"$match": QUERY}])
        results["TabularDataByMQL"].append(time.perf_counter() - started)
        check(len(rows) == READINGS, f"round {round_number}: TabularDataByMQL returned {len(rows)} readings")
        check(rows[0]["data"] == first["data"], "both return the same documents")
        del rows

    print(f"\n{READINGS} readings, {ROUNDS} rounds, load average {os.getloadavg()[0]:.1f}")
    print(f"{'client':<20} {'rounds (s)':<28} {'median (s)':>10} {'readings/s':>12}")
    for name, times in results.items():
        median = statistics.median(times)
        print(f"{name:<20} {', '.join(f'{t:.2f}' for t in times):<28} {median:>10.2f} {READINGS / median:>12,.0f}")
    print(f"pymongo's first document after a median {statistics.median(first_batch) * 1000:.0f} ms "
          f"(TabularDataByMQL returns nothing before it has every result)")


if __name__ == "__main__":
    run(main, serve_args=("--mongo-listen", "127.0.0.1:0"), extra_ports={"mongo": r"serving MongoDB's wire protocol on [^ ]+:(\d+)"})
