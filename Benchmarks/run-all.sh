#!/usr/bin/env bash
# Every benchmark in this directory, one after the other, on the release build in .build-bench,
# with the arguments Benchmarks/README.md reports. Each one's whole output goes to OUT/NAME.txt;
# the terminal gets its name, command, duration, and what it printed (log lines left out). About
# 15 minutes on 2 cores (17 with POSTGRES=1).
#
#   BUILD=1 Benchmarks/run-all.sh [OUT]   # OUT defaults to /tmp/ferry-benchmarks-DATE
#
# BUILD=1 first builds the products it runs, release, in .build-bench (a plain `swift build -c
# release` builds them too, and swift-protobuf's bundled protoc, C++: ~10 minutes more).
#
# FULL=1 adds the backfills over 10M readings (~10 minutes more each). POSTGRES=1 adds the PostgreSQL
# runs (ingest, backfill, chart) on a throwaway cluster, or on FERRY_TEST_DATABASE_URL if set.
# MongoDB's comparison needs pymongo and viam-sdk 0.85.1 (skipped, and said so, without them).
# Run it on a quiet machine: other work moves every figure.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=$(pwd)/.build-bench/release
OUT=${1:-/tmp/ferry-benchmarks-$(date -u +%Y%m%d-%H%M)}
# What the benchmarks run; all six built-in plugins, as `ferry run` in host-memory loads every one
# it finds beside it.
products=(ferry FerryFake FerryMQLSensor FerrySystemStats FerryWebcam FerryI2C FerryGPIO CaptureBenchmark
  IsolationBenchmark MQLBenchmark StoreBenchmark PipelineBenchmark SyncBenchmark LoadBenchmark ChartBenchmark)
for product in "${products[@]}"; do
  if [ "${BUILD:-0}" = 1 ]; then
    swift build -c release --scratch-path .build-bench --product "$product" || exit 1
  fi
  [ -e "$BIN/$product" ] || [ -e "$BIN/lib$product.so" ] || { echo "$BIN/$product is missing: run with BUILD=1" >&2; exit 1; }
done
mkdir -p "$OUT"
failed=()

# bench NAME COMMAND...: runs COMMAND, keeps its output in OUT/NAME.txt, prints it without log lines.
bench() {
  local name=$1
  shift
  echo "== $name ($(date -u +%H:%M:%S) UTC, load average $(cut -d' ' -f1-3 /proc/loadavg)): $*"
  local started=$SECONDS
  if "$@" > "$OUT/$name.txt" 2>&1; then
    grep -v -E '^[0-9]{4}-[0-9]{2}-[0-9]{2}T|^\s*$|^Unclosed connection' "$OUT/$name.txt" | head -40 | sed 's/^/   /'
    echo "   ($((SECONDS - started)) s)"
  else
    echo "   FAILED after $((SECONDS - started)) s: see $OUT/$name.txt"
    failed+=("$name")
  fi
}

bench capture env BENCH_SECONDS=10 "$BIN/CaptureBenchmark"
bench isolation env BENCH_SECONDS=10 "$BIN/IsolationBenchmark"
bench mql "$BIN/MQLBenchmark"
bench store "$BIN/StoreBenchmark" 100000 100
bench backfill-1M-batch100 env PIPELINE_BENCH_READINGS=1000000 PIPELINE_BENCH_BATCH=100 "$BIN/PipelineBenchmark"
bench backfill-1M-batch10 env PIPELINE_BENCH_READINGS=1000000 "$BIN/PipelineBenchmark"
[ "${FULL:-0}" = 1 ] && bench backfill-10M-batch100 env PIPELINE_BENCH_READINGS=10000000 PIPELINE_BENCH_BATCH=100 "$BIN/PipelineBenchmark"
bench sync "$BIN/SyncBenchmark" 100000
if python3 -c 'import pymongo, viam' 2> /dev/null; then
  bench mongo python3 Benchmarks/MongoEndpoint/find_vs_mql.py "$BIN/ferry" 1000000 3
else
  echo "== mongo: skipped (needs pymongo and viam-sdk==0.85.1)"
fi
bench host-memory env FERRY="$BIN/ferry" Benchmarks/host-memory.sh 35
bench server-memory env FERRY="$BIN/ferry" Benchmarks/server-memory.sh 30 120
bench load "$BIN/LoadBenchmark" --machines 100 --minutes 3
bench chart "$BIN/ChartBenchmark" --lttb "$BIN/libFerryMQLSensor.so"
if [ "${POSTGRES:-0}" = 1 ]; then
  bench sync-postgres "$BIN/SyncBenchmark" 100000 --postgres
  bench backfill-1M-postgres env PIPELINE_BENCH_READINGS=1000000 PIPELINE_BENCH_BATCH=100 "$BIN/PipelineBenchmark" --postgres
  [ "${FULL:-0}" = 1 ] && bench backfill-10M-postgres env PIPELINE_BENCH_READINGS=10000000 PIPELINE_BENCH_BATCH=100 "$BIN/PipelineBenchmark" --postgres
  bench chart-postgres "$BIN/ChartBenchmark" --postgres --lttb "$BIN/libFerryMQLSensor.so"
fi

echo "outputs in $OUT"
if [ ${#failed[@]} -gt 0 ]; then
  echo "failed: ${failed[*]}" >&2
  exit 1
fi
