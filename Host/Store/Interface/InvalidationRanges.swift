import FerryBSON

/// What an ingest writes to the invalidation log: which time ranges newly stored data fell into,
/// so pipelines with backfill re-run exactly the windows it touched (as TimescaleDB's continuous
/// aggregates do).
///
/// Readings are logged by whole UTC minutes: every cron tick is on a minute boundary, so a window
/// `[s, e)` holds a reading at `t` exactly when it overlaps `t`'s minute. Consecutive minutes are
/// one entry, so a batch of contiguous captures costs one row, while a batch mixing old and new
/// readings does not invalidate the windows in between.
package enum InvalidationRanges {
    package static let minuteMillis: Int64 = 60_000
    /// The log's source name for readings (a sink's is `sink:<pipeline id>`).
    package static let readingsSource = "readings"

    package static func minute(_ ms: Int64) -> Int64 { CivilCalendar.floorDiv(ms, minuteMillis) }

    /// The minutes as coalesced `[start, end)` ranges in milliseconds, oldest first.
    package static func ranges(minutes: Set<Int64>) -> [SinkWindow] {
        let sorted = minutes.sorted()
        guard var start = sorted.first else { return [] }
        var end = start + 1
        var ranges: [SinkWindow] = []
        for m in sorted.dropFirst() {
            if m == end {
                end += 1
            } else {
                ranges.append(SinkWindow(start: start * minuteMillis, end: end * minuteMillis))
                start = m
                end = m + 1
            }
        }
        ranges.append(SinkWindow(start: start * minuteMillis, end: end * minuteMillis))
        return ranges
    }

    /// A rewritten sink window, for pipelines that read that sink. Downstream windows take an
    /// upstream window by its start, so the entry is the instant `[start, start + 1)`.
    package static func sinkEntry(_ window: SinkWindow) -> SinkWindow { SinkWindow(start: window.start, end: window.start + 1) }
}
