#!/usr/bin/env bash
# Remakes the order in which the linker lays out a host executable's functions in release builds
# (Host/ferry-host/symbol-order.txt, or Host/ferry/symbol-order.txt for `ferry` itself, which runs
# the host when it serves too): the functions the host calls, in the order it first calls them, so
# the code a host at rest keeps resident is a few contiguous MiB instead of pages spread over the
# whole text.
#
#   scripts/host-symbol-order.sh [ferry-host|ferry]   (a release build with coverage callbacks: ~15 minutes)
#
# The profile is Benchmarks/host-memory.sh's machine (10 fake sensors at 1 Hz syncing over TLS to a
# `ferry serve`), from start to a graceful stop. Functions the profile never ran keep the linker's
# own order after it; names that no longer exist are skipped. Rerun it when the host's code changes
# much: a stale order costs memory, never correctness.
set -euo pipefail
cd "$(dirname "$0")/.."
product=${1:-ferry-host}
case "$product" in ferry-host|ferry) ;; *) echo "host-symbol-order.sh: ferry-host or ferry, not $product" >&2; exit 2 ;; esac
scratch=.build-layout
mkdir -p "$scratch"
clang -O2 -Wall -c scripts/host-layout/coverage-runtime.c -o "$scratch/coverage-runtime.o"
# Coverage callbacks at each function's entry, Swift and C (BoringSSL): for Swift the sanitizer only
# enables the instrumentation, its runtime is not linked; coverage-runtime.c is.
coverage=func,trace-pc-guard
swift build -c release --scratch-path "$scratch" --product "$product" \
    -Xswiftc -Xfrontend -Xswiftc -sanitize=fuzzer -Xswiftc -Xfrontend -Xswiftc -sanitize-coverage=$coverage \
    -Xcc -fsanitize-coverage=$coverage -Xcxx -fsanitize-coverage=$coverage \
    -Xlinker "$PWD/$scratch/coverage-runtime.o"
# The server, and the plugins, without the callbacks (their own copies would write the same trace).
for other in ferry FerryFake FerryGPIO FerryI2C FerryMQLSensor FerrySystemStats FerryWebcam; do
    swift build -c release --scratch-path .build-bench --product "$other"
done
cp .build-bench/release/lib*.so "$scratch/release/"
[ "$product" = ferry ] || cp .build-bench/release/ferry "$scratch/release/"

traces=$(mktemp -d)
trap 'rm -rf "$traces"' EXIT
FERRY_LAYOUT_TRACE=$traces FERRY="$PWD/.build-bench/release/ferry" HOST="$PWD/$scratch/release/$product" Benchmarks/host-memory.sh 35
python3 scripts/host-layout/order.py "$scratch/release/$product" "$traces"/run.* > "Host/$product/symbol-order.txt"
