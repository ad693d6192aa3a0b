/// Tick lateness in fixed buckets (1-2-5 per decade from 1 µs to 10 s): constant memory and cost per
/// tick, good enough for percentiles to within a bucket.
public struct LatencyHistogram: Sendable, Equatable {
    /// Upper bounds in nanoseconds; the last bucket holds everything above the previous bound.
    public static let bounds: [UInt64] = {
        var bounds: [UInt64] = []
        var decade: UInt64 = 1_000
        while decade <= 1_000_000_000 {
            bounds += [decade, decade * 2, decade * 5]
            decade *= 10
        }
        return bounds + [10_000_000_000, .max]
    }()

    public private(set) var counts = [Int](repeating: 0, count: LatencyHistogram.bounds.count)
    public private(set) var total = 0
    public private(set) var maximum: UInt64 = 0

    public init() {}

    public mutating func record(_ nanos: UInt64) {
        let index = Self.bounds.firstIndex { nanos <= $0 } ?? Self.bounds.count - 1
        counts[index] += 1
        total += 1
        maximum = max(maximum, nanos)
    }

    public mutating func merge(_ other: LatencyHistogram) {
        for index in counts.indices { counts[index] += other.counts[index] }
        total += other.total
        maximum = max(maximum, other.maximum)
    }

    /// The upper bound of the bucket holding the `fraction` quantile (e.g. 0.99), capped at the maximum seen.
    public func quantile(_ fraction: Double) -> UInt64 {
        guard total > 0 else { return 0 }
        let rank = Int((Double(total) * fraction).rounded(.up))
        var seen = 0
        for (index, count) in counts.enumerated() {
            seen += count
            if seen >= rank { return min(Self.bounds[index], maximum) }
        }
        return maximum
    }
}
