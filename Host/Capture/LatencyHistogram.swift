/// Tick lateness in fixed buckets (1-2-5 per decade from 1 µs to 10 s): constant memory and cost per
/// tick, good enough for percentiles to within a bucket.
package struct LatencyHistogram: Sendable, Equatable {
    /// Upper bounds in nanoseconds; the last bucket holds everything above the previous bound.
    package static let bounds: [UInt64] = {
        var bounds: [UInt64] = []
        var decade: UInt64 = 1_000
        while decade <= 1_000_000_000 {
            bounds += [decade, decade * 2, decade * 5]
            decade *= 10
        }
        return bounds + [10_000_000_000, .max]
    }()

    package private(set) var counts = [Int](repeating: 0, count: LatencyHistogram.bounds.count)
    package private(set) var total = 0
    private var maximumNanos: UInt64 = 0
    package var maximum: Duration { .nanoseconds(Int64(clamping: maximumNanos)) }

    package init() {}

    package mutating func record(_ lateness: Duration) {
        let nanos = UInt64(max(0, lateness.inNanoseconds))
        let index = Self.bounds.firstIndex { nanos <= $0 } ?? Self.bounds.count - 1
        counts[index] += 1
        total += 1
        maximumNanos = max(maximumNanos, nanos)
    }

    package mutating func merge(_ other: LatencyHistogram) {
        for index in counts.indices { counts[index] += other.counts[index] }
        total += other.total
        maximumNanos = max(maximumNanos, other.maximumNanos)
    }

    /// The upper bound of the bucket holding the `fraction` quantile (e.g. 0.99), capped at the maximum seen.
    package func quantile(_ fraction: Double) -> Duration {
        guard total > 0 else { return .zero }
        let rank = Int((Double(total) * fraction).rounded(.up))
        var seen = 0
        for (index, count) in counts.enumerated() {
            seen += count
            if seen >= rank { return .nanoseconds(Int64(clamping: min(Self.bounds[index], maximumNanos))) }
        }
        return maximum
    }
}
