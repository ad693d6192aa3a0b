#!/usr/bin/env bash
# Fuzz every target (or the ones named) with libFuzzer and AddressSanitizer, each for
# FUZZ_SECONDS seconds (default 25), starting from the committed seeds and regressions.
#
#   Fuzz/run.sh                       # every target, 25 s each, release build (tens of minutes
#                                     # to build on 2 cores; fast fuzzing, for long runs)
#   FUZZ_SECONDS=3600 Fuzz/run.sh mql # one target for an hour
#   FUZZ_BUILD=debug FUZZ_SECONDS=20 Fuzz/run.sh
#                                     # what .ci/run does: a debug build (about 3 minutes; slower
#                                     # execs, but Swift's `assert`s are checked too)
#
# The build lives in its own scratch path (.build-fuzz, or .build-fuzz-debug), so the sanitizer
# flags never reach the normal build. What libFuzzer learns is kept in .build-fuzz/corpus/TARGET and
# reused by the next run; a crash leaves its input in .build-fuzz/artifacts/TARGET/ and fails the
# script, printing the command that replays it. Add such an input to Fuzz/Regressions/TARGET once it
# is fixed (`swift test` replays every seed and regression).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-25}
build=${FUZZ_BUILD:-release}
case "$build" in
    release) scratch=.build-fuzz ;;
    debug) scratch=.build-fuzz-debug ;;
    *) echo "FUZZ_BUILD must be release or debug, not '$build'"; exit 2 ;;
esac
if [ $# -gt 0 ]; then targets=("$@"); else targets=($(ls Fuzz/Corpus)); fi

echo "== building the fuzz driver (libFuzzer + AddressSanitizer, $build) in $scratch"
driver=$scratch/$build/FerryFuzz
rm -f "$driver"  # never fuzz a driver left from an earlier build
mkdir -p "$scratch"
if ! swift build --scratch-path "$scratch" -c "$build" --product FerryFuzz \
    -Xswiftc -DFUZZING -Xswiftc -sanitize=fuzzer,address >"$scratch/build.log" 2>&1; then
    grep -v "Cannot export local symbol" "$scratch/build.log" | tail -40
    echo "the fuzz driver did not build (full log: $scratch/build.log)"
    exit 1
fi

failed=()
printf '%-14s %12s %10s %8s %8s  %s\n' target execs execs/s cov corpus result
for target in "${targets[@]}"; do
    corpus=.build-fuzz/corpus/$target
    artifacts=.build-fuzz/artifacts/$target/
    mkdir -p "$corpus" "$artifacts" Fuzz/Regressions/"$target"
    log=.build-fuzz/$target.log
    status=0
    ASAN_OPTIONS=detect_leaks=0 "$driver" "$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$artifacts" \
        "$corpus" Fuzz/Corpus/"$target" Fuzz/Regressions/"$target" >"$log" 2>&1 || status=$?
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
    rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*' || echo 0)
    units=$(ls "$corpus" | wc -l)
    if [ "$status" -eq 0 ]; then result=ok; else result="FAILED (exit $status)"; failed+=("$target"); fi
    printf '%-14s %12s %10s %8s %8s  %s\n' "$target" "$execs" "$rate" "$cov" "$units" "$result"
    if [ "$status" -ne 0 ]; then
        grep -E 'ERROR|fatal error|property violated|Test unit written' "$log" | head -5 | sed 's/^/    /'
        for input in "$artifacts"*; do
            [ -f "$input" ] && echo "    replay: swift build --product FerryFuzz && .build/debug/FerryFuzz $target $input"
        done
    fi
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzzing found failures in: ${failed[*]} (logs in .build-fuzz/TARGET.log)"
    exit 1
fi
