import FerryBSON
import FerryStore
import GRDB

/// Writes the invalidation log (see `InvalidationRanges`) in the caller's transaction, for
/// organisations that have a pipeline with backfill on the source (nobody else reads the entries).
/// Its statements run in every ingest and every finished run, so they are cached on the connection.
enum PipelineInvalidationLog {
    /// Logs `minutes` per organisation, in the caller's (ingest) transaction.
    static func recordReadings(_ db: Database, minutes: [String: Set<Int64>]) throws {
        for (organization, set) in minutes where !set.isEmpty {
            guard try hasBackfillPipeline(db, organizationID: organization, source: InvalidationRanges.readingsSource) else { continue }
            for range in InvalidationRanges.ranges(minutes: set) {
                try insert(db, organization, InvalidationRanges.readingsSource, range)
            }
        }
    }

    /// Logs a rewritten sink window for pipelines that read that sink.
    static func recordSink(_ db: Database, organizationID: String, pipelineID: String, window: SinkWindow) throws {
        let source = PipelineSource.pipelineSink(pipelineID).invalidationKey
        guard try hasBackfillPipeline(db, organizationID: organizationID, source: source) else { return }
        try insert(db, organizationID, source, InvalidationRanges.sinkEntry(window))
    }

    private static func hasBackfillPipeline(_ db: Database, organizationID: String, source: String) throws -> Bool {
        let sql =
            source == InvalidationRanges.readingsSource
            ? "SELECT 1 FROM pipelines WHERE organization_id = ? AND enable_backfill = 1 AND source_type IN ('standard', 'hot_storage') LIMIT 1"
            : "SELECT 1 FROM pipelines WHERE organization_id = ? AND enable_backfill = 1 AND source_type = 'pipeline_sink' AND source_pipeline_id = ? LIMIT 1"
        let arguments: StatementArguments =
            source == InvalidationRanges.readingsSource ? [organizationID] : [organizationID, String(source.dropFirst("sink:".count))]
        return try Bool.fetchOne(db.cachedStatement(sql: sql), arguments: arguments) == true
    }

    private static func insert(_ db: Database, _ organization: String, _ source: String, _ range: SinkWindow) throws {
        try db.cachedStatement(
            sql: "INSERT INTO pipeline_invalidations (organization_id, source, range_start, range_end) VALUES (?, ?, ?, ?)"
        ).execute(arguments: [organization, source, range.start, range.end])
    }
}
