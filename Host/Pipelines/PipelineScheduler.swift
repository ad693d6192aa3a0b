import FerryBSON
import FerryClock
import FerryMQL
import FerryStore
import Foundation
import Logging
import Metrics
import Tracing

/// Runs every enabled pipeline on its schedule, backfills, re-runs windows that late data touched,
/// and keeps runs moving: SCHEDULED → STARTED → COMPLETED | FAILED.
///
/// The database is the source of truth. Each `step()` re-reads the definitions (so changes made by
/// `ferry pipelines …` in another process are seen on the next poll), creates the runs that became
/// due, fails runs that timed out or hung, and starts due runs in tasks of their own, so a slow run
/// never blocks other pipelines. Due windows of one pipeline that follow each other (a backfill
/// batch, late data, catching up) start as one batch: one claim, one pass over their readings, one
/// transaction that ends them all, which is what makes a backfill cost near one scan of its rows.
/// Every state change is a compare-and-set in the store; progress lives there too, so a restart
/// loses no window and leaves nothing STARTED forever.
///
/// One scheduler per data directory, by a lease in the store renewed by its steps: a second
/// scheduler on the same directory (another `ferry serve`) stands by and takes over when the
/// first stops renewing. On taking the lease it treats STARTED runs it did not start as cut short
/// by the previous holder, fails them and re-creates their windows.
public actor PipelineScheduler {
    public struct Options: Sendable {
        /// How long after a tick its window's run starts (lets late uploads of the window land first).
        public var startDelay: Duration = .seconds(120)
        /// A run still going after this is failed; one STARTED for twice this (a dead process) is re-created.
        public var executionTimeout: Duration = .seconds(300)
        public var maxOutputDocuments = 10_000
        /// The pause between backfill batches.
        public var backfillThrottle: Duration = .seconds(120)
        /// Windows per backfill batch, and the most backfill or late-data runs of one pipeline at once.
        public var backfillBatchSize = 10
        /// How often definitions are re-read when nothing wakes the scheduler.
        public var pollInterval: Duration = .seconds(5)
        /// Executions at once, over all pipelines; a batch of windows is one.
        public var maxConcurrentRuns = 16
        /// Windows of one pipeline that follow each other and are due together (backfill, late
        /// data, catching up) run as one batch of at most this many: one claim, one pass over their
        /// readings, one transaction that ends them all.
        public var maxBatchWindows = 100
        /// The most readings a batch holds in memory at once: its reads hold at most half of this
        /// (one is computed while the next arrives), and a window holding more than half runs
        /// alone (with all of its readings, as a single run does).
        public var batchRows = 100_000
        /// Regular windows created per pipeline and step (catching up after a long stop).
        public var maxWindowsPerStep = 1_000
        /// Finished runs older than this leave the run history (their results stay in the sink); nil
        /// keeps them forever. A window whose runs are gone counts as never run, so late data still
        /// re-runs it when backfill is on.
        public var runRetention: Duration? = .seconds(90 * 86_400)
        /// How long the scheduler lease lasts without renewal (a stopped holder is replaced after this).
        public var leaseDuration: Duration = .seconds(15)
        public var mqlOptions = MQLOptions()
        /// Whether a run reads only the fields its stages can read (`MQLDependencies`) rather than
        /// whole readings. The results are the same either way; off is for comparing the two.
        public var readsOnlyNeededFields = true

        public init() {}
    }

    public typealias Store = ReadingQueries & PipelineStore

    /// A run being executed; the runs of one batch share the task and the flag.
    struct InFlight {
        var task: Task<Void, Never>
        var cancel: CancelFlag
        /// Runs in its batch: the batch may take the execution timeout once per window, the time
        /// its windows had one by one.
        var windows = 1
    }

    let store: any Store
    var executor: PipelineExecutor
    let clock: any FerryClock
    let options: Options
    let logger: Logger
    var inFlight: [String: InFlight] = [:]
    /// Batches executing now (what `maxConcurrentRuns` limits).
    var executions = 0
    var recovered = false
    var schedules: [String: CronSchedule] = [:]
    /// The loop's sleep between steps, while it sleeps: `stop()` and `wake()` cut it short.
    var sleeper: Task<Void, Never>?
    /// A `wake()` that came during a step, when there was no sleep to cut: the next sleep is skipped.
    var wakeRequested = false
    var lastPrune: Int64?
    /// How often the invalidation log and the run history are pruned.
    static let pruneInterval: Duration = .seconds(60)
    /// This scheduler's lease owner id.
    let identity = UUID().uuidString.lowercased()
    /// nil until the first step; false while standing by.
    var holdsLease: Bool?
    /// When this scheduler last took or renewed its lease (its clock's milliseconds).
    var leaseRenewedAt: Int64?
    /// Set by `stop()` (or when `run()`'s task is cancelled): no more steps, and a run cut short
    /// now has its window re-created rather than failed.
    var stopping = false

    public init(
        store: any Store, operators: MQLOperatorRegistry, clock: any FerryClock = SystemClock(),
        options: Options = Options(), logger: Logger = Logger(label: "ferry.pipelines")
    ) {
        self.store = store
        var executor = PipelineExecutor(
            store: store, operators: operators, maxOutputDocuments: options.maxOutputDocuments, mqlOptions: options.mqlOptions)
        executor.readsOnlyNeededFields = options.readsOnlyNeededFields
        self.executor = executor
        self.clock = clock
        self.options = options
        self.logger = logger
    }

    /// Steps every `pollInterval` (or sooner when `wake()` is called) until `stop()` is called or the
    /// task is cancelled. Then the runs in flight finish (after `stop()`) or are cut short (once the
    /// task is cancelled; their windows are re-created), and the lease is handed back, so another
    /// replica or the restarted server takes over at once instead of waiting for it to expire.
    public func run() async {
        logger.info(
            "pipeline scheduler started",
            metadata: [
                "start_delay": "\(options.startDelay)", "timeout": "\(options.executionTimeout)",
                "backfill_throttle": "\(options.backfillThrottle)", "poll": "\(options.pollInterval)",
            ])
        while !Task.isCancelled && !stopping {
            do {
                try await step()
            } catch {
                logger.error("pipeline scheduler step failed (will retry): \(error)")
            }
            if let afterStep { await afterStep() }
            // A stop() or wake() during the step found no sleep to cut short; sleeping now would
            // miss it for a whole poll interval (for ever on a test's manual clock).
            if stopping || Task.isCancelled { break }
            if wakeRequested {
                wakeRequested = false
                continue
            }
            let sleeper = Task { [clock, options] in await clock.sleep(for: options.pollInterval) }
            self.sleeper = sleeper
            await withTaskCancellationHandler { await sleeper.value } onCancel: { sleeper.cancel() }
            self.sleeper = nil
        }
        stopping = true
        await endRunsInFlight()
        if holdsLease == true {
            // Not cancelled with this task: the lease must be handed back even when the task was.
            let (store, identity, now) = (store, identity, clock.now().unixMilliseconds)
            await Task { _ = try? await store.acquireSchedulerLease(owner: identity, now: now, duration: 0) }.value
            holdsLease = false
            PipelineMetrics.lease(held: false)
        }
        logger.info("pipeline scheduler stopped")
    }

    /// Ends `run()` gracefully: no new steps or runs; the runs in flight may finish.
    public func stop() {
        stopping = true
        sleeper?.cancel()
    }

    /// Waits for the runs in flight; cuts them short when this task is (or gets) cancelled.
    func endRunsInFlight() async {
        let flags = inFlight.values.map(\.cancel)
        if !flags.isEmpty { logger.info("waiting for \(flags.count) pipeline runs in flight") }
        if Task.isCancelled { for flag in flags { flag.cancel() } }
        await withTaskCancellationHandler { await waitForRuns() } onCancel: { for flag in flags { flag.cancel() } }
    }

    /// Tests: a hook awaited before each run reads its data.
    func setBeforeRun(_ hook: @escaping @Sendable (PipelineRunRecord) async -> Void) { executor.beforeRun = hook }

    /// Tests: a hook told the row count of each read a batch makes.
    func setAfterRead(_ hook: @escaping @Sendable (Int) -> Void) { executor.afterRead = hook }

    /// Tests: a hook `run()` awaits after each step, before it sleeps.
    var afterStep: (@Sendable () async -> Void)?
    func setAfterStep(_ hook: @escaping @Sendable () async -> Void) { afterStep = hook }

    /// Ends the current sleep early (after a definition changed in this process).
    public func wake() {
        if let sleeper { sleeper.cancel() } else { wakeRequested = true }
    }

    /// Waits until every run this scheduler started has finished (tests, shutdown).
    public func waitForRuns() async {
        while let running = inFlight.first?.value { await running.task.value }
    }

    /// How many runs this scheduler is executing now.
    public var runningCount: Int { inFlight.count }

    /// One pass: plan every pipeline, enforce timeouts, start what is due.
    public func step() async throws {
        let now = clock.now().unixMilliseconds
        let lease = max(options.leaseDuration, options.pollInterval * 3).inMilliseconds
        // Renewing is a durable write; steps that follow each other quickly (a backfill's) keep a
        // lease taken less than a tenth of its duration ago, so it always has 90% of it left.
        let renewedRecently = holdsLease == true && leaseRenewedAt.map { $0 <= now && now - $0 < lease / 10 } ?? false
        if !renewedRecently, try await !store.acquireSchedulerLease(owner: identity, now: now, duration: lease) {
            leaseRenewedAt = nil
            if holdsLease != false {
                logger.warning("another pipeline scheduler holds this store's lease (another process on the data directory, or another replica on the database); standing by until it expires")
            }
            holdsLease = false
            recovered = false
            PipelineMetrics.lease(held: false)
            return
        }
        if !renewedRecently { leaseRenewedAt = now }
        holdsLease = true
        PipelineMetrics.lease(held: true)
        if !recovered {
            try await recoverOrphans(now: now)
            recovered = true
        }
        let pipelines = try await store.pipelines(organizationID: nil)
        let activeBefore = Dictionary(grouping: try await store.activeRuns(), by: \.pipelineID)
        for pipeline in pipelines where pipeline.enabled {
            do {
                try await plan(pipeline, now: now, active: activeBefore[pipeline.id] ?? [])
            } catch {
                logger.error("planning pipeline \(pipeline.id) (\(pipeline.name)) failed: \(error)")
            }
        }
        // Planning only adds SCHEDULED runs, so the STARTED ones read before it are the ones to time.
        try await enforceTimeouts(activeBefore.values.flatMap { $0 }, now: now)
        // Read again: planning and timeouts may have created runs, which can start in this same step.
        let active = try await store.activeRuns()
        try await startDue(active, pipelines: pipelines, now: now)
        PipelineMetrics.backfillWindowsLeft(active.filter { $0.kind == .backfill && $0.status == .scheduled }.count)
        if lastPrune.map({ now - $0 >= Self.pruneInterval.inMilliseconds }) ?? true {
            lastPrune = now
            _ = try await store.pruneInvalidations()
            if let retention = options.runRetention {
                let pruned = try await store.pruneRuns(endedBefore: now - retention.inMilliseconds)
                if pruned > 0 { logger.debug("run history pruned", metadata: ["runs": "\(pruned)"]) }
            }
        }
    }

    // MARK: Planning

    func schedule(_ text: String) throws -> CronSchedule {
        if let cached = schedules[text] { return cached }
        let parsed = try CronSchedule(text)
        schedules[text] = parsed
        return parsed
    }

    func newRun(_ pipeline: PipelineRecord, _ window: SinkWindow, _ kind: PipelineRunKind, notBefore: Int64, now: Int64)
        -> PipelineRunRecord
    {
        PipelineRunRecord(
            id: UUID().uuidString.lowercased(), pipelineID: pipeline.id, organizationID: pipeline.organizationID, window: window,
            kind: kind, notBefore: notBefore, createdAt: now)
    }

    /// Creates the runs that became due for one pipeline and saves its progress with them.
    func plan(_ pipeline: PipelineRecord, now: Int64, active: [PipelineRunRecord]) async throws {
        let cron = try schedule(pipeline.schedule)
        var next = pipeline
        var runs: [PipelineRunRecord] = []

        // Regular windows: [previous tick, tick) for every tick that has passed.
        while runs.count < options.maxWindowsPerStep, let tick = cron.next(after: next.scheduledThrough), tick <= now {
            runs.append(
                newRun(
                    pipeline, SinkWindow(start: next.scheduledThrough, end: tick), .scheduled, notBefore: tick + options.startDelay.inMilliseconds,
                    now: now))
            next.scheduledThrough = tick
        }

        // Backfill: the next batch once the previous one finished and the throttle passed.
        if let cursor = next.backfillCursor, !active.contains(where: { $0.kind == .backfill }) {
            if next.backfillNextAt == nil, options.backfillThrottle == .zero {
                next.backfillNextAt = now
            } else if next.backfillNextAt == nil {
                // The throttle counts from the end of the previous batch, not from when this step noticed it.
                let recent = try await store.runs(pipelineID: pipeline.id, before: nil, limit: 50)
                let finished = recent.filter { $0.kind == .backfill }.compactMap(\.endedAt).max() ?? now
                next.backfillNextAt = finished + options.backfillThrottle.inMilliseconds
            }
            if let at = next.backfillNextAt, now >= at {
                let earliest = try await store.earliestData(organizationID: pipeline.organizationID, source: pipeline.source)
                // No data at all: nothing to backfill.
                let floor = max(next.backfillFloor ?? .min, earliest ?? .max)
                var end = cursor
                var made = 0
                while made < options.backfillBatchSize, end > floor, let start = cron.previous(before: end) {
                    runs.append(newRun(pipeline, SinkWindow(start: start, end: end), .backfill, notBefore: now, now: now))
                    end = start
                    made += 1
                }
                next.backfillCursor = end > floor ? end : nil
                if next.backfillCursor == nil { next.backfillFloor = nil }
                next.backfillNextAt = nil
                if made > 0 {
                    logger.debug(
                        "backfill batch", metadata: ["pipeline": "\(pipeline.id)", "windows": "\(made)", "down_to": "\(ISODate.string(end))"])
                }
            }
        }

        if pipeline.enableBackfill {
            try await planLateData(pipeline, cron: cron, next: &next, runs: &runs, active: active, now: now)
        }

        guard next != pipeline || !runs.isEmpty else { return }
        if try await !store.savePipeline(next, expectedRevision: pipeline.revision, newRuns: runs, dropSink: false) {
            logger.debug("pipeline \(pipeline.id) changed while planning; planning again next step")
        }
    }

    /// Late data: for each new invalidation-log entry, re-run the windows it touched that already
    /// ran (or are running), and run windows that never had a run (older than the data seen at
    /// creation). Windows with a SCHEDULED run, and windows backfill has still to reach, need nothing.
    func planLateData(
        _ pipeline: PipelineRecord, cron: CronSchedule, next: inout PipelineRecord, runs: inout [PipelineRunRecord],
        active: [PipelineRunRecord], now: Int64
    ) async throws {
        let entries = try await store.invalidations(
            organizationID: pipeline.organizationID, source: pipeline.source.invalidationKey, after: next.invalidationCursor,
            limit: 500)
        guard !entries.isEmpty else { return }
        var pending = Set(active.filter { $0.status == .scheduled }.map(\.window))
        pending.formUnion(runs.map(\.window))
        for entry in entries {
            next.invalidationCursor = entry.id
            let upper = min(entry.range.end, next.scheduledThrough)
            guard entry.range.start < upper else { continue }
            let touched = SinkWindow(start: entry.range.start, end: upper)
            let existing = try await store.latestRuns(pipelineID: pipeline.id, overlapping: touched)
            for (window, run) in existing.sorted(by: { $0.key.start > $1.key.start })
            where run.status != .scheduled && !pending.contains(window) && window.end <= next.scheduledThrough {
                runs.append(newRun(pipeline, window, .rerun, notBefore: now, now: now))
                pending.insert(window)
            }
            // Windows of the current schedule that never ran.
            let known = existing.keys.sorted { $0.start < $1.start }
            var k = 0
            var start = cron.previous(atOrBefore: touched.start)
            while let s = start, s < touched.end, let e = cron.next(after: s), e <= next.scheduledThrough {
                let window = SinkWindow(start: s, end: e)
                while k < known.count, known[k].end <= s { k += 1 }
                let overlapsKnown = k < known.count && known[k].start < e
                let backfillWillRunIt = next.backfillCursor.map { e <= $0 } ?? false
                if !overlapsKnown, !backfillWillRunIt, !pending.contains(window) {
                    runs.append(newRun(pipeline, window, .rerun, notBefore: now, now: now))
                    pending.insert(window)
                }
                start = e
            }
        }
    }

    // MARK: Timeouts and recovery

    func retryRun(of run: PipelineRunRecord, now: Int64) -> PipelineRunRecord {
        PipelineRunRecord(
            id: UUID().uuidString.lowercased(), pipelineID: run.pipelineID, organizationID: run.organizationID, window: run.window,
            kind: .retry, notBefore: now, createdAt: now)
    }

    func recoverOrphans(now: Int64) async throws {
        for run in try await store.activeRuns() where run.status == .started && inFlight[run.id] == nil {
            let retry = retryRun(of: run, now: now)
            if try await store.failRun(
                id: run.id,
                message: "the server stopped while this run was in progress; its window was re-created as run \(retry.id)",
                now: now, retry: retry)
            {
                logger.warning("run cut short by a restart re-created", metadata: ["run": "\(run.id)", "retry": "\(retry.id)"])
            }
        }
    }

    func enforceTimeouts(_ active: [PipelineRunRecord], now: Int64) async throws {
        let timeout = options.executionTimeout.inMilliseconds
        for run in active where run.status == .started {
            guard let started = run.startedAt else { continue }
            if let mine = inFlight[run.id] {
                guard now >= started + timeout * Int64(mine.windows) else { continue }
                mine.cancel.cancel()
                let batch = mine.windows > 1 ? " per window (\(mine.windows) windows ran together)" : ""
                _ = try await store.failRun(
                    id: run.id,
                    message:
                        "timed out: still running after the execution timeout of \(timeout / 1000) s\(batch). Narrow the query (a leading $match on indexed fields), shorten the window, or raise --pipeline-timeout",
                    now: now, retry: nil)
                PipelineMetrics.finished(run, status: "timed_out", now: now)
                logger.warning("run timed out", metadata: ["run": "\(run.id)", "pipeline": "\(run.pipelineID)"])
            } else if now >= started + 2 * timeout {
                let retry = retryRun(of: run, now: now)
                _ = try await store.failRun(
                    id: run.id,
                    message:
                        "hung: STARTED for more than twice the execution timeout (\(2 * timeout / 1000) s) without finishing; its window was re-created as run \(retry.id)",
                    now: now, retry: retry)
                PipelineMetrics.finished(run, status: "hung", now: now)
                logger.warning("hung run re-created", metadata: ["run": "\(run.id)", "retry": "\(retry.id)"])
            }
        }
    }

    // MARK: Starting runs

    func startDue(_ active: [PipelineRunRecord], pipelines: [PipelineRecord], now: Int64) async throws {
        let enabled = Dictionary(uniqueKeysWithValues: pipelines.filter(\.enabled).map { ($0.id, $0) })
        var started = Dictionary(grouping: active.filter { $0.status == .started }, by: \.pipelineID)
        func limited(_ run: PipelineRunRecord) -> Bool { run.kind == .backfill || run.kind == .rerun }
        let due = active.filter { $0.status == .scheduled && $0.notBefore <= now && enabled[$0.pipelineID] != nil }
        // Regular windows first, oldest first; then backfill and late data, newest window first.
        let ordered =
            due.filter { !limited($0) }.sorted { $0.window.start < $1.window.start }
            + due.filter(limited).sorted { $0.window.start > $1.window.start }
        var batches: [[PipelineRunRecord]] = []
        /// Per pipeline and kind of order, the batch a following window may join.
        var open: [String: Int] = [:]
        for run in ordered {
            let running = started[run.pipelineID] ?? []
            // Two runs of one window at once could finish in the wrong order; the later one waits.
            if running.contains(where: { $0.window.start < run.window.end && $0.window.end > run.window.start }) { continue }
            if limited(run), running.filter(limited).count >= options.backfillBatchSize { continue }
            let key = "\(run.pipelineID)/\(limited(run))"
            // Joins the open batch if its window follows the batch's last one (in the batch's order).
            if let index = open[key], let last = batches[index].last, batches[index].count < options.maxBatchWindows,
                limited(run) ? run.window.end == last.window.start : run.window.start == last.window.end
            {
                batches[index].append(run)
            } else {
                guard executions + batches.count < options.maxConcurrentRuns else { continue }
                open[key] = batches.count
                batches.append([run])
            }
            var startedRun = run
            startedRun.status = .started
            startedRun.startedAt = now
            started[run.pipelineID, default: []].append(startedRun)
        }
        guard !batches.isEmpty else { return }
        // One claim for everything this step starts.
        let claimed = try await store.startRuns(ids: batches.flatMap { $0.map(\.id) }, now: now)
        for batch in batches {
            let runs = batch.filter { claimed.contains($0.id) }.map { run in
                var run = run
                run.status = .started
                run.startedAt = now
                return run
            }
            guard let first = runs.first, let pipeline = enabled[first.pipelineID] else { continue }
            launch(runs, pipeline)
        }
    }

    func launch(_ runs: [PipelineRunRecord], _ pipeline: PipelineRecord) {
        let cancel = CancelFlag()
        let (executor, maxRows) = (self.executor, options.batchRows)
        let task = Task {
            // Each batch is a trace of its own (the scheduler's step is not its cause).
            await withSpan("pipeline run", context: .topLevel) { span in
                span.attributes["ferry.pipeline"] = pipeline.name
                span.attributes["ferry.run"] = runs[0].id
                span.attributes["ferry.runs"] = runs.count
                span.attributes["ferry.kind"] = runs[0].kind.rawValue
                let outcomes = await executor.executeBatch(runs, of: pipeline, maxRows: maxRows, cancel: cancel)
                for case .failure(let error) in outcomes { span.recordError(error) }
                await self.finish(runs, pipeline, outcomes)
            }
        }
        executions += 1
        for run in runs { inFlight[run.id] = InFlight(task: task, cancel: cancel, windows: runs.count) }
    }

    /// Records how each run of a batch ended: the completions and failures in one store
    /// transaction; runs cut short by a shutdown failed with their windows re-created.
    func finish(_ runs: [PipelineRunRecord], _ pipeline: PipelineRecord, _ outcomes: [Result<[BSONDocument], any Error>]) async {
        defer {
            executions -= 1
            for run in runs { inFlight[run.id] = nil }
        }
        let now = clock.now().unixMilliseconds
        var endings: [PipelineRunEnding] = []
        var cutShort: [PipelineRunRecord] = []
        for (run, outcome) in zip(runs, outcomes) {
            switch outcome {
            case .success(let documents):
                endings.append(PipelineRunEnding(run: run, outcome: .completed(documents)))
            case .failure(PipelineRunError.cancelled) where stopping:
                cutShort.append(run)
            case .failure(let error):
                let message =
                    if let error = error as? MQLError { "MQL stage failed: \(error)" } else { "\(error)" }
                endings.append(PipelineRunEnding(run: run, outcome: .failed(message)))
            }
        }
        do {
            let finished = try await store.finishRuns(endings, now: now)
            for ending in endings {
                let run = ending.run
                switch finished[run.id] {
                case .completed:
                    PipelineMetrics.finished(run, status: "succeeded", now: now)
                    if case .completed(let documents) = ending.outcome {
                        logger.debug(
                            "run completed",
                            metadata: ["run": "\(run.id)", "pipeline": "\(pipeline.name)", "documents": "\(documents.count)"])
                    }
                case .failed:
                    PipelineMetrics.finished(run, status: "failed", now: now)
                    if case .failed(let message) = ending.outcome {
                        logger.info("run failed", metadata: ["run": "\(run.id)", "pipeline": "\(pipeline.name)", "error": "\(message)"])
                    }
                case .unstorable(let error):
                    if try await store.failRun(id: run.id, message: error.message, now: now, retry: nil) {
                        PipelineMetrics.finished(run, status: "failed", now: now)
                    }
                case .notActive, nil:
                    break
                }
            }
        } catch {
            // The store itself failed; the runs stay STARTED and the hung-run rule re-creates them.
            logger.error("recording the end of \(endings.count) runs of pipeline \(pipeline.name) failed: \(error)")
        }
        for run in cutShort {
            let retry = retryRun(of: run, now: now)
            do {
                if try await store.failRun(
                    id: run.id, message: "the server stopped while this run was in progress; its window was re-created as run \(retry.id)",
                    now: now, retry: retry)
                {
                    logger.info("run cut short by the shutdown re-created", metadata: ["run": "\(run.id)", "retry": "\(retry.id)"])
                }
            } catch {
                logger.error("recording the end of run \(run.id) failed: \(error)")
            }
        }
    }
}

/// The scheduler's metrics, named as Prometheus likes: runs by how they ended and how long they
/// took, backfill windows still waiting, and whether this process holds the scheduler lease.
enum PipelineMetrics {
    static func finished(_ run: PipelineRunRecord, status: String, now: Int64) {
        Counter(label: "ferry_pipeline_runs_total", dimensions: [("status", status), ("kind", run.kind.rawValue)]).increment()
        if let started = run.startedAt {
            Metrics.Timer(label: "ferry_pipeline_run_duration_seconds").recordMilliseconds(max(0, now - started))
        }
    }
    static func lease(held: Bool) { Gauge(label: "ferry_pipeline_scheduler_lease_held").record(held ? 1 : 0) }
    static func backfillWindowsLeft(_ count: Int) { Gauge(label: "ferry_pipeline_backfill_windows_left").record(count) }
}
