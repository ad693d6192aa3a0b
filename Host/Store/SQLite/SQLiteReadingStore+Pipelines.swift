import FerryBSON
import FerryStore
import Foundation
import GRDB

extension SQLiteReadingStore {
    static let pipelineColumns = """
        id, organization_id, name, schedule, stages, enable_backfill, source_type, source_pipeline_id, enabled, \
        created_at, updated_at, scheduled_through, backfill_cursor, backfill_floor, backfill_next_at, \
        invalidation_cursor, revision
        """
    static let runColumns = """
        seq, id, pipeline_id, organization_id, window_start, window_end, status, kind, not_before, created_at, \
        started_at, ended_at, error_message, output_count
        """

    public func createPipeline(_ pipeline: PipelineRecord) async throws {
        let stages = try Self.encodeStages(pipeline)
        try await write("creating pipeline \(pipeline.name)") { db in
            try Self.requireOrganization(db, pipeline.organizationID)
            try Self.requireUniqueName(db, pipeline)
            try db.execute(
                sql: "INSERT INTO pipelines (\(Self.pipelineColumns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                arguments: Self.pipelineArguments(pipeline, stages: stages))
        }
    }

    public func pipeline(id: String) async throws -> PipelineRecord? {
        try await read("reading pipeline \(id)") { db in
            try Row.fetchOne(db.cachedStatement(sql: "SELECT \(Self.pipelineColumns) FROM pipelines WHERE id = ?"), arguments: [id])
                .map(Self.pipelineRecord)
        }
    }

    public func pipelines(organizationID: String?) async throws -> [PipelineRecord] {
        try await read("listing pipelines") { db in
            var sql = "SELECT \(Self.pipelineColumns) FROM pipelines"
            var arguments: StatementArguments = []
            if let organizationID {
                sql += " WHERE organization_id = ?"
                arguments = [organizationID]
            }
            return try Row.fetchAll(db.cachedStatement(sql: sql + " ORDER BY created_at, id"), arguments: arguments).map(Self.pipelineRecord)
        }
    }

    public func savePipeline(_ pipeline: PipelineRecord, expectedRevision: Int64, newRuns: [PipelineRunRecord], dropSink: Bool)
        async throws -> Bool
    {
        var updated = pipeline
        updated.revision = expectedRevision + 1
        let stages = try Self.encodeStages(updated)
        let record = updated
        return try await write("saving pipeline \(pipeline.id)") { db in
            let current = try Int64.fetchOne(db.cachedStatement(sql: "SELECT revision FROM pipelines WHERE id = ?"), arguments: [record.id])
            guard current == expectedRevision else { return false }
            try Self.requireUniqueName(db, record)
            try db.execute(
                sql: """
                    UPDATE pipelines SET name = ?, schedule = ?, stages = ?, enable_backfill = ?, source_type = ?,
                        source_pipeline_id = ?, enabled = ?, updated_at = ?, scheduled_through = ?, backfill_cursor = ?,
                        backfill_floor = ?, backfill_next_at = ?, invalidation_cursor = ?, revision = ?
                    WHERE id = ?
                    """,
                arguments: [
                    record.name, record.schedule, stages, record.enableBackfill, Self.sourceType(record.source),
                    Self.sourcePipeline(record.source), record.enabled, record.updatedAt, record.scheduledThrough,
                    record.backfillCursor, record.backfillFloor, record.backfillNextAt, record.invalidationCursor,
                    record.revision, record.id,
                ])
            for run in newRuns { try Self.insertRun(db, run) }
            if dropSink { try Self.deleteSink(db, organizationID: record.organizationID, pipelineID: record.id) }
            return true
        }
    }

    public func deletePipeline(organizationID: String, id: String) async throws -> Bool {
        try await write("deleting pipeline \(id)") { db in
            try db.execute(
                sql: "DELETE FROM pipelines WHERE organization_id = ? AND id = ?", arguments: [organizationID, id])
            guard db.changesCount > 0 else { return false }
            // Runs go by ON DELETE CASCADE (GRDB turns foreign keys on); the sink is not a foreign-key child.
            try Self.deleteSink(db, organizationID: organizationID, pipelineID: id)
            for index in try Self.indexes(db, organizationID: organizationID, pipelineID: id) { try Self.deleteIndex(db, index) }
            return true
        }
    }

    public func runs(pipelineID: String, before: Int64?, limit: Int) async throws -> [PipelineRunRecord] {
        try await read("listing runs of pipeline \(pipelineID)") { db in
            try Row.fetchAll(
                db.cachedStatement(
                    sql: "SELECT \(Self.runColumns) FROM pipeline_runs WHERE pipeline_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?"),
                arguments: [pipelineID, before ?? Int64.max, limit]
            ).map(Self.runRecord)
        }
    }

    public func run(id: String) async throws -> PipelineRunRecord? {
        try await read("reading run \(id)") { db in
            try Self.runRow(db, id: id).map(Self.runRecord)
        }
    }

    public func runCounts(pipelineID: String) async throws -> [PipelineRunStatus: Int] {
        try await read("counting runs of pipeline \(pipelineID)") { db in
            var counts: [PipelineRunStatus: Int] = [:]
            for row in try Row.fetchAll(
                db, sql: "SELECT status, COUNT(*) FROM pipeline_runs WHERE pipeline_id = ? GROUP BY status", arguments: [pipelineID])
            {
                let status: String = row[0]
                if let status = PipelineRunStatus(rawValue: status) { counts[status] = row[1] }
            }
            return counts
        }
    }

    public func activeRuns() async throws -> [PipelineRunRecord] {
        try await read("listing active pipeline runs") { db in
            try Row.fetchAll(
                db.cachedStatement(
                    sql: "SELECT \(Self.runColumns) FROM pipeline_runs WHERE status IN ('SCHEDULED', 'STARTED') ORDER BY seq")
            ).map(Self.runRecord)
        }
    }

    public func latestRuns(pipelineID: String, overlapping range: SinkWindow) async throws -> [SinkWindow: PipelineRunRecord] {
        try await read("reading runs of pipeline \(pipelineID)") { db in
            let runs = try Row.fetchAll(
                db,
                sql: """
                    SELECT \(Self.runColumns) FROM pipeline_runs
                    WHERE pipeline_id = ? AND window_start < ? AND window_end > ? ORDER BY seq
                    """,
                arguments: [pipelineID, range.end, range.start]
            ).map(Self.runRecord)
            var latest: [SinkWindow: PipelineRunRecord] = [:]
            for run in runs { latest[run.window] = run }
            return latest
        }
    }

    public func startRun(id: String, now: Int64) async throws -> Bool {
        try await write("starting run \(id)") { db in
            try db.execute(
                sql: "UPDATE pipeline_runs SET status = 'STARTED', started_at = ? WHERE id = ? AND status = 'SCHEDULED'",
                arguments: [now, id])
            return db.changesCount == 1
        }
    }

    public func completeRun(id: String, documents: [BSONDocument], now: Int64) async throws -> Bool {
        try await write("completing run \(id)") { db in
            guard let run = try Self.runRow(db, id: id)
                .map(Self.runRecord), run.status == .started
            else { return false }
            try Self.writeWindow(
                db, organizationID: run.organizationID, pipelineID: run.pipelineID, runID: run.id, window: run.window,
                rows: try Self.sinkRows(documents, pipelineID: run.pipelineID))
            try Self.markCompleted(db, run, outputCount: documents.count, now: now)
            return true
        }
    }

    public func failRun(id: String, message: String, now: Int64, retry: PipelineRunRecord?) async throws -> Bool {
        try await write("failing run \(id)") { db in
            try db.execute(
                sql: """
                    UPDATE pipeline_runs SET status = 'FAILED', ended_at = ?, error_message = ?
                    WHERE id = ? AND status IN ('SCHEDULED', 'STARTED')
                    """,
                arguments: [now, message, id])
            guard db.changesCount == 1 else { return false }
            if let retry { try Self.insertRun(db, retry) }
            return true
        }
    }

    public func startRuns(ids: [String], now: Int64) async throws -> Set<String> {
        guard !ids.isEmpty else { return [] }
        return try await write("starting \(ids.count) runs") { db in
            let start = try db.cachedStatement(
                sql: "UPDATE pipeline_runs SET status = 'STARTED', started_at = ? WHERE id = ? AND status = 'SCHEDULED'")
            var started = Set<String>()
            for id in ids {
                try start.execute(arguments: [now, id])
                if db.changesCount == 1 { started.insert(id) }
            }
            return started
        }
    }

    public func finishRuns(_ endings: [PipelineRunEnding], now: Int64) async throws -> [String: PipelineRunFinish] {
        guard !endings.isEmpty else { return [:] }
        // Results are encoded before the write transaction opens; one that cannot be stored fails
        // only its run.
        var rows: [String: Result<[SinkRow], StoreError>] = [:]
        for ending in endings {
            guard case .completed(let documents) = ending.outcome else { continue }
            rows[ending.runID] = Result { () throws(StoreError) in try Self.sinkRows(documents, pipelineID: ending.run.pipelineID) }
        }
        let encoded = rows
        return try await write("finishing \(endings.count) runs") { db in
            var finished: [String: PipelineRunFinish] = [:]
            for ending in endings {
                switch ending.outcome {
                case .completed(let documents):
                    guard let run = try Self.runRow(db, id: ending.runID).map(Self.runRecord), run.status == .started else {
                        finished[ending.runID] = .notActive
                        continue
                    }
                    let replaceResults = { (rows: [SinkRow]) throws in
                        try Self.writeWindow(
                            db, organizationID: run.organizationID, pipelineID: run.pipelineID, runID: run.id, window: run.window, rows: rows)
                    }
                    do {
                        let rows = try encoded[ending.runID]!.get()
                        if rows.contains(where: { $0.key != nil }) {
                            // An `_id` may clash after the window's deletion: a savepoint per such
                            // run undoes only its own deletion and inserts, and the rest of the
                            // batch still commits. Without `_id`s nothing can be refused there.
                            try db.inSavepoint {
                                try replaceResults(rows)
                                return .commit
                            }
                        } else {
                            try replaceResults(rows)
                        }
                    } catch let error as StoreError where error.kind == .invalidArgument {
                        finished[ending.runID] = .unstorable(error)
                        continue
                    }
                    try Self.markCompleted(db, run, outputCount: documents.count, now: now)
                    finished[ending.runID] = .completed
                case .failed(let message):
                    try db.cachedStatement(
                        sql: """
                            UPDATE pipeline_runs SET status = 'FAILED', ended_at = ?, error_message = ?
                            WHERE id = ? AND status IN ('SCHEDULED', 'STARTED')
                            """
                    ).execute(arguments: [now, message, ending.runID])
                    finished[ending.runID] = db.changesCount == 1 ? .failed : .notActive
                }
            }
            return finished
        }
    }

    public func invalidations(organizationID: String, source: String, after: Int64, limit: Int) async throws
        -> [PipelineInvalidation]
    {
        try await read("reading the invalidation log") { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT id, range_start, range_end FROM pipeline_invalidations
                    WHERE organization_id = ? AND source = ? AND id > ? ORDER BY id LIMIT ?
                    """,
                arguments: [organizationID, source, after, limit]
            ).map { row in
                PipelineInvalidation(
                    id: row[0], organizationID: organizationID, source: source, range: SinkWindow(start: row[1], end: row[2]))
            }
        }
    }

    public func latestInvalidationID() async throws -> Int64 {
        try await read("reading the invalidation log") { db in
            // sqlite_sequence keeps the highest id ever handed out, even after pruning.
            try Int64.fetchOne(db, sql: "SELECT seq FROM sqlite_sequence WHERE name = 'pipeline_invalidations'") ?? 0
        }
    }

    public func pruneInvalidations() async throws -> Int {
        try await write("pruning the invalidation log") { db in
            try db.execute(
                sql: """
                    DELETE FROM pipeline_invalidations AS i WHERE NOT EXISTS (
                        SELECT 1 FROM pipelines AS p
                        WHERE p.organization_id = i.organization_id AND p.enable_backfill = 1 AND p.invalidation_cursor < i.id)
                    """)
            return db.changesCount
        }
    }

    public func pruneRuns(endedBefore cutoff: Int64) async throws -> Int {
        try await write("pruning pipeline run history") { db in
            try db.execute(
                sql: "DELETE FROM pipeline_runs WHERE status IN ('COMPLETED', 'FAILED') AND ended_at < ?", arguments: [cutoff])
            return db.changesCount
        }
    }

    public func acquireSchedulerLease(owner: String, now: Int64, duration: Int64) async throws -> Bool {
        try await write("taking the pipeline scheduler lease") { db in
            let key = "pipeline_scheduler_lease"
            if let value = try String.fetchOne(db.cachedStatement(sql: "SELECT value FROM store_meta WHERE key = ?"), arguments: [key]) {
                let parts = value.split(separator: " ")
                if parts.count == 2, String(parts[0]) != owner, let expiry = Int64(parts[1]), expiry > now { return false }
            }
            try db.execute(
                sql: "INSERT OR REPLACE INTO store_meta (key, value) VALUES (?, ?)", arguments: [key, "\(owner) \(now + duration)"])
            return true
        }
    }

    public func earliestData(organizationID: String, source: PipelineSource) async throws -> Int64? {
        if source == .hotStorage { await makePendingHotCopiesBeforeReading() }
        return try await read("finding the earliest data") { db in
            switch source {
            case .standard:
                return try Int64.fetchOne(
                    db, sql: "SELECT MIN(time_received) FROM readings WHERE organization_id = ?", arguments: [organizationID])
            case .hotStorage:
                return try Int64.fetchOne(
                    db, sql: "SELECT MIN(time_received) FROM hot_readings WHERE organization_id = ?", arguments: [organizationID])
            case .pipelineSink(let id):
                return try Int64.fetchOne(
                    db, sql: "SELECT MIN(window_start) FROM sink_documents WHERE organization_id = ? AND pipeline_id = ?",
                    arguments: [organizationID, id])
            }
        }
    }

    // MARK: Rows

    private static func requireUniqueName(_ db: Database, _ pipeline: PipelineRecord) throws {
        if let other = try String.fetchOne(
            db, sql: "SELECT id FROM pipelines WHERE organization_id = ? AND name = ? AND id <> ?",
            arguments: [pipeline.organizationID, pipeline.name, pipeline.id])
        {
            throw StoreChecks.duplicatePipelineName(pipeline, existing: other)
        }
    }

    static func encodeStages(_ pipeline: PipelineRecord) throws -> Data {
        Data(try StoreChecks.encodeStages(pipeline))
    }

    private static func sourceType(_ source: PipelineSource) -> String {
        switch source {
        case .standard: "standard"
        case .hotStorage: "hot_storage"
        case .pipelineSink: "pipeline_sink"
        }
    }

    private static func sourcePipeline(_ source: PipelineSource) -> String? {
        if case .pipelineSink(let id) = source { id } else { nil }
    }

    static func pipelineArguments(_ p: PipelineRecord, stages: Data) -> StatementArguments {
        [
            p.id, p.organizationID, p.name, p.schedule, stages, p.enableBackfill, sourceType(p.source), sourcePipeline(p.source),
            p.enabled, p.createdAt, p.updatedAt, p.scheduledThrough, p.backfillCursor, p.backfillFloor, p.backfillNextAt,
            p.invalidationCursor, p.revision,
        ]
    }

    static func pipelineRecord(_ row: Row) throws -> PipelineRecord {
        let id: String = row[0]
        let stages = try StoreChecks.decodeStages(ReadingDecoding.bson(row, 4, idIndex: 0), pipelineID: id)
        let sourceText: String = row[6]
        let sourcePipelineID: String? = row[7]
        let source: PipelineSource =
            switch sourceText {
            case "hot_storage": .hotStorage
            case "pipeline_sink": .pipelineSink(sourcePipelineID ?? "")
            default: .standard
            }
        return PipelineRecord(
            id: id, organizationID: row[1], name: row[2], schedule: row[3], stages: stages, enableBackfill: row[5],
            source: source, enabled: row[8], createdAt: row[9], updatedAt: row[10], scheduledThrough: row[11],
            backfillCursor: row[12], backfillFloor: row[13], backfillNextAt: row[14], invalidationCursor: row[15],
            revision: row[16])
    }

    private static func insertRun(_ db: Database, _ run: PipelineRunRecord) throws {
        try db.cachedStatement(
            sql: """
                INSERT INTO pipeline_runs (id, pipeline_id, organization_id, window_start, window_end, status, kind, not_before,
                    created_at, started_at, ended_at, error_message, output_count)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(
            arguments: [
                run.id, run.pipelineID, run.organizationID, run.window.start, run.window.end, run.status.rawValue,
                run.kind.rawValue, run.notBefore, run.createdAt, run.startedAt, run.endedAt, run.errorMessage, run.outputCount,
            ])
    }

    /// A STARTED run whose results were just written becomes COMPLETED, and pipelines reading its
    /// sink learn of the window; in the caller's transaction.
    private static func markCompleted(_ db: Database, _ run: PipelineRunRecord, outputCount: Int, now: Int64) throws {
        try db.cachedStatement(sql: "UPDATE pipeline_runs SET status = 'COMPLETED', ended_at = ?, output_count = ? WHERE id = ?")
            .execute(arguments: [now, outputCount, run.id])
        try PipelineInvalidationLog.recordSink(db, organizationID: run.organizationID, pipelineID: run.pipelineID, window: run.window)
    }

    /// One run's row. Statements that run once per window or per run are cached on the
    /// connection: compiling one costs more than running it (a backfill runs them thousands of times).
    static func runRow(_ db: Database, id: String) throws -> Row? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT \(runColumns) FROM pipeline_runs WHERE id = ?"), arguments: [id])
    }

    static func runRecord(_ row: Row) throws -> PipelineRunRecord {
        let statusText: String = row[6]
        let kindText: String = row[7]
        return PipelineRunRecord(
            id: row[1], pipelineID: row[2], organizationID: row[3], window: SinkWindow(start: row[4], end: row[5]),
            status: PipelineRunStatus(rawValue: statusText) ?? .failed, kind: PipelineRunKind(rawValue: kindText) ?? .scheduled,
            notBefore: row[8], createdAt: row[9], startedAt: row[10], endedAt: row[11], errorMessage: row[12],
            outputCount: row[13], sequence: row[0])
    }
}
