import Dispatch
import FerryBSON
import FerryMQL
import FerryStore
import Synchronization

/// Runs one pipeline run: reads the window's data from the store, runs the user's stages, and
/// returns the result documents stamped with `_viam_pipeline_run`. It does not write anything.
///
/// The window constraint `time_received ∈ [start, end)` (and the organisation) is what Viam
/// prepends to the user's stages; here it is merged into the pushdown of the user's leading
/// `$match`, so it reaches SQL and its `(organization_id, time_received)` indexes directly while
/// error messages keep the user's stage numbers.
public struct PipelineExecutor: Sendable {
    public let store: any ReadingQueries & PipelineStore
    public let operators: MQLOperatorRegistry
    public var maxOutputDocuments: Int
    public var mqlOptions: MQLOptions
    /// Read only the fields the stages can read (`MQLDependencies`), not whole readings.
    public var readsOnlyNeededFields = true
    /// A seam for tests: awaited before a run reads its data (to hold a run "in progress").
    var beforeRun: (@Sendable (PipelineRunRecord) async -> Void)?
    /// A seam for tests: told how many readings each read of a batch returned.
    var afterRead: (@Sendable (Int) -> Void)?

    public init(
        store: any ReadingQueries & PipelineStore, operators: MQLOperatorRegistry, maxOutputDocuments: Int = 10_000,
        mqlOptions: MQLOptions = .init()
    ) {
        self.store = store
        self.operators = operators
        self.maxOutputDocuments = maxOutputDocuments
        self.mqlOptions = mqlOptions
    }

    /// The documents `run` produces. `cancel` stops the engine early (a timed-out run).
    public func execute(_ run: PipelineRunRecord, of pipeline: PipelineRecord, cancel: CancelFlag = CancelFlag()) async throws
        -> [BSONDocument]
    {
        if let beforeRun { await beforeRun(run) }
        let mql = try MQLPipeline(stages: pipeline.stages, registry: operators, options: mqlOptions)
        return try await executeAlone(run, of: pipeline, mql: mql, cancel: cancel)
    }

    /// Runs a batch of runs of one pipeline in one pass and returns each one's outcome, in the
    /// order of `runs`. Readings are read once over the span of the batch's windows, in reads of
    /// whole windows ordered by time of at most `maxRows / 2` rows (one is computed while the next
    /// arrives), and each read is split at the window edges (a window holds
    /// `start ≤ time_received < end`); the stages then run per window in memory. A window with
    /// more than `maxRows / 2` readings is run alone with its own unbounded read, as a single run
    /// always was (and so is a batch of one). Runs meant to be batched have windows that follow each
    /// other; a window's rows are never given to another window. Once an error stops the pass (a
    /// failed read, cancellation), every run without an outcome gets that error; windows that
    /// finished keep theirs.
    public func executeBatch(
        _ runs: [PipelineRunRecord], of pipeline: PipelineRecord, maxRows: Int, cancel: CancelFlag = CancelFlag()
    ) async -> [Result<[BSONDocument], any Error>] {
        if let beforeRun {
            // Concurrently, as when each run was its own task: a test holding runs sees all of them.
            await withTaskGroup(of: Void.self) { group in
                for run in runs { group.addTask { await beforeRun(run) } }
            }
        }
        var outcomes: [String: Result<[BSONDocument], any Error>] = [:]
        do {
            let mql = try MQLPipeline(stages: pipeline.stages, registry: operators, options: mqlOptions)
            var paged = runs.count > 1
            // A sink's windows are few and small (one document per upstream window and group).
            if case .pipelineSink = pipeline.source { paged = false }
            if !paged {
                // One window reads its own rows in one go, bounded or not, as a single run always did.
                for run in runs {
                    if cancel.isCancelled { throw PipelineRunError.cancelled }
                    outcomes[run.id] = await attempt { try await executeAlone(run, of: pipeline, mql: mql, cancel: cancel) }
                }
            } else {
                try await executeByPages(runs, of: pipeline, mql: mql, maxRows: max(1, maxRows), cancel: cancel, outcomes: &outcomes)
            }
        } catch {
            for run in runs where outcomes[run.id] == nil { outcomes[run.id] = .failure(error) }
        }
        return runs.map { outcomes[$0.id] ?? .failure(PipelineRunError.cancelled) }
    }

    /// The readings source's leading `$match` as a store filter (plus what is left of it for the
    /// engine), and the stages the engine runs after it.
    private func pushdown(_ mql: MQLPipeline) throws -> (filter: ReadingFilter, residual: MQLPipeline?, engine: MQLPipeline) {
        let leading = mql.stages.prefix { $0.count == 1 && $0.keys.first == "$match" }.count
        guard leading > 0, let match = mql.leadingMatch else { return (ReadingFilter(), nil, mql) }
        let (filter, residual) = MatchPushdown.split(match)
        let residualStage = try residual.map {
            try MQLPipeline(stages: [["$match": .document($0)]], registry: operators, options: mqlOptions)
        }
        return (filter, residualStage, try mql.droppingLeadingStages(leading))
    }

