import Dispatch
import FerryBSON
import FerryMQL
import FerryStore
import Synchronization

/// Where a stream's input documents come from.
enum StoreInput: Sendable {
    case readings(
        store: any DataStore, organizationID: String, source: ReadingSource, filter: ReadingFilter, descending: Bool, limit: Int?,
        pageSize: Int, fields: BSONFieldSet)
    case sink(store: any DataStore, organizationID: String, pipelineID: String, hints: [DataHint])
    case documents([BSONDocument])
}

/// Results of a query pulled in batches, for cursors that live across requests. The MQL engine
/// pulls its input synchronously while the store answers asynchronously, so the engine runs on the
/// stream's own serial queue (a Dispatch thread, never Swift concurrency's cooperative pool), which
/// waits there for each store page while a task fetches it.
public final class QueryResultStream: @unchecked Sendable {
    // @unchecked: `pullNext`, `lookahead` and `exhausted` are touched only on `queue` (every
    // method that reads them hops there); `closed` is atomic.
    private let queue = DispatchQueue(label: "ferry.query.stream")
    private var pullNext: (() throws -> BSONDocument?)?
    private var lookahead: BSONDocument?
    private var exhausted = false
    private let closed = ClosedFlag()

    /// Results of `stages` (run one after another) over `documents`, e.g. the rows of a SQL query.
    public convenience init(documents: [BSONDocument], then stages: [MQLPipeline]) {
        self.init(input: .documents(documents), stages: stages)
    }

    init(input: StoreInput, stages: [MQLPipeline]) {
        let reader = InputReader(input: input, isClosed: { [closed] in closed.isSet })
        var pull: () throws -> BSONDocument? = { try reader.next() }
        for stage in stages {
            var engine = stage.stream(input: pull)
            pull = { try engine.next() }
        }
        pullNext = pull
    }

    /// Up to `count` more results; fewer only at the end. Throws `MQLError` or `StoreError`.
    public func next(_ count: Int) async throws -> (documents: [BSONDocument], exhausted: Bool) {
        try await withCheckedThrowingContinuation { continuation in
            queue.async {
                continuation.resume(with: Result { try self.pull(count) })
            }
        }
    }

    /// Frees the engine's state; a page fetch in flight ends the stream when it returns.
    public func close() {
        closed.set()
        queue.async {
            self.pullNext = nil
            self.lookahead = nil
            self.exhausted = true
        }
    }

    /// On `queue`: `count` results, and one more looked ahead so that a batch ending exactly at
    /// the last result already says the stream is exhausted.
    private func pull(_ count: Int) throws -> (documents: [BSONDocument], exhausted: Bool) {
        var out: [BSONDocument] = []
        out.reserveCapacity(Swift.min(count, 4_096))
        if count > 0, let lookahead {
            out.append(lookahead)
            self.lookahead = nil
        }
        while out.count < count, !exhausted {
            if let document = try pullNext?() { out.append(document) } else { exhausted = true }
        }
        if !exhausted, lookahead == nil {
            if let extra = try pullNext?() { lookahead = extra } else { exhausted = true }
        }
        let done = exhausted && lookahead == nil
        if done { pullNext = nil }
        return (out, done)
    }
}

/// Reads a stream's input, a store page at a time. Called only on the stream's queue.
final class InputReader: @unchecked Sendable {
    // @unchecked: every field is touched only on the owning stream's serial queue.
    let input: StoreInput
    let isClosed: @Sendable () -> Bool
    private var buffer: [BSONDocument] = []
    private var position = 0
    private var after: ReadingCursor?
    private var fetched = 0
    private var finished = false

    init(input: StoreInput, isClosed: @escaping @Sendable () -> Bool) {
        self.input = input
        self.isClosed = isClosed
    }

    func next() throws -> BSONDocument? {
        while position >= buffer.count {
            guard !finished, !isClosed() else { return nil }
            try fill()
        }
        defer { position += 1 }
        return buffer[position]
    }

    private func fill() throws {
        buffer = []
        position = 0
        switch input {
        case .documents(let documents):
            buffer = documents
            finished = true
        case .sink(let store, let organizationID, let pipelineID, let hints):
            buffer = try Self.wait {
                try await store.sinkDocuments(organizationID: organizationID, pipelineID: pipelineID, hints: hints)
            }
            finished = true
        case .readings(let store, let organizationID, let source, let filter, let descending, let limit, let pageSize, let fields):
            let size = Swift.min(pageSize, limit.map { $0 - fetched } ?? .max)
            guard size > 0 else {
                finished = true
                return
            }
            let page = try Self.wait { [after] in
                try await store.readingsPage(
                    organizationID: organizationID, source: source, filter: filter, sortByTimeDescending: descending, after: after,
                    limit: size, fields: fields)
            }
            buffer = page.documents
            fetched += page.documents.count
            after = page.next
            finished = page.next == nil
        }
    }

    /// Runs `body` in a task and blocks this (Dispatch) thread until it finishes.
    private static func wait<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
        let done = DispatchSemaphore(value: 0)
        let box = ResultBox<T>()
        Task.detached {
            do { box.set(.success(try await body())) } catch { box.set(.failure(error)) }
            done.signal()
        }
        done.wait()
        return try box.get()
    }
}

/// Set once by `close()`, read by the input reader before each page.
final class ClosedFlag: Sendable {
    private let value = Atomic(false)
    var isSet: Bool { value.load(ordering: .acquiring) }
    func set() { value.store(true, ordering: .releasing) }
}

/// A task's result, handed to the thread waiting for it.
final class ResultBox<T: Sendable>: Sendable {
    private let result = Mutex<Result<T, any Error>?>(nil)
    func set(_ value: Result<T, any Error>) { result.withLock { $0 = value } }
    func get() throws -> T { try result.withLock { $0! }.get() }
}
