#!/usr/bin/env bash
# Server memory while ingesting at full speed, for two backlog sizes (issue 18): a host captures
# two fake sensors at 5 kHz for BACKLOG seconds with its data server down, then `ferry serve`
# starts and the host syncs the whole backlog as fast as it can. The server's RSS is sampled every
# second from /proc until the backlog is gone; a server whose memory is bounded shows the same
# peak for either backlog. Also prints the host's RSS and CPU while capturing.
#
#   swift build -c release --scratch-path .build-bench --product ferry --product FerryFake
#   Benchmarks/server-memory.sh 30 120        # backlog seconds, one run each
set -euo pipefail
FERRY=${FERRY:-$(pwd)/.build-bench/release/ferry}
[ -x "$FERRY" ] || { echo "build ferry first: see the top of $0" >&2; exit 1; }
WORK=$(mktemp -d /tmp/ferry-server-memory.XXXXXX)
trap 'pkill -INT -f "$WORK" 2>/dev/null || true; sleep 2; rm -rf "$WORK"' EXIT
PORT=${PORT:-18643}

rss_kib() { awk '/^VmRSS:/{print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
wait_for() { # pid-file-less wait for a process whose command line names $1
  for _ in $(seq 100); do pgrep -f "$1" > /dev/null && return 0; sleep 0.1; done
  echo "$1 did not start" >&2; return 1
}

run() {
  local backlog=$1 dir="$WORK/run-$1"
  mkdir -p "$dir"
  local org key
  org=$("$FERRY" org create bench --data "$dir/server" 2> /dev/null | tail -1)
  key=$("$FERRY" key create --data "$dir/server" --org "$org" --role operator --json 2> /dev/null)
  python3 - "$dir" "$PORT" "$key" << 'EOF'
import json, sys
d, port, key = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
sensor = lambda i: {"name": f"s{i}", "api": "rdk:component:sensor", "model": "fake", "service_configs": [
    {"type": "data_manager", "attributes": {"capture_methods": [{"method": "Readings", "capture_frequency_hz": 5000}]}}]}
json.dump({"components": [sensor(0), sensor(1)], "services": [{"name": "data_manager", "api": "rdk:service:data_manager",
    "model": "rdk:builtin:builtin", "attributes": {"capture_dir": f"{d}/capture", "sync_interval_mins": 0.01,
    "ferry": {"server": f"127.0.0.1:{port}", "api_key_id": key["key_id"], "api_key": key["key"],
              "ca_cert": f"{d}/server/tls-cert.pem"}}}], "cloud": {"id": "memory-bench"}}, open(f"{d}/machine.json", "w"))
EOF
  # The server makes its certificate on first start; start it once so the host can trust it.
  "$FERRY" serve --data "$dir/server" --listen "127.0.0.1:$PORT" > "$dir/serve0.log" 2>&1 &
  wait_for "serve --data $dir/server"; sleep 2; pkill -INT -f "serve --data $dir/server"; sleep 2

  "$FERRY" run "$dir/machine.json" > "$dir/run.log" 2>&1 &
  local host=$!
  sleep 5
  local t0 c0; t0=$(date +%s.%N); c0=$(cpu_ticks $host)
  sleep "$backlog"
  local host_rss host_cpu
  host_rss=$(rss_kib $host)
  host_cpu=$(python3 -c "import sys; print(f'{($(cpu_ticks $host) - $c0) / 100 / ($(date +%s.%N) - $t0):.2f}')")
  local files; files=$(find "$dir/capture" -name '*.capture' | wc -l)
  # Stop capturing (the backlog stays), then serve and let a host with nothing to capture sync it.
  kill -INT $host; wait $host || true
  python3 - "$dir" << 'EOF'
import json, sys
d = sys.argv[1]; m = json.load(open(f"{d}/machine.json"))
for c in m["components"]: c["service_configs"][0]["attributes"]["capture_methods"][0]["capture_frequency_hz"] = 0.001
json.dump(m, open(f"{d}/machine.json", "w"))
EOF
  "$FERRY" serve --data "$dir/server" --listen "127.0.0.1:$PORT" > "$dir/serve.log" 2>&1 &
  local server=$!
  wait_for "serve --data $dir/server"; sleep 1
  "$FERRY" run "$dir/machine.json" > "$dir/run2.log" 2>&1 &
  local syncer=$! peak=0 start; start=$(date +%s)
  while :; do
    local r; r=$(rss_kib $server); (( r > peak )) && peak=$r
    local left; left=$(find "$dir/capture" -name '*.capture' | wc -l)
    [ "$left" -eq 0 ] && break
    (( $(date +%s) - start > 900 )) && { echo "backlog not drained in 15 minutes" >&2; break; }
    sleep 1
  done
  local took=$(( $(date +%s) - start ))
  local stored; stored=$(python3 -c "import sqlite3; print(sqlite3.connect('$dir/server/store.sqlite').execute('select count(*) from readings').fetchone()[0])")
  echo "| ${backlog} s at 2 × 5 kHz | $files files, $stored readings | ${took} s ($(( stored / (took > 0 ? took : 1) ))/s) | $(( peak / 1024 )) MiB | $(( $(rss_kib $server) / 1024 )) MiB | $(( host_rss / 1024 )) MiB, $host_cpu cores |"
  kill -INT $syncer $server; wait $syncer $server || true
}

echo "| backlog | synced | drain time (rate) | server RSS peak | server RSS after | host RSS, CPU while capturing |"
echo "|---|---|---|---|---|---|"
for backlog in "$@"; do run "$backlog"; done
