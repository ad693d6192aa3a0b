#!/usr/bin/env bash
# The host at rest (issue 18): `ferry run` with 10 fake sensors captured at 1 Hz, syncing to a
# `ferry serve` (SQLite, TLS) on this machine. After SECONDS (default 35) it prints the host's
# VmRSS split into anonymous and file pages, the CPU it used after its first 5 s, and the
# mappings that hold the most resident memory (from /proc/PID/smaps).
#
#   swift build -c release --scratch-path .build-bench --product ferry
#   swift build -c release --scratch-path .build-bench --product FerryFake
#   Benchmarks/host-memory.sh [SECONDS]
set -euo pipefail
FERRY=${FERRY:-$(pwd)/.build-bench/release/ferry}
HOST=${HOST:-$FERRY}  # what runs the machine: `ferry run` (which becomes ferry-host beside it), or another build's
[ -x "$FERRY" ] || { echo "build ferry first: see the top of $0" >&2; exit 1; }
SECONDS_AT_REST=${1:-35}
[ "$SECONDS_AT_REST" -gt 5 ] || { echo "SECONDS must be more than 5" >&2; exit 1; }
WORK=$(mktemp -d /tmp/ferry-host-memory.XXXXXX)
trap 'pkill -INT -f "$WORK" 2>/dev/null || true; sleep 2; rm -rf "$WORK"' EXIT
PORT=${PORT:-18644}

org=$("$FERRY" org create bench --data "$WORK/server" 2> /dev/null | tail -1)
key=$("$FERRY" key create --data "$WORK/server" --org "$org" --role operator --json 2> /dev/null)
"$FERRY" serve --data "$WORK/server" --listen "127.0.0.1:$PORT" --metrics-listen off > "$WORK/serve.log" 2>&1 &
server=$!
for _ in $(seq 100); do grep -q "serving Viam's data API" "$WORK/serve.log" && break; sleep 0.1; done
kill -0 $server 2> /dev/null || { echo "ferry serve did not start:" >&2; cat "$WORK/serve.log" >&2; exit 1; }
python3 - "$WORK" "$PORT" "$key" << 'EOF'
import json, sys
d, port, key = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
sensor = lambda i: {"name": f"s{i}", "api": "rdk:component:sensor", "model": "fake", "service_configs": [
    {"type": "data_manager", "attributes": {"capture_methods": [{"method": "Readings", "capture_frequency_hz": 1}]}}]}
json.dump({"components": [sensor(i) for i in range(10)], "services": [{"name": "data_manager",
    "api": "rdk:service:data_manager", "model": "rdk:builtin:builtin", "attributes": {
    "capture_dir": f"{d}/capture", "sync_interval_mins": 0.1,
    "ferry": {"server": f"127.0.0.1:{port}", "api_key_id": key["key_id"], "api_key": key["key"],
              "ca_cert": f"{d}/server/tls-cert.pem"}}}], "cloud": {"id": "host-memory"}}, open(f"{d}/machine.json", "w"))
EOF
"$HOST" run "$WORK/machine.json" > "$WORK/run.log" 2>&1 &
host=$!
# CPU is counted from 5 s in, once the host has started (its start-up is not "at rest").
sleep 5
ticks0=$(awk '{print $14 + $15}' "/proc/$host/stat")
sleep "$((SECONDS_AT_REST - 5))"
kill -0 $host 2> /dev/null || { echo "ferry run stopped:" >&2; cat "$WORK/run.log" >&2; exit 1; }
kill -0 $server 2> /dev/null || { echo "ferry serve stopped:" >&2; cat "$WORK/serve.log" >&2; exit 1; }

ticks=$(( $(awk '{print $14 + $15}' "/proc/$host/stat") - ticks0 ))
awk -v ticks="$ticks" -v alive="$(( (SECONDS_AT_REST - 5) * $(getconf CLK_TCK) ))" '
  /^VmRSS:|^RssAnon:|^RssFile:|^RssShmem:/ {printf "%-9s %6.1f MiB\n", $1, $2 / 1024}
  END {printf "CPU       %.2f%% of one core (%d clock ticks in %d)\n", 100 * ticks / alive, ticks, alive}' \
  "/proc/$host/status"
echo "synced readings: $(python3 -c "import sqlite3; print(sqlite3.connect('$WORK/server/store.sqlite').execute('select count(*) from readings').fetchone()[0])")"
echo "resident by mapping and permissions (KiB):"
awk '/^[0-9a-f]+-[0-9a-f]+ / {name = (NF >= 6 ? $6 : "[anonymous]") " " $2} /^Rss:/ {rss[name] += $2}
     END {for (n in rss) if (rss[n] >= 256) printf "%8d  %s\n", rss[n], n}' "/proc/$host/smaps" | sort -rn
