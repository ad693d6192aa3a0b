// MQL benchmark (issue 3): an hourly $dateTrunc + $group over 1M generated sensor readings, run by
// FerryMQL, by SQLite's own SQL (json_extract + GROUP BY, system libsqlite3) over the same rows, and
// by mongomock (pip) on a sample, side by side in one run, with the results checked to agree. Run:
//   swift build -c release --product MQLBenchmark && .build/release/MQLBenchmark
// Knobs (environment): MQL_BENCH_ROWS (1000000), MQL_BENCH_SAMPLE (50000), MQL_BENCH_REPEATS (3),
// MQL_BENCH_MONGOMOCK_REPEATS (1), MQL_BENCH_PYTHON (python3).
MQLBenchmark.main()
