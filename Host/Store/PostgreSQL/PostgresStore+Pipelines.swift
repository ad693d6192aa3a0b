import FerryBSON
import FerryStore
import Foundation
import PostgresNIO

extension PostgresStore {
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
        let stages = try StoreChecks.encodeStages(pipeline).byteBuffer
        let p = pipeline
        try StoreChecks.validate(text: p.name, what: "a pipeline name")
        try await transaction("creating pipeline \(pipeline.name)") { connection in
            guard try await !connection.query("SELECT 1 FROM organizations WHERE id = \(p.organizationID)", logger: self.logger)
                .collect().isEmpty
            else { throw StoreChecks.noSuchOrganization(p.organizationID) }
            try await Self.requireUniqueName(connection, p, logger: self.logger)
            try await connection.query(
                """
                INSERT INTO pipelines (\(unescaped: Self.pipelineColumns)) VALUES (\(p.id), \(p.organizationID), \(p.name),
                    \(p.schedule), \(stages), \(p.enableBackfill), \(Self.sourceType(p.source)), \(Self.sourcePipeline(p.source)),
                    \(p.enabled), \(p.createdAt), \(p.updatedAt), \(p.scheduledThrough), \(p.backfillCursor), \(p.backfillFloor),
                    \(p.backfillNextAt), \(p.invalidationCursor), \(p.revision))
                """, logger: self.logger)
        }
    }

    public func pipeline(id: String) async throws -> PipelineRecord? {
        try await rows("reading pipeline \(id)", "SELECT \(unescaped: Self.pipelineColumns) FROM pipelines WHERE id = \(id)")
            .first.map(Self.pipelineRecord)
    }

    public func pipelines(organizationID: String?) async throws -> [PipelineRecord] {
        let query: PostgresQuery =
            if let organizationID {
                "SELECT \(unescaped: Self.pipelineColumns) FROM pipelines WHERE organization_id = \(organizationID) ORDER BY created_at, id"
            } else {
                "SELECT \(unescaped: Self.pipelineColumns) FROM pipelines ORDER BY created_at, id"
            }
        return try await rows("listing pipelines", query).map(Self.pipelineRecord)
    }

    public func savePipeline(_ pipeline: PipelineRecord, expectedRevision: Int64, newRuns: [PipelineRunRecord], dropSink: Bool)
        async throws -> Bool
    {
        var updated = pipeline
        updated.revision = expectedRevision + 1
        try StoreChecks.validate(text: updated.name, what: "a pipeline name")
        let stages = try StoreChecks.encodeStages(updated).byteBuffer
        let r = updated
        return try await transaction("saving pipeline \(pipeline.id)") { connection in
            // The row lock makes the compare-and-set hold against a concurrent writer on another replica.
            let current = try await connection.query(
                "SELECT revision FROM pipelines WHERE id = \(r.id) FOR UPDATE", logger: self.logger
            ).collect().first.map { try $0.decode(Int64.self) }
            guard current == expectedRevision else { return false }
            try await Self.requireUniqueName(connection, r, logger: self.logger)
            try await connection.query(
                """
                UPDATE pipelines SET name = \(r.name), schedule = \(r.schedule), stages = \(stages),
                    enable_backfill = \(r.enableBackfill), source_type = \(Self.sourceType(r.source)),
                    source_pipeline_id = \(Self.sourcePipeline(r.source)), enabled = \(r.enabled), updated_at = \(r.updatedAt),
                    scheduled_through = \(r.scheduledThrough), backfill_cursor = \(r.backfillCursor),
                    backfill_floor = \(r.backfillFloor), backfill_next_at = \(r.backfillNextAt),
                    invalidation_cursor = \(r.invalidationCursor), revision = \(r.revision)
                WHERE id = \(r.id)
                """, logger: self.logger)
            try await Self.insertRuns(connection, newRuns, logger: self.logger)
            if dropSink {
                try await connection.query(
                    "DELETE FROM sink_documents WHERE organization_id = \(r.organizationID) AND pipeline_id = \(r.id)",
                    logger: self.logger)
            }
            try await connection.query("SELECT pg_notify('ferry_pipelines', 'pipelines')", logger: self.logger)
            return true
        }
    }

    public func deletePipeline(organizationID: String, id: String) async throws -> Bool {
        try await transaction("deleting pipeline \(id)") { connection in
            // Runs go by ON DELETE CASCADE; the sink is not a foreign-key child.
            let gone = try await connection.query(
                "DELETE FROM pipelines WHERE organization_id = \(organizationID) AND id = \(id) RETURNING id", logger: self.logger
            ).collect()
            guard !gone.isEmpty else { return false }
            try await connection.query(
                "DELETE FROM sink_documents WHERE organization_id = \(organizationID) AND pipeline_id = \(id)", logger: self.logger)
            for index in try await Self.indexes(connection, organizationID: organizationID, pipelineID: id, logger: self.logger) {
                try await Self.deleteIndex(connection, index, logger: self.logger)
            }
            return true
        }
    }

    public func runs(pipelineID: String, before: Int64?, limit: Int) async throws -> [PipelineRunRecord] {
        try await rows(
            "listing runs of pipeline \(pipelineID)",
            """
            SELECT \(unescaped: Self.runColumns) FROM pipeline_runs WHERE pipeline_id = \(pipelineID) AND seq < \(before ?? Int64.max)
            ORDER BY seq DESC LIMIT \(Int64(limit))
            """
        ).map(Self.runRecord)
    }

    public func run(id: String) async throws -> PipelineRunRecord? {
        try await rows("reading run \(id)", "SELECT \(unescaped: Self.runColumns) FROM pipeline_runs WHERE id = \(id)")
            .first.map(Self.runRecord)
    }

    public func runCounts(pipelineID: String) async throws -> [PipelineRunStatus: Int] {
        var counts: [PipelineRunStatus: Int] = [:]
        for row in try await rows(
            "counting runs of pipeline \(pipelineID)",
            "SELECT status, count(*) FROM pipeline_runs WHERE pipeline_id = \(pipelineID) GROUP BY status")
        {
            let (status, count) = try row.decode((String, Int64).self)
            if let status = PipelineRunStatus(rawValue: status) { counts[status] = Int(count) }
        }
        return counts
    }

    public func activeRuns() async throws -> [PipelineRunRecord] {
        try await rows(
            "listing active pipeline runs",
            "SELECT \(unescaped: Self.runColumns) FROM pipeline_runs WHERE status IN ('SCHEDULED', 'STARTED') ORDER BY seq"
        ).map(Self.runRecord)
    }

    public func latestRuns(pipelineID: String, overlapping range: SinkWindow) async throws -> [SinkWindow: PipelineRunRecord] {
        let runs = try await rows(
            "reading runs of pipeline \(pipelineID)",
            """
            SELECT \(unescaped: Self.runColumns) FROM pipeline_runs
            WHERE pipeline_id = \(pipelineID) AND window_start < \(range.end) AND window_end > \(range.start) ORDER BY seq
            """
        ).map(Self.runRecord)
        var latest: [SinkWindow: PipelineRunRecord] = [:]
        for run in runs { latest[run.window] = run }
        return latest
    }

    public func startRun(id: String, now: Int64) async throws -> Bool {
        try await !rows(
            "starting run \(id)",
            "UPDATE pipeline_runs SET status = 'STARTED', started_at = \(now) WHERE id = \(id) AND status = 'SCHEDULED' RETURNING id"
        ).isEmpty
    }

    /// One `ferry_complete_run` call: the status check under a row lock, the results, the status and
    /// the log entry for downstream pipelines commit together.
    public func completeRun(id: String, documents: [BSONDocument], now: Int64) async throws -> Bool {
        guard let run = try await run(id: id) else { return false }
        let sink = try SinkBatch(documents, pipelineID: run.pipelineID, window: run.window)
        return try await writingSink(sink, pipelineID: run.pipelineID, window: run.window) {
            try await rows(
                "completing run \(id)", "SELECT ferry_complete_run(\(id), \(now), \(sink.documents), \(sink.keys), \(sink.json))"
            ).first.map { try $0.decode(Bool.self) } ?? false
        }
    }

    public func failRun(id: String, message: String, now: Int64, retry: PipelineRunRecord?) async throws -> Bool {
        let text = message.replacingOccurrences(of: "\u{0}", with: "")
        return try await transaction("failing run \(id)") { connection in
            let failed = try await connection.query(
                """
                UPDATE pipeline_runs SET status = 'FAILED', ended_at = \(now), error_message = \(text)
                WHERE id = \(id) AND status IN ('SCHEDULED', 'STARTED') RETURNING id
                """, logger: self.logger
            ).collect()
            guard !failed.isEmpty else { return false }
            if let retry { try await Self.insertRuns(connection, [retry], logger: self.logger) }
            return true
        }
    }

    public func startRuns(ids: [String], now: Int64) async throws -> Set<String> {
        guard !ids.isEmpty else { return [] }
        return Set(
            try await rows(
                "starting \(ids.count) runs",
                "UPDATE pipeline_runs SET status = 'STARTED', started_at = \(now) WHERE id = ANY(\(ids)) AND status = 'SCHEDULED' RETURNING id"
            ).map { try $0.decode(String.self) })
    }

    /// One `ferry_finish_runs` call (one round trip, one transaction) for the whole batch; results
    /// the store refuses before sending (unencodable, an `_id` twice in one window) never leave.
    public func finishRuns(_ endings: [PipelineRunEnding], now: Int64) async throws -> [String: PipelineRunFinish] {
        var finished: [String: PipelineRunFinish] = [:]
        var ids: [String] = []
        var failed: [Bool] = []
        var messages: [String] = []
        var firsts: [Int32] = []
        var counts: [Int32] = []
        var all = SinkBatch()
        var batches: [String: (PipelineRunRecord, SinkBatch)] = [:]
        for ending in endings {
            switch ending.outcome {
            case .completed(let documents):
                let sink: SinkBatch
                do {
                    sink = try SinkBatch(documents, pipelineID: ending.run.pipelineID, window: ending.run.window)
                } catch let error as StoreError {
                    finished[ending.runID] = .unstorable(error)
                    continue
                }
                firsts.append(Int32(all.documents.count + 1))
                counts.append(Int32(sink.documents.count))
                all.append(sink)
                batches[ending.runID] = (ending.run, sink)
                failed.append(false)
                messages.append("")
            case .failed(let message):
                firsts.append(Int32(all.documents.count + 1))
                counts.append(0)
                failed.append(true)
                messages.append(message.replacingOccurrences(of: "\u{0}", with: ""))
            }
            ids.append(ending.runID)
        }
        guard !ids.isEmpty else { return finished }
        let outcomes = try await rows(
            "finishing \(ids.count) runs",
            """
            SELECT ferry_finish_runs(\(now), \(ids), \(failed), \(messages), \(firsts), \(counts), \(all.documents), \(all.keys), \(all.json))
            """
        ).first.map { try $0.decode([String].self) } ?? []
        guard outcomes.count == ids.count else {
            throw StoreError(.storage, "finishing \(ids.count) runs: the database answered for \(outcomes.count)")
        }
        for (id, outcome) in zip(ids, outcomes) {
            switch outcome {
            case "completed": finished[id] = .completed
            case "failed": finished[id] = .failed
            case "inactive": finished[id] = .notActive
            default:
                guard outcome.hasPrefix("clash "), let clash = DuplicateSinkKey(String(outcome.dropFirst(6))),
                    let entry = batches[id], clash.position < entry.1.ids.count, let key = entry.1.ids[clash.position]
                else {
                    throw StoreError(.storage, "finishing run \(id): the database answered \(outcome.debugDescription)")
                }
                finished[id] = .unstorable(
                    StoreChecks.duplicateSinkID(key, pipelineID: entry.0.pipelineID, clash: clash.window, window: entry.0.window))
            }
        }
        return finished
    }

    public func invalidations(organizationID: String, source: String, after: Int64, limit: Int) async throws
        -> [PipelineInvalidation]
    {
        try await rows(
            "reading the invalidation log",
            """
            SELECT id, range_start, range_end FROM pipeline_invalidations
            WHERE organization_id = \(organizationID) AND source = \(source) AND id > \(after) ORDER BY id LIMIT \(Int64(limit))
            """
        ).map { row in
            let (id, start, end) = try row.decode((Int64, Int64, Int64).self)
            return PipelineInvalidation(id: id, organizationID: organizationID, source: source, range: SinkWindow(start: start, end: end))
        }
    }

    public func latestInvalidationID() async throws -> Int64 {
        // The sequence keeps the highest id ever handed out, even after pruning.
        try await rows(
            "reading the invalidation log",
            "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM pipeline_invalidations_id_seq"
        ).first.map { try $0.decode(Int64.self) } ?? 0
    }

    public func pruneInvalidations() async throws -> Int {
        try await rows(
            "pruning the invalidation log",
            """
            WITH gone AS (
                DELETE FROM pipeline_invalidations AS i WHERE NOT EXISTS (
                    SELECT 1 FROM pipelines AS p
                    WHERE p.organization_id = i.organization_id AND p.enable_backfill AND p.invalidation_cursor < i.id)
                RETURNING 1)
            SELECT count(*) FROM gone
            """
        ).first.map { Int(try $0.decode(Int64.self)) } ?? 0
    }

    public func pruneRuns(endedBefore cutoff: Int64) async throws -> Int {
        try await rows(
            "pruning pipeline run history",
            """
            WITH gone AS (DELETE FROM pipeline_runs WHERE status IN ('COMPLETED', 'FAILED') AND ended_at < \(cutoff) RETURNING 1)
            SELECT count(*) FROM gone
            """
        ).first.map { Int(try $0.decode(Int64.self)) } ?? 0
    }

    public func acquireSchedulerLease(owner: String, now: Int64, duration: Int64) async throws -> Bool {
        // One statement: take the lease if it is free, expired or ours (the row lock of the upsert
        // makes concurrent replicas see each other's write).
        let value = "\(owner) \(now + duration)"
        return try await !rows(
            "taking the pipeline scheduler lease",
            """
            INSERT INTO store_meta (key, value) VALUES ('pipeline_scheduler_lease', \(value))
            ON CONFLICT (key) DO UPDATE SET value = excluded.value
            WHERE split_part(store_meta.value, ' ', 1) = \(owner) OR split_part(store_meta.value, ' ', 2)::bigint <= \(now)
            RETURNING 1
            """
        ).isEmpty
    }

    public func earliestData(organizationID: String, source: PipelineSource) async throws -> Int64? {
        switch source {
        case .standard, .hotStorage:
            var filter = ReadingFilter()
            if source == .hotStorage, options.hotStorageHours == nil { return nil }
            if source == .hotStorage, let cutoff = try await rows(
                "reading the hot storage cutoff", "SELECT value FROM store_meta WHERE key = \(Self.hotCutoffKey)"
            ).first.flatMap({ Int64(try $0.decode(String.self)) }) {
                filter.timeReceived.atLeast(cutoff)
            }
            guard let query = PostgresReadingQuery.select(
                columns: "time_received", organizationID: organizationID, filter: filter, descending: false, after: nil, limit: 1)
            else { return nil }
            return try await rows("finding the earliest data", query).first.map { try $0.decode(PGTime.self).ms }
        case .pipelineSink(let id):
            return try await rows(
                "finding the earliest data",
                "SELECT min(window_start) FROM sink_documents WHERE organization_id = \(organizationID) AND pipeline_id = \(id)"
            ).first.flatMap { try $0.decode(Int64?.self) }
        }
    }

    // MARK: Rows

    private static func requireUniqueName(_ connection: PostgresConnection, _ pipeline: PipelineRecord, logger: Logger) async throws {
        if let other = try await connection.query(
            """
            SELECT id FROM pipelines WHERE organization_id = \(pipeline.organizationID) AND name = \(pipeline.name) AND id <> \(pipeline.id)
            """, logger: logger
        ).collect().first {
            throw StoreChecks.duplicatePipelineName(pipeline, existing: try other.decode(String.self))
        }
    }

    static func sourceType(_ source: PipelineSource) -> String {
        switch source {
        case .standard: "standard"
        case .hotStorage: "hot_storage"
        case .pipelineSink: "pipeline_sink"
        }
    }

    static func sourcePipeline(_ source: PipelineSource) -> String? {
        if case .pipelineSink(let id) = source { id } else { nil }
    }

    static func pipelineRecord(_ row: PostgresRow) throws -> PipelineRecord {
        let c = row.makeRandomAccess()
        let id = try c[0].decode(String.self)
        let stagesBuffer = try c[4].decode(ByteBuffer.self)
        let stagesDocument: BSONDocument
        do {
            stagesDocument = try stagesBuffer.withUnsafeReadableBytes { try BSONDocument(bytes: $0) }
        } catch {
            throw StoreError(.storage, "pipeline \(id) has corrupt stages in the store: \(error)")
        }
        let sourceText = try c[6].decode(String.self)
        let sourcePipelineID = try c[7].decode(String?.self)
        let source: PipelineSource =
            switch sourceText {
            case "hot_storage": .hotStorage
            case "pipeline_sink": .pipelineSink(sourcePipelineID ?? "")
            default: .standard
            }
        return PipelineRecord(
            id: id, organizationID: try c[1].decode(String.self), name: try c[2].decode(String.self),
            schedule: try c[3].decode(String.self), stages: try StoreChecks.decodeStages(stagesDocument, pipelineID: id),
            enableBackfill: try c[5].decode(Bool.self), source: source, enabled: try c[8].decode(Bool.self),
            createdAt: try c[9].decode(Int64.self), updatedAt: try c[10].decode(Int64.self),
            scheduledThrough: try c[11].decode(Int64.self), backfillCursor: try c[12].decode(Int64?.self),
            backfillFloor: try c[13].decode(Int64?.self), backfillNextAt: try c[14].decode(Int64?.self),
            invalidationCursor: try c[15].decode(Int64.self), revision: try c[16].decode(Int64.self))
    }

    private static func insertRuns(_ connection: PostgresConnection, _ runs: [PipelineRunRecord], logger: Logger) async throws {
        for run in runs {
            try await connection.query(
                """
                INSERT INTO pipeline_runs (id, pipeline_id, organization_id, window_start, window_end, status, kind, not_before,
                    created_at, started_at, ended_at, error_message, output_count)
                VALUES (\(run.id), \(run.pipelineID), \(run.organizationID), \(run.window.start), \(run.window.end),
                    \(run.status.rawValue), \(run.kind.rawValue), \(run.notBefore), \(run.createdAt), \(run.startedAt),
                    \(run.endedAt), \(run.errorMessage), \(run.outputCount.map(Int64.init)))
                """, logger: logger)
        }
    }

    static func runRecord(_ row: PostgresRow) throws -> PipelineRunRecord {
        let c = row.makeRandomAccess()
        let status = try c[6].decode(String.self)
        let kind = try c[7].decode(String.self)
        return PipelineRunRecord(
            id: try c[1].decode(String.self), pipelineID: try c[2].decode(String.self), organizationID: try c[3].decode(String.self),
            window: SinkWindow(start: try c[4].decode(Int64.self), end: try c[5].decode(Int64.self)),
            status: PipelineRunStatus(rawValue: status) ?? .failed, kind: PipelineRunKind(rawValue: kind) ?? .scheduled,
            notBefore: try c[8].decode(Int64.self), createdAt: try c[9].decode(Int64.self), startedAt: try c[10].decode(Int64?.self),
            endedAt: try c[11].decode(Int64?.self), errorMessage: try c[12].decode(String?.self),
            outputCount: try c[13].decode(Int32?.self).map(Int.init), sequence: try c[0].decode(Int64.self))
    }

    /// LISTEN on the channel `ferry_pipelines` (NOTIFYed by pipeline saves, logged late data and
    /// completed runs) on a connection of its own; after a lost connection, listens again.
    public func followPipelineChanges(_ onChange: @escaping @Sendable () async -> Void) async {
        while !Task.isCancelled {
            do {
                try await client.withConnection { connection in
                    try await connection.listen(on: "ferry_pipelines") { notifications in
                        await onChange()
                        for try await _ in notifications { await onChange() }
                    }
                }
            } catch {
                if Task.isCancelled { return }
                logger.warning("listening for pipeline changes failed (polling meanwhile; retrying in 5 s): \(Self.message(error))")
                try? await Task.sleep(for: .seconds(5))
            }
        }
    }
}