    /// One run on its own: the window's whole input in one read (of the fields the stages read).
    private func executeAlone(_ run: PipelineRunRecord, of pipeline: PipelineRecord, mql: MQLPipeline, cancel: CancelFlag) async throws
        -> [BSONDocument]
    {
        let window = run.window
        var engine = mql
        let input: [BSONDocument]
        switch pipeline.source {
        case .standard, .hotStorage:
            let pushed = try pushdown(mql)
            var filter = pushed.filter
            engine = pushed.engine
            filter.timeReceived.atLeast(window.start)
            filter.timeReceived.lessThan(window.end)
            var documents = try await store.readings(
                organizationID: run.organizationID, source: pipeline.source == .hotStorage ? .hotStorage : .standard,
                filter: filter, sortByTimeDescending: false, limit: nil, fields: inputFields(residual: pushed.residual, engine: engine))
            if let residual = pushed.residual { documents = try residual.run(documents) }
            input = documents
        case .pipelineSink(let upstream):
            // A downstream window takes each upstream window whose start lies in it, whole.
            let documents = try await store.sinkDocuments(
                organizationID: run.organizationID, pipelineID: upstream, window: window, limit: nil)
            input = documents.filter { document in
                guard case .document(let meta)? = document["_viam_pipeline_run"],
                    case .document(let interval)? = meta["interval"], case .datetime(let start)? = interval["start"]
                else { return false }
                return start >= window.start && start < window.end
            }
        }
        let stages = engine
        let results = try await Self.offPool { try self.runEngine(stages, input, cancel: cancel, pipeline: pipeline, run: run) }
        return results.map { stamp($0, run) }
    }

    /// The batch over a readings source, in reads of whole windows: each read covers as many
    /// windows as hold about `readRows` readings (judged from the windows read so far) and at
    /// most `maxRows / 2`, and is asked for before the stages of the read before it run, so the
    /// store reads while this process computes and at most `maxRows` readings are held at once.
    private func executeByPages(
        _ runs: [PipelineRunRecord], of pipeline: PipelineRecord, mql: MQLPipeline, maxRows: Int, cancel: CancelFlag,
        outcomes: inout [String: Result<[BSONDocument], any Error>]
    ) async throws {
        // Runs of the same window (should two be batched) share its input.
        let byWindow = Dictionary(grouping: runs, by: \.window)
        let windows = byWindow.keys.sorted { ($0.start, $0.end) < ($1.start, $1.end) }
        let (baseFilter, residual, engine) = try pushdown(mql)
        let source: ReadingSource = pipeline.source == .hotStorage ? .hotStorage : .standard
        let organizationID = runs[0].organizationID
        // Only the fields the stages read leave the store.
        let fields = inputFields(residual: residual, engine: engine)
        let (store, afterRead) = (self.store, self.afterRead)
        let readLimit = max(1, maxRows / 2)
        /// Windows `range`'s readings, at most `readLimit` of them and one more that says whether
        /// there were more.
        func read(_ range: Range<Int>) -> Task<(documents: [BSONDocument], cursors: [ReadingCursor]), any Error> {
            var filter = baseFilter
            filter.timeReceived.atLeast(windows[range.lowerBound].start)
            filter.timeReceived.lessThan(windows[range.upperBound - 1].end)
            let span = filter
            return Task {
                let page = try await store.fetchReadings(
                    organizationID: organizationID, source: source, filter: span, descending: false, after: nil, limit: readLimit + 1,
                    fields: fields)
                afterRead?(page.documents.count)
                return page
            }
        }
        var next = 0
        // Until the first read says how full windows are, a few of them.
        var span = min(windows.count, Self.firstReadWindows)
        var pending: (range: Range<Int>, task: Task<(documents: [BSONDocument], cursors: [ReadingCursor]), any Error>)? =
            (0..<span, read(0..<span))
        defer { pending?.task.cancel() }
        while let current = pending {
            pending = nil
            if cancel.isCancelled { throw PipelineRunError.cancelled }
            let page = try await current.task.value
            var complete = current.range.upperBound
            var rows = page.documents.count
            if page.documents.count > readLimit {
                // Every reading before the extra row's time is in the page: the windows ending at or
                // before it are whole; the one holding it is read again by the next read.
                let frontier = page.cursors[readLimit].timeReceived
                complete = next
                while complete < current.range.upperBound, windows[complete].end <= frontier { complete += 1 }
                rows = readLimit
            }
            if complete == next {
                // More than `readLimit` readings in one window: it runs alone (this page is read
                // again as part of its own read, a bounded waste once per such window).
                for run in byWindow[windows[next]]! {
                    outcomes[run.id] = await attempt { try await executeAlone(run, of: pipeline, mql: mql, cancel: cancel) }
                }
                next += 1
                if next < windows.count { pending = (next..<next + 1, read(next..<next + 1)) }
                continue
            }
            // Split the page at the window edges: rows are in time order, and so are the windows.
            var inputs: [(SinkWindow, [BSONDocument])] = []
            var w = next
            var currentInput: [BSONDocument] = []
            for i in 0..<rows {
                let time = page.cursors[i].timeReceived
                while w < complete, time >= windows[w].end {
                    inputs.append((windows[w], currentInput))
                    currentInput = []
                    w += 1
                }
                guard w < complete else { break }
                if time >= windows[w].start { currentInput.append(page.documents[i]) }
            }
            while w < complete {
                inputs.append((windows[w], currentInput))
                currentInput = []
                w += 1
            }
            // The next read goes out before this one's stages run.
            let perWindow = max(1, rows / (complete - next))
            span = max(1, min(Self.readRows, readLimit) / perWindow)
            next = complete
            if next < windows.count {
                let range = next..<min(windows.count, next + span)
                pending = (range, read(range))
            }
            let work = inputs.flatMap { window, input in byWindow[window]!.map { ($0, input) } }
            let results = try await Self.offPool {
                try work.map { run, input in
                    if cancel.isCancelled { throw PipelineRunError.cancelled }
                    return (
                        run.id,
                        Result { () throws -> [BSONDocument] in
                            let filtered = try residual?.run(input) ?? input
                            return try self.runEngine(engine, filtered, cancel: cancel, pipeline: pipeline, run: run).map { self.stamp($0, run) }
                        }
                    )
                }
            }
            for (id, result) in results {
                // A cancelled engine stops the whole pass, not only its window.
                if case .failure(PipelineRunError.cancelled) = result { throw PipelineRunError.cancelled }
                outcomes[id] = result
            }
        }
    }

