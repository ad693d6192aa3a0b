#!/usr/bin/env python3
"""mongomock's side of the MQL benchmark (run by .build/release/MQLBenchmark, not by hand).

Usage: mongomock_bench.py READINGS.jsonl PIPELINE.json REPEATS

Loads the readings (relaxed Extended JSON, one per line) into a mongomock collection, untimed,
then runs the aggregation REPEATS times, timing only `aggregate` + reading its cursor. Prints one
JSON object: {"mongomock": version, "rows": n, "seconds": [...], "cpu_seconds": [...], "rewritten": bool,
"results": [{"_id": ms | {"hour": ms, "component": str}, "avg", "min", "max", "sum", "n"}]}.

mongomock 4.3 has no $dateTrunc; if it refuses it, each {$dateTrunc: {date: X, unit: U}} (no
binSize or timezone, U one of year/month/day/hour/minute/second) is rewritten into the equivalent
{$dateFromParts: {year: {$year: X}, …}} down to U, and "rewritten" is true.
Exit 3 when mongomock is not installed.
"""
import calendar
import datetime
import json
import sys
import time

try:
    import mongomock
except ImportError:
    print("mongomock is not installed: pip install mongomock", file=sys.stderr)
    sys.exit(3)

PARTS = [("year", "$year"), ("month", "$month"), ("day", "$dayOfMonth"), ("hour", "$hour"),
         ("minute", "$minute"), ("second", "$second")]


def from_ext_json(obj):
    if len(obj) == 1 and "$date" in obj:
        v = obj["$date"]
        if isinstance(v, dict):
            ms = int(v["$numberLong"])
            return datetime.datetime(1970, 1, 1) + datetime.timedelta(milliseconds=ms)
        return datetime.datetime.fromisoformat(v.replace("Z", "+00:00")).replace(tzinfo=None)
    if len(obj) == 1 and "$numberLong" in obj:
        return int(obj["$numberLong"])
    if len(obj) == 1 and "$numberInt" in obj:
        return int(obj["$numberInt"])
    if len(obj) == 1 and "$numberDouble" in obj:
        return float(obj["$numberDouble"])
    return obj


def to_plain(value):
    if isinstance(value, datetime.datetime):
        return calendar.timegm(value.utctimetuple()) * 1000 + value.microsecond // 1000
    if isinstance(value, dict):
        return {k: to_plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_plain(v) for v in value]
    return value


def without_date_trunc(node):
    if isinstance(node, list):
        return [without_date_trunc(n) for n in node]
    if not isinstance(node, dict):
        return node
    if set(node) == {"$dateTrunc"}:
        spec = node["$dateTrunc"]
        unit = spec.get("unit")
        names = [p[0] for p in PARTS]
        if set(spec) - {"date", "unit"} or unit not in names:
            raise ValueError(f"cannot rewrite {node} for mongomock")
        date = without_date_trunc(spec["date"])
        parts = PARTS[: names.index(unit) + 1]
        return {"$dateFromParts": {name: {op: date} for name, op in parts}}
    return {k: without_date_trunc(v) for k, v in node.items()}


def main():
    path, pipeline_path, repeats = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with open(pipeline_path) as f:
        pipeline = json.load(f, object_hook=from_ext_json)
    collection = mongomock.MongoClient().bench.readings
    with open(path) as f:
        docs = [json.loads(line, object_hook=from_ext_json) for line in f if line.strip()]
    collection.insert_many(docs)
    rewritten = False
    probe = mongomock.MongoClient().bench.probe  # mongomock parses expressions per document
    probe.insert_many(docs[:1])
    try:
        list(probe.aggregate(pipeline))
    except mongomock.OperationFailure as error:
        if "$dateTrunc" not in str(error):
            raise
        pipeline = without_date_trunc(pipeline)
        rewritten = True
    seconds, cpu_seconds, results = [], [], None
    for _ in range(repeats):
        start, cpu_start = time.perf_counter(), time.process_time()
        results = list(collection.aggregate(pipeline))
        seconds.append(time.perf_counter() - start)
        cpu_seconds.append(time.process_time() - cpu_start)
    json.dump({"mongomock": mongomock.__version__, "rows": len(docs), "seconds": seconds, "cpu_seconds": cpu_seconds, "rewritten": rewritten,
               "pipeline": to_plain(pipeline), "results": to_plain(results)}, sys.stdout)


if __name__ == "__main__":
    main()
