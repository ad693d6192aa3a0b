#!/usr/bin/env bash
# Remakes Host/ferry/symbol-order.txt, the order in which the linker lays out ferry's functions in
# release builds: the functions `ferry run` calls, in the order it first calls them, so the code a
# host at rest keeps resident is a few contiguous MiB instead of pages spread over the whole text.
#
#   scripts/host-symbol-order.sh          (a release build with coverage callbacks: ~15 minutes)
#
# The profile is Benchmarks/host-memory.sh's machine (10 fake sensors at 1 Hz syncing over TLS to a
# `ferry serve`), from start to a graceful stop. Functions the profile never ran keep the linker's
# own order after it; names that no longer exist are skipped. Rerun it when the host's code changes
# much: a stale order costs memory, never correctness.
set -euo pipefail
cd "$(dirname "$0")/.."
scratch=.build-layout
mkdir -p "$scratch"
clang -O2 -Wall -c scripts/host-layout/coverage-runtime.c -o "$scratch/coverage-runtime.o"
# Coverage callbacks at each function's entry, Swift and C (BoringSSL): for Swift the sanitizer only
# enables the instrumentation, its runtime is not linked; coverage-runtime.c is.
coverage=func,trace-pc-guard
swift build -c release --scratch-path "$scratch" --product ferry \
    -Xswiftc -Xfrontend -Xswiftc -sanitize=fuzzer -Xswiftc -Xfrontend -Xswiftc -sanitize-coverage=$coverage \
    -Xcc -fsanitize-coverage=$coverage -Xcxx -fsanitize-coverage=$coverage \
    -Xlinker "$PWD/$scratch/coverage-runtime.o"
# The fake sensor plugin without the callbacks (its own copy of them would write the same trace).
swift build -c release --scratch-path .build-bench --product FerryFake
cp .build-bench/release/libFerryFake.so "$scratch/release/"

traces=$(mktemp -d)
trap 'rm -rf "$traces"' EXIT
FERRY_LAYOUT_TRACE=$traces FERRY="$PWD/$scratch/release/ferry" Benchmarks/host-memory.sh 35
python3 scripts/host-layout/order.py "$scratch/release/ferry" "$traces"/run.* > Host/ferry/symbol-order.txt