    /// Windows of a batch's first read, before any read says how many readings a window holds.
    static let firstReadWindows = 8
    /// Readings a batch's read aims at: a page small enough to compute while the next is read.
    static let readRows = 10_000

    /// What the engine reads of each input document: what its stages read after the leading
    /// `$match`, whose pushed-down part the store answers (so a field only it tests never leaves
    /// the store).
    private func inputFields(residual: MQLPipeline?, engine: MQLPipeline) -> BSONFieldSet {
        readsOnlyNeededFields ? MQLDependencies.fields(of: (residual?.stages ?? []) + engine.stages) : .everything
    }

    /// `body`'s result or error, as a value.
    private func attempt(_ body: () async throws -> [BSONDocument]) async -> Result<[BSONDocument], any Error> {
        do { return .success(try await body()) } catch { return .failure(error) }
    }

    /// The engine is synchronous CPU work: run it on a Dispatch thread, not on the cooperative
    /// pool, so that long runs never starve the gRPC server or each other of executor threads.
    static func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global(qos: .utility).async {
                continuation.resume(with: Result { try body() })
            }
        }
    }

    private func runEngine(
        _ engine: MQLPipeline, _ input: [BSONDocument], cancel: CancelFlag, pipeline: PipelineRecord, run: PipelineRunRecord
    ) throws -> [BSONDocument] {
        var index = 0
        var cursor = engine.stream(context: MQLContext()) {
            if index & 1023 == 0, cancel.isCancelled { throw PipelineRunError.cancelled }
            guard index < input.count else { return nil }
            defer { index += 1 }
            return input[index]
        }
        var out: [BSONDocument] = []
        while let document = try cursor.next() {
            out.append(document)
            if out.count > maxOutputDocuments {
                throw PipelineRunError.tooManyDocuments(limit: maxOutputDocuments, pipeline: pipeline.name, window: run.window)
            }
            if out.count & 1023 == 0, cancel.isCancelled { throw PipelineRunError.cancelled }
        }
        return out
    }

    private func stamp(_ document: BSONDocument, _ run: PipelineRunRecord) -> BSONDocument {
        var stamped = document
        stamped.elements.removeAll { $0.key == "_viam_pipeline_run" }
        stamped.elements.append(
            BSONElement(
                "_viam_pipeline_run",
                [
                    "id": .string(run.id),
                    "interval": ["start": .datetime(run.window.start), "end": .datetime(run.window.end)],
                    "organization_id": .string(run.organizationID),
                ]))
        return stamped
    }
}

/// Set once to ask a run's engine to stop at its next check.
public final class CancelFlag: Sendable {
    private let flag = Atomic<Bool>(false)

    public init() {}

    public var isCancelled: Bool { flag.load(ordering: .relaxed) }
    public func cancel() { flag.store(true, ordering: .relaxed) }
}

/// Why a run failed, beyond MQL and store errors.
public enum PipelineRunError: Error, CustomStringConvertible, Sendable {
    case tooManyDocuments(limit: Int, pipeline: String, window: SinkWindow)
    case cancelled

    public var description: String {
        switch self {
        case .tooManyDocuments(let limit, let pipeline, let window):
            "pipeline \(pipeline) produced more than \(limit) documents for the window [\(ISODate.string(window.start)), \(ISODate.string(window.end))); nothing was written. Summarise more (a $group, a coarser $dateTrunc, a $limit), shorten the schedule's interval, or raise the server's --pipeline-max-output"
        case .cancelled:
            "the run was stopped before it finished"
        }
    }
}
