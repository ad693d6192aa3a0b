// The fake sensor in process vs in a plugin process of its own: call ceiling, one collector at
// 1 kHz, 100 collectors at 10 Hz, writing real capture files. This binary is also its own
// `plugin-host` (so only it needs a release build). Run:
//   swift build -c release --scratch-path .build-bench --product IsolationBenchmark
//   BENCH_PLUGIN=.build/debug/libFerryFake.so BENCH_SECONDS=10 .build-bench/release/IsolationBenchmark
IsolationBenchmark.main()
