// Pipeline benchmark: a year of hourly windows (8,760) backfilled by the real scheduler over the
// SQLite store, beside one full-scan GROUP BY of the same data in SQLite's own SQL. Run:
//   swift build -c release --product PipelineBenchmark
//   PIPELINE_BENCH_READINGS=1000000 .build/release/PipelineBenchmark
PipelineBenchmark.main()
