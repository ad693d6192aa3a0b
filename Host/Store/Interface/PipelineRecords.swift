import FerryBSON

/// Where a pipeline reads: Viam's data source types, plus another pipeline's sink (chained
/// summaries, beyond Viam).
public enum PipelineSource: Sendable, Hashable {
    case standard
    case hotStorage
    case pipelineSink(String)

    /// The invalidation-log source this pipeline consumes: readings, or one pipeline's sink.
    public var invalidationKey: String {
        switch self {
        case .standard, .hotStorage: "readings"
        case .pipelineSink(let id): "sink:\(id)"
        }
    }
}

/// A pipeline definition plus the scheduler's durable progress. Times are ms since the Unix epoch, UTC.
public struct PipelineRecord: Sendable, Hashable {
    public var id: String
    public var organizationID: String
    public var name: String
    /// A 5-field cron expression, UTC.
    public var schedule: String
    public var stages: [BSONDocument]
    public var enableBackfill: Bool
    public var source: PipelineSource
    public var enabled: Bool
    public var createdAt: Int64
    public var updatedAt: Int64

    /// The last tick whose window has a run: the next window is `[scheduledThrough, next tick)`.
    public var scheduledThrough: Int64
    /// Backfill in progress: windows ending at or before this still need a run (walked newest first).
    public var backfillCursor: Int64?
    /// Backfill stops at this time; nil: at the earliest data of the source.
    public var backfillFloor: Int64?
    /// When the next backfill batch may be created (throttle); nil: once the current batch is done.
    public var backfillNextAt: Int64?
    /// The last invalidation-log entry this pipeline has processed.
    public var invalidationCursor: Int64
    /// Bumped on every write; writers compare-and-set on it so the CLI and a running scheduler
    /// never overwrite each other's changes.
    public var revision: Int64

    public init(
        id: String, organizationID: String, name: String, schedule: String, stages: [BSONDocument], enableBackfill: Bool,
        source: PipelineSource, enabled: Bool = true, createdAt: Int64, updatedAt: Int64? = nil, scheduledThrough: Int64,
        backfillCursor: Int64? = nil, backfillFloor: Int64? = nil, backfillNextAt: Int64? = nil, invalidationCursor: Int64 = 0,
        revision: Int64 = 0
    ) {
        self.id = id
        self.organizationID = organizationID
        self.name = name
        self.schedule = schedule
        self.stages = stages
        self.enableBackfill = enableBackfill
        self.source = source
        self.enabled = enabled
        self.createdAt = createdAt
        self.updatedAt = updatedAt ?? createdAt
        self.scheduledThrough = scheduledThrough
        self.backfillCursor = backfillCursor
        self.backfillFloor = backfillFloor
        self.backfillNextAt = backfillNextAt
        self.invalidationCursor = invalidationCursor
        self.revision = revision
    }
}

/// Viam's run states: SCHEDULED → STARTED → COMPLETED | FAILED.
public enum PipelineRunStatus: String, Sendable, Hashable, CaseIterable {
    case scheduled = "SCHEDULED"
    case started = "STARTED"
    case completed = "COMPLETED"
    case failed = "FAILED"

    public var isActive: Bool { self == .scheduled || self == .started }
}

/// Why a run exists.
public enum PipelineRunKind: String, Sendable, Hashable {
    /// A window that closed on schedule.
    case scheduled
    /// A historical window (backfill at creation, `enable --backfill-missed`, `update --recompute`).
    case backfill
    /// A window late data changed (from the invalidation log).
    case rerun
    /// A window whose previous run hung or was cut short by a restart.
    case retry
}

public struct PipelineRunRecord: Sendable, Hashable {
    public var id: String
    public var pipelineID: String
    public var organizationID: String
    public var window: SinkWindow
    public var status: PipelineRunStatus
    public var kind: PipelineRunKind
    /// The run may not start before this (the tick plus the start delay).
    public var notBefore: Int64
    public var createdAt: Int64
    public var startedAt: Int64?
    public var endedAt: Int64?
    public var errorMessage: String?
    public var outputCount: Int?
    /// Creation order, assigned by the store (0 before insertion); orders run listings and paging.
    public var sequence: Int64

    public init(
        id: String, pipelineID: String, organizationID: String, window: SinkWindow, status: PipelineRunStatus = .scheduled,
        kind: PipelineRunKind, notBefore: Int64, createdAt: Int64, startedAt: Int64? = nil, endedAt: Int64? = nil,
        errorMessage: String? = nil, outputCount: Int? = nil, sequence: Int64 = 0
    ) {
        self.id = id
        self.pipelineID = pipelineID
        self.organizationID = organizationID
        self.window = window
        self.status = status
        self.kind = kind
        self.notBefore = notBefore
        self.createdAt = createdAt
        self.startedAt = startedAt
        self.endedAt = endedAt
        self.errorMessage = errorMessage
        self.outputCount = outputCount
        self.sequence = sequence
    }
}

/// One invalidation-log entry: newly stored data (readings, or a re-written upstream sink window)
/// with times in `[range.start, range.end)`.
public struct PipelineInvalidation: Sendable, Hashable {
    public var id: Int64
    public var organizationID: String
    public var source: String
    public var range: SinkWindow

    public init(id: Int64, organizationID: String, source: String, range: SinkWindow) {
        self.id = id
        self.organizationID = organizationID
        self.source = source
        self.range = range
    }
}

/// How one run of a batch ended, for `PipelineStore.finishRuns`.
public struct PipelineRunEnding: Sendable {
    public enum Outcome: Sendable {
        /// The run's results, replacing its window's earlier ones.
        case completed([BSONDocument])
        /// Why it failed (stored as its error message).
        case failed(String)
    }

    /// The run as its executor saw it; the store checks its status itself (its pipeline and
    /// window name it in error messages).
    public var run: PipelineRunRecord
    public var outcome: Outcome

    public init(run: PipelineRunRecord, outcome: Outcome) {
        self.run = run
        self.outcome = outcome
    }

    public var runID: String { run.id }
}

/// What `PipelineStore.finishRuns` did with one run.
public enum PipelineRunFinish: Sendable, Hashable {
    case completed
    case failed
    /// The run was no longer active (timed out, deleted): nothing written.
    case notActive
    /// Its results cannot be stored; nothing written, the run still STARTED.
    case unstorable(StoreError)
}
