import FerryBSON
import GRDB

/// Writes the invalidation log: which time ranges newly stored data fell into, so pipelines with
/// backfill re-run exactly the windows it touched (as TimescaleDB's continuous aggregates do).
///
/// Readings are logged by whole UTC minutes: every cron tick is on a minute boundary, so a window
/// `[s, e)` holds a reading at `t` exactly when it overlaps `t`'s minute. Consecutive minutes are
/// one entry, so a batch of contiguous captures costs one row, while a batch mixing old and new
/// readings does not invalidate the windows in between.
enum PipelineInvalidationLog {
    static let minuteMillis: Int64 = 60_000

    static func minute(_ ms: Int64) -> Int64 { CivilCalendar.floorDiv(ms, minuteMillis) }

    /// Logs `minutes` per organisation, in the caller's (ingest) transaction, for organisations
    /// that have a pipeline with backfill (nobody else would read the entries).
    static func recordReadings(_ db: Database, minutes: [String: Set<Int64>]) throws {
        for (organization, set) in minutes where !set.isEmpty {
            guard try hasBackfillPipeline(db, organizationID: organization, source: "readings") else { continue }
            let sorted = set.sorted()
            var start = sorted[0]
            var end = start + 1
            for m in sorted.dropFirst() {
                if m == end {
                    end += 1
                } else {
                    try insert(db, organization, "readings", start * minuteMillis, end * minuteMillis)
                    start = m
                    end = m + 1
                }
            }
            try insert(db, organization, "readings", start * minuteMillis, end * minuteMillis)
        }
    }

    /// Logs a rewritten sink window for pipelines that read that sink. Downstream windows take an
    /// upstream window by its start, so the entry is the instant `[start, start + 1)`.
    static func recordSink(_ db: Database, organizationID: String, pipelineID: String, window: SinkWindow) throws {
        let source = "sink:\(pipelineID)"
        guard try hasBackfillPipeline(db, organizationID: organizationID, source: source) else { return }
        try insert(db, organizationID, source, window.start, window.start + 1)
    }

    private static func hasBackfillPipeline(_ db: Database, organizationID: String, source: String) throws -> Bool {
        let sql =
            source == "readings"
            ? "SELECT 1 FROM pipelines WHERE organization_id = ? AND enable_backfill = 1 AND source_type IN ('standard', 'hot_storage') LIMIT 1"
            : "SELECT 1 FROM pipelines WHERE organization_id = ? AND enable_backfill = 1 AND source_type = 'pipeline_sink' AND source_pipeline_id = ? LIMIT 1"
        let arguments: StatementArguments =
            source == "readings" ? [organizationID] : [organizationID, String(source.dropFirst("sink:".count))]
        return try Bool.fetchOne(db, sql: sql, arguments: arguments) == true
    }

    private static func insert(_ db: Database, _ organization: String, _ source: String, _ start: Int64, _ end: Int64) throws {
        try db.execute(
            sql: "INSERT INTO pipeline_invalidations (organization_id, source, range_start, range_end) VALUES (?, ?, ?, ?)",
            arguments: [organization, source, start, end])
    }
}
