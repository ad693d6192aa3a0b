import FerryCapture
import Metrics

/// Collectors' counts as Prometheus counters, labelled by component and method: calls that
/// returned a value, calls that failed, and ticks skipped behind a slow call (their share of all
/// ticks is what the shipped alert watches). Collectors keep plain totals; this turns each poll's
/// totals into increments, starting again from zero for a collector that was recreated.
struct CollectorMetrics {
    private struct Counts { var calls = 0, errors = 0, skipped = 0 }
    private var published: [Collector.Key: Counts] = [:]

    mutating func publish(_ current: [Collector.Key: CollectorStats]) {
        var next: [Collector.Key: Counts] = [:]
        for (key, stats) in current {
            let now = Counts(calls: stats.captures, errors: stats.errors, skipped: stats.skippedTicks)
            var before = published[key] ?? Counts()
            if now.calls < before.calls || now.errors < before.errors || now.skipped < before.skipped {
                before = Counts()  // a new collector under the same key
            }
            let dimensions = [("component", key.component), ("method", key.method)]
            for (label, delta) in [
                ("ferry_capture_calls_total", now.calls - before.calls),
                ("ferry_capture_errors_total", now.errors - before.errors),
                ("ferry_capture_skipped_ticks_total", now.skipped - before.skipped),
            ] where delta > 0 {
                Counter(label: label, dimensions: dimensions).increment(by: delta)
            }
            next[key] = now
        }
        published = next
    }
}
