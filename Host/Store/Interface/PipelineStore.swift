import FerryBSON

/// What data pipelines need from storage: definitions, runs, the invalidation log and the sinks
/// their results land in. Every write
/// that the CLI and a running scheduler may both make compare-and-sets on `revision` or on a run's
/// status, so two processes sharing one data directory never overwrite each other.
public protocol PipelineStore: Sendable {
    // MARK: Sinks
    /// Atomically replaces the results of the windows overlapping `window` with `documents`.
    func replaceWindow(
        organizationID: String, pipelineID: String, runID: String, window: SinkWindow, documents: [BSONDocument]
    ) async throws
    func sinkDocuments(organizationID: String, pipelineID: String, window: SinkWindow?, limit: Int?) async throws
        -> [BSONDocument]
    func dropSink(organizationID: String, pipelineID: String) async throws -> Int

    // MARK: Definitions and runs
    /// Stores a new pipeline; fails if its organisation does not exist or already has the name.
    func createPipeline(_ pipeline: PipelineRecord) async throws
    func pipeline(id: String) async throws -> PipelineRecord?
    /// Pipelines of one organisation (nil: of all), oldest first.
    func pipelines(organizationID: String?) async throws -> [PipelineRecord]
    /// Writes `pipeline` (revision becomes `expectedRevision + 1`) and inserts `newRuns`, in one
    /// transaction, if the stored revision is still `expectedRevision`; with `dropSink`, also
    /// deletes the pipeline's results. False if someone else changed (or deleted) it first.
    func savePipeline(_ pipeline: PipelineRecord, expectedRevision: Int64, newRuns: [PipelineRunRecord], dropSink: Bool)
        async throws -> Bool
    /// Deletes the pipeline, its runs and its sink. False if there was no such pipeline.
    func deletePipeline(organizationID: String, id: String) async throws -> Bool

    /// Runs of a pipeline, newest first, after the run with sequence `before` (paging), at most `limit`.
    func runs(pipelineID: String, before: Int64?, limit: Int) async throws -> [PipelineRunRecord]
    func run(id: String) async throws -> PipelineRunRecord?
    /// Deletes finished (COMPLETED or FAILED) runs that ended before `cutoff`, of every pipeline;
    /// returns how many. Their windows' results stay in the sinks.
    func pruneRuns(endedBefore cutoff: Int64) async throws -> Int
    /// How many runs of the pipeline are in each status.
    func runCounts(pipelineID: String) async throws -> [PipelineRunStatus: Int]
    /// Every SCHEDULED or STARTED run, of every pipeline.
    func activeRuns() async throws -> [PipelineRunRecord]
    /// The latest run of each window of `pipelineID` overlapping `range`.
    func latestRuns(pipelineID: String, overlapping range: SinkWindow) async throws -> [SinkWindow: PipelineRunRecord]
    /// SCHEDULED → STARTED; false if the run is no longer SCHEDULED.
    func startRun(id: String, now: Int64) async throws -> Bool
    /// STARTED → COMPLETED with the window's results replacing earlier ones, and an invalidation
    /// for pipelines reading this sink, in one transaction. False (nothing written) if the run is
    /// no longer STARTED (timed out, deleted). Throws `StoreError` for results that cannot be stored
    /// (a duplicate `_id`), leaving the previous results whole.
    func completeRun(id: String, documents: [BSONDocument], now: Int64) async throws -> Bool
    /// SCHEDULED or STARTED → FAILED with `message`, and inserts `retry` if given, in one
    /// transaction; false if the run was already finished.
    func failRun(id: String, message: String, now: Int64, retry: PipelineRunRecord?) async throws -> Bool

    /// A batch of runs: SCHEDULED → STARTED for each of `ids`, in one transaction. Returns the ids
    /// it started (the others were no longer SCHEDULED).
    func startRuns(ids: [String], now: Int64) async throws -> Set<String>
    /// Ends a batch of runs in one transaction: each `.completed` one as `completeRun` does (its
    /// window's results, its status, the log entry for downstream pipelines), each `.failed` one as
    /// `failRun` does without a retry. Returns how each ended, by run id. A run whose results cannot
    /// be stored (a duplicate `_id`) comes back `.unstorable` with the `StoreError`, its
    /// window's previous results whole and the run still STARTED, while the rest of the batch
    /// commits; the caller fails it.
    func finishRuns(_ endings: [PipelineRunEnding], now: Int64) async throws -> [String: PipelineRunFinish]

    /// Invalidation-log entries of `organizationID` from `source` after `after`, oldest first.
    func invalidations(organizationID: String, source: String, after: Int64, limit: Int) async throws
        -> [PipelineInvalidation]
    /// The newest invalidation-log id (0 if none): a new pipeline starts reading after it.
    func latestInvalidationID() async throws -> Int64
    /// Deletes log entries every pipeline with backfill has processed; returns how many.
    func pruneInvalidations() async throws -> Int
    /// Takes or renews the data directory's scheduler lease for `owner` until `now + duration`;
    /// false while another owner's lease is unexpired. `duration` 0 releases it.
    func acquireSchedulerLease(owner: String, now: Int64, duration: Int64) async throws -> Bool
    /// The earliest time in `source` (time_received of readings, window start of a sink), or nil if empty.
    func earliestData(organizationID: String, source: PipelineSource) async throws -> Int64?

    /// Calls `onChange` whenever any process sharing the store saves a pipeline, logs late data
    /// or completes a run, until the task is cancelled; once when it starts listening, for what
    /// changed before. A backend that cannot tell returns at once, and the scheduler's poll finds
    /// such changes.
    func followPipelineChanges(_ onChange: @escaping @Sendable () async -> Void) async
}

extension PipelineStore {
    /// No change feed (SQLite): schedulers poll.
    public func followPipelineChanges(_ onChange: @escaping @Sendable () async -> Void) async {}
}
