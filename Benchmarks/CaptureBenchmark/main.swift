// Capture benchmarks: one collector's ceiling, 1,000 collectors at 10 Hz, and capture-file write
// throughput beside a raw sequential write of the same bytes. Run:
//   swift build -c release --product CaptureBenchmark && .build/release/CaptureBenchmark
CaptureBenchmark.main()
