// Pipeline benchmark: a year of hourly windows (8,760) backfilled by the real scheduler, beside one
// full-scan GROUP BY of the same data in the backend's own SQL. Run:
//   swift build -c release --product PipelineBenchmark
//   PIPELINE_BENCH_READINGS=1000000 .build/release/PipelineBenchmark              # SQLite
//   PIPELINE_BENCH_READINGS=1000000 .build/release/PipelineBenchmark --postgres   # PostgreSQL
// PIPELINE_BENCH_BATCH=N sets the windows per backfill batch (default 10, the scheduler's default).
// (--postgres uses FERRY_TEST_DATABASE_URL's server, or starts a throwaway cluster as the tests do.)
PipelineBenchmark.main()
