import FerryBSON
import FerryClock
import FerryMQL
import FerryStore
import Foundation

/// The operations a user performs on pipelines, shared by the CLI (writing the data directory
/// directly) and the gRPC DataPipelinesService: validation, then a compare-and-set write. A
/// running scheduler sees each change on its next step.
public struct PipelineManager: Sendable {
    public typealias Store = PipelineStore

    let store: any Store
    let operators: MQLOperatorRegistry
    let clock: any FerryClock

    public init(store: any Store, operators: MQLOperatorRegistry, clock: any FerryClock = SystemClock()) {
        self.store = store
        self.operators = operators
        self.clock = clock
    }

    /// Validates and stores a new pipeline. Its first window is `[last tick, next tick)`; with
    /// backfill, every earlier window down to the earliest data follows, newest first.
    public func create(
        organizationID: String, name: String, schedule: String, stages: [BSONDocument], enableBackfill: Bool,
        source: PipelineSource
    ) async throws -> PipelineRecord {
        let now = clock.now().unixMilliseconds
        try Self.validate(name: name)
        let cron = try Self.validate(schedule: schedule)
        try validate(stages: stages)
        if case .pipelineSink(let upstream) = source {
            guard let other = try await store.pipeline(id: upstream), other.organizationID == organizationID else {
                throw PipelineError(
                    .notFound, "the source pipeline \(upstream) does not exist in organisation \(organizationID); list them with `ferry pipelines list`")
            }
        }
        let tick = cron.previous(atOrBefore: now) ?? now
        let logPosition = try await store.latestInvalidationID()
        let record = PipelineRecord(
            id: UUID().uuidString.lowercased(), organizationID: organizationID, name: name, schedule: schedule, stages: stages,
            enableBackfill: enableBackfill, source: source, enabled: true, createdAt: now, scheduledThrough: tick,
            backfillCursor: enableBackfill ? tick : nil, backfillNextAt: enableBackfill ? now : nil,
            invalidationCursor: logPosition)
        try await store.createPipeline(record)
        return record
    }

    /// The pipeline, if it exists and belongs to `organizationID` (nil: any organisation).
    public func get(organizationID: String?, id: String) async throws -> PipelineRecord {
        guard let pipeline = try await store.pipeline(id: id), organizationID == nil || pipeline.organizationID == organizationID
        else {
            throw PipelineError(
                .notFound,
                "no pipeline \(id)\(organizationID.map { " in organisation \($0)" } ?? ""); list them with `ferry pipelines list`")
        }
        return pipeline
    }

    public func list(organizationID: String) async throws -> [PipelineRecord] {
        try await store.pipelines(organizationID: organizationID)
    }

    public func rename(organizationID: String?, id: String, name: String) async throws -> PipelineRecord {
        try Self.validate(name: name)
        return try await change(organizationID: organizationID, id: id) { pipeline, now in
            pipeline.name = name
            pipeline.updatedAt = now
            return ([], false)
        }
    }

    /// Disable stops new runs at once (running ones finish). Enable resumes from the current
    /// window: windows missed meanwhile are skipped, as in Viam, unless `backfillMissed`.
    public func setEnabled(organizationID: String?, id: String, enabled: Bool, backfillMissed: Bool = false) async throws
        -> PipelineRecord
    {
        try await change(organizationID: organizationID, id: id) { pipeline, now in
            guard pipeline.enabled != enabled else { return ([], false) }
            pipeline.enabled = enabled
            pipeline.updatedAt = now
            if enabled {
                let cron = try Self.validate(schedule: pipeline.schedule)
                let tick = max(pipeline.scheduledThrough, cron.previous(atOrBefore: now) ?? now)
                if backfillMissed, tick > pipeline.scheduledThrough {
                    pipeline.backfillFloor = pipeline.backfillCursor == nil ? pipeline.scheduledThrough : nil
                    pipeline.backfillCursor = max(pipeline.backfillCursor ?? tick, tick)
                    pipeline.backfillNextAt = now
                }
                pipeline.scheduledThrough = tick
            }
            return ([], false)
        }
    }

