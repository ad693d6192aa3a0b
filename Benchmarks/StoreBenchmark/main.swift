// Store benchmarks: readings/s through `SQLiteReadingStore.insert` beside SQLite's own bulk insert
// of the same rows, plus the MQL and SQL read paths. Run:
//   swift build -c release --product StoreBenchmark && .build/release/StoreBenchmark [readings] [batch]
StoreBenchmark.main()
