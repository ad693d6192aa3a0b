// The fake sensor in process vs in a plugin process of its own: call ceiling, one collector at
// 1 kHz, 100 collectors at 10 Hz, writing real capture files. This binary is also its own
// `plugin-host`; the plugin is the release libFerryFake.so next to it (BENCH_PLUGIN for another). Run:
//   swift build -c release --scratch-path .build-bench --product FerryFake
//   swift build -c release --scratch-path .build-bench --product IsolationBenchmark
//   BENCH_SECONDS=10 .build-bench/release/IsolationBenchmark
IsolationBenchmark.main()
