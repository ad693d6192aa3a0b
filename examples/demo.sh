#!/usr/bin/env bash
# The Ferry demo on the embedded default: fake sensors capture on this machine, sync into the data
# server `ferry run` embeds, and a data pipeline summarises every minute. Ctrl-C stops it cleanly.
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/install-packages build   # the C libraries the build links, if missing
swift build
FERRY=.build/debug/ferry
DATA=.ferry-demo/ferry-data

"$FERRY" run examples/machine.json 2> .ferry-demo.log &
HOST=$!
stop() {
    # Ctrl-C reaches the host too (one process group), and a second signal would cut its graceful
    # stop short (open capture files left unclosed): signal it only if it is not stopping already.
    sleep 0.2
    grep -q 'stopping gracefully' .ferry-demo.log || kill -TERM $HOST 2>/dev/null || true
    wait $HOST 2>/dev/null || true
    echo "stopped; host log in .ferry-demo.log"
}
trap stop EXIT
until [ -f "$DATA/embedded.json" ]; do
    kill -0 $HOST 2>/dev/null || { cat .ferry-demo.log; exit 1; }
    sleep 0.5
done
ORG=$(grep -o '"organization_id":"[^"]*"' "$DATA/embedded.json" | cut -d'"' -f4)
PIPELINE=$("$FERRY" pipelines list --data "$DATA" --org-id "$ORG" | awk '$2 == "greenhouse-minutely" {print $1}')
if [ -z "$PIPELINE" ]; then
    PIPELINE=$("$FERRY" pipelines create --data "$DATA" --org-id "$ORG" --name greenhouse-minutely \
        --schedule "* * * * *" --data-source-type standard --enable-backfill=true --mql '[
          {"$match": {"component_name": "greenhouse-temp"}},
          {"$group": {"_id": null, "avg_temp": {"$avg": "$data.readings.temperature_celsius"},
                      "min_temp": {"$min": "$data.readings.temperature_celsius"},
                      "max_temp": {"$max": "$data.readings.temperature_celsius"}, "readings": {"$sum": 1}}},
          {"$project": {"_id": 0, "avg_temp": {"$round": ["$avg_temp", 2]}, "min_temp": 1, "max_temp": 1, "readings": 1}}]')
fi
echo "capturing into .ferry-demo/capture, syncing into $DATA (organisation $ORG)"
echo "pipeline $PIPELINE (greenhouse-minutely) summarises each minute; its results appear below as windows close"
echo "(try: $FERRY sync status examples/machine.json; $FERRY pipelines runs --data $DATA --id $PIPELINE)"
SEEN=0
while kill -0 $HOST 2>/dev/null; do
    sleep 10
    RESULTS=$("$FERRY" data query --data "$DATA" --org "$ORG" --pipeline-sink "$PIPELINE" \
        --mql '[{"$sort": {"_viam_pipeline_run.interval.start": 1}}]' 2>/dev/null || true)
    COUNT=$(printf '%s' "$RESULTS" | grep -c . || true)
    if [ "$COUNT" -gt "$SEEN" ]; then
        printf '%s\n' "$RESULTS" | tail -n $((COUNT - SEEN))
        SEEN=$COUNT
    fi
done
