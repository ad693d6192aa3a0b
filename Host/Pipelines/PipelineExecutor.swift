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
    /// A seam for tests: awaited before a run reads its data (to hold a run "in progress").
    var beforeRun: (@Sendable (PipelineRunRecord) async -> Void)?

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
        let window = run.window
        var engine = mql
        let input: [BSONDocument]
        switch pipeline.source {
        case .standard, .hotStorage:
            let leading = mql.stages.prefix { $0.count == 1 && $0.keys.first == "$match" }.count
            var filter = ReadingFilter()
            var residual: BSONDocument?
            if leading > 0, let match = mql.leadingMatch {
                (filter, residual) = MatchPushdown.split(match)
                engine = try mql.droppingLeadingStages(leading)
            }
            filter.timeReceived.atLeast(window.start)
            filter.timeReceived.lessThan(window.end)
            var documents = try await store.readings(
                organizationID: run.organizationID, source: pipeline.source == .hotStorage ? .hotStorage : .standard,
                filter: filter, sortByTimeDescending: false, limit: nil)
            if let residual {
                let stage = try MQLPipeline(stages: [["$match": .document(residual)]], registry: operators, options: mqlOptions)
                documents = try stage.run(documents)
            }
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
