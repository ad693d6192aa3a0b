#if canImport(Glibc)
    import Glibc
#endif

/// Seconds since the Unix epoch. Every fake model reads time only through one of these, so a test
/// injects a fixed or stepped clock and gets exactly reproducible readings.
typealias FakeClock = @Sendable () -> Double

enum SystemClock {
    /// The wall clock (CLOCK_REALTIME), as the capture timestamps are.
    static let now: FakeClock = {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }
}