    /// Changes the query and/or the schedule (beyond Viam). New windows use them; with
    /// `recompute`, the results are dropped and every window back to the earliest data runs again.
    public func update(
        organizationID: String?, id: String, schedule: String?, stages: [BSONDocument]?, recompute: Bool
    ) async throws -> PipelineRecord {
        if let schedule { _ = try Self.validate(schedule: schedule) }
        if let stages { try validate(stages: stages) }
        return try await change(organizationID: organizationID, id: id) { pipeline, now in
            if let schedule { pipeline.schedule = schedule }
            if let stages { pipeline.stages = stages }
            pipeline.updatedAt = now
            guard recompute else { return ([], false) }
            let cron = try Self.validate(schedule: pipeline.schedule)
            // The next regular window starts at the last tick; everything before it is recomputed.
            let tick = cron.previous(atOrBefore: now) ?? now
            pipeline.scheduledThrough = tick
            pipeline.backfillCursor = tick
            pipeline.backfillFloor = nil
            pipeline.backfillNextAt = now
            return ([], true)
        }
    }

    /// Deletes the pipeline with its runs and its sink.
    public func delete(organizationID: String?, id: String) async throws {
        let pipeline = try await get(organizationID: organizationID, id: id)
        let downstream = try await store.pipelines(organizationID: pipeline.organizationID).filter {
            $0.source == .pipelineSink(pipeline.id)
        }
        guard downstream.isEmpty else {
            throw PipelineError.invalid(
                "pipeline \(id) is the source of \(downstream.map { "\($0.name) (\($0.id))" }.joined(separator: ", ")); delete those first")
        }
        _ = try await store.deletePipeline(organizationID: pipeline.organizationID, id: id)
    }

    /// One page of runs, newest first; `pageToken` is the previous page's `nextPageToken`.
    public func runs(organizationID: String?, id: String, pageSize: Int, pageToken: String?) async throws
        -> (runs: [PipelineRunRecord], nextPageToken: String?)
    {
        _ = try await get(organizationID: organizationID, id: id)
        var before: Int64?
        if let pageToken, !pageToken.isEmpty {
            guard let value = Int64(pageToken) else {
                throw PipelineError.invalid("page token \(pageToken.debugDescription) is not one this server handed out")
            }
            before = value
        }
        let size = pageSize <= 0 ? 100 : min(pageSize, 1_000)
        let page = try await store.runs(pipelineID: id, before: before, limit: size + 1)
        let runs = Array(page.prefix(size))
        return (runs, page.count > size ? runs.last.map { String($0.sequence) } : nil)
    }

    /// How many runs of the pipeline are in each status (backfill progress at a glance).
    public func runCounts(id: String) async throws -> [PipelineRunStatus: Int] {
        try await store.runCounts(pipelineID: id)
    }

    // MARK: Validation

    static func validate(name: String) throws {
        guard !name.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw PipelineError.invalid("a pipeline needs a name (unique in its organisation)")
        }
    }

    @discardableResult
    public static func validate(schedule: String) throws -> CronSchedule {
        do {
            return try CronSchedule(schedule)
        } catch {
            throw PipelineError.invalid("\(error)")
        }
    }

    public func validate(stages: [BSONDocument]) throws {
        guard !stages.isEmpty else {
            throw PipelineError.invalid("a pipeline needs at least one MQL stage, like [{\"$match\": {…}}]")
        }
        do {
            _ = try MQLPipeline(stages: stages, registry: operators)
        } catch let error as MQLError {
            throw PipelineError.invalid("invalid MQL pipeline: \(error)")
        }
    }

    /// Read, modify, compare-and-set; retried when another writer (a scheduler step) got there first.
    private func change(
        organizationID: String?, id: String,
        _ body: (inout PipelineRecord, Int64) throws -> (runs: [PipelineRunRecord], dropSink: Bool)
    ) async throws -> PipelineRecord {
        for _ in 0..<20 {
            let current = try await get(organizationID: organizationID, id: id)
            var next = current
            let (runs, dropSink) = try body(&next, clock.now().unixMilliseconds)
            if next == current { return current }
            if try await store.savePipeline(next, expectedRevision: current.revision, newRuns: runs, dropSink: dropSink) {
                next.revision = current.revision + 1
                return next
            }
        }
        throw PipelineError(.conflict, "pipeline \(id) kept changing while being updated; try again")
    }
}
