// Chart benchmark: the Data page's chart of a year of readings at one per minute (525,600, one
// component), timed from the store call to the SVG, beside SQLite's (or PostgreSQL's) own
// GROUP BY of the same numbers and the old all-in-memory path. Run:
//   swift build -c release --scratch-path .build-bench --product ChartBenchmark
//   .build-bench/release/ChartBenchmark [--postgres] [--lttb .build/debug/libFerryMQLSensor.so]
// (--postgres uses FERRY_TEST_DATABASE_URL's server, or starts a throwaway cluster as the tests do;
// --lttb loads the $lttb plugin so that the old path runs whole, $lttb stage included.)
ChartBenchmark.main()
