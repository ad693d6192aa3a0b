import FerryBSON

/// A pull-based stream of documents: each stage pulls from the one before it.
protocol DocumentSource: AnyObject {
    func next() throws -> BSONDocument?
}

/// A compiled stage: validated and compiled once, opened once per run.
struct CompiledStage: Sendable {
    let index: Int
    let name: String
    let spec: BSON
    /// Wraps the upstream source for one run.
    let open: @Sendable (_ upstream: DocumentSource, _ ctx: EvalContext) -> DocumentSource
}

/// Feeds a Swift iterator (the pipeline's input) into the first stage.
final class IteratorSource<I: IteratorProtocol>: DocumentSource where I.Element == BSONDocument {
    /// Pulled by the run's one thread only (see `EvalContext`): no dynamic exclusivity check per row.
    @exclusivity(unchecked) var iterator: I
    init(_ iterator: I) { self.iterator = iterator }
    func next() throws -> BSONDocument? { iterator.next() }
}

final class ClosureSource: DocumentSource {
    let body: () throws -> BSONDocument?
    init(_ body: @escaping () throws -> BSONDocument?) { self.body = body }
    func next() throws -> BSONDocument? { try body() }
}

final class ArraySource: DocumentSource {
    var docs: [BSONDocument]
    var position = 0
    init(_ docs: [BSONDocument]) { self.docs = docs }
    func next() throws -> BSONDocument? {
        guard position < docs.count else {
            docs = []
            return nil
        }
        defer { position += 1 }
        return docs[position]
    }
}

/// Puts the stage's index and name on errors raised while it runs.
final class AnnotatingSource: DocumentSource {
    let inner: DocumentSource
    let index: Int
    let name: String
    init(_ inner: DocumentSource, index: Int, name: String) {
        self.inner = inner
        self.index = index
        self.name = name
    }
    func next() throws -> BSONDocument? {
        do {
            return try inner.next()
        } catch let e as MQLError {
            throw e.inStage(index, name)
        }
    }
}

/// A source that computes its whole output on the first pull (the blocking stages).
final class BlockingSource: DocumentSource {
    var compute: (() throws -> [BSONDocument])?
    var output: ArraySource?
    init(_ compute: @escaping () throws -> [BSONDocument]) { self.compute = compute }
    func next() throws -> BSONDocument? {
        if let compute {
            self.compute = nil
            output = ArraySource(try compute())
        }
        return try output?.next()
    }
}

/// Counts buffered bytes against the run's memory limit.
struct MemoryBudget {
    let limit: Int
    let stage: String
    var used = 0

    init(limit: Int, stage: String) {
        self.limit = limit
        self.stage = stage
    }

    mutating func add(_ bytes: Int) throws {
        used += bytes
        if used > limit {
            throw mqlError(nil, "exceeded the memory limit of \(limit) bytes while buffering documents for \(stage) (Ferry does not spill to disk); raise MQLOptions.memoryLimitBytes, or filter ($match) or limit the input before \(stage)")
        }
    }

    /// Drains `source`, accounting each document.
    mutating func drain(_ source: DocumentSource) throws -> [BSONDocument] {
        var docs: [BSONDocument] = []
        while let d = try source.next() {
            try add(Values.estimatedSize(d))
            docs.append(d)
        }
        return docs
    }
}

// MARK: Streaming stages

final class MatchSource: DocumentSource {
    let upstream: DocumentSource
    let matcher: Matcher
    let ctx: EvalContext
    init(_ upstream: DocumentSource, _ matcher: @escaping Matcher, _ ctx: EvalContext) {
        self.upstream = upstream
        self.matcher = matcher
        self.ctx = ctx
    }
    func next() throws -> BSONDocument? {
        while let d = try upstream.next() {
            if try matcher(d, ctx) { return d }
        }
        return nil
    }
}

/// One document in, at most one out.
final class MapSource: DocumentSource {
    let upstream: DocumentSource
    let transform: (BSONDocument) throws -> BSONDocument?
    init(_ upstream: DocumentSource, _ transform: @escaping (BSONDocument) throws -> BSONDocument?) {
        self.upstream = upstream
        self.transform = transform
    }
    func next() throws -> BSONDocument? {
        while let d = try upstream.next() {
            if let out = try transform(d) { return out }
        }
        return nil
    }
}

/// One document in, any number out.
final class FlatMapSource: DocumentSource {
    let upstream: DocumentSource
    let transform: (BSONDocument) throws -> [BSONDocument]
    var pending: [BSONDocument] = []
    var position = 0
    init(_ upstream: DocumentSource, _ transform: @escaping (BSONDocument) throws -> [BSONDocument]) {
        self.upstream = upstream
        self.transform = transform
    }
    func next() throws -> BSONDocument? {
        while position >= pending.count {
            guard let d = try upstream.next() else { return nil }
            pending = try transform(d)
            position = 0
        }
        defer { position += 1 }
        return pending[position]
    }
}

final class LimitSource: DocumentSource {
    let upstream: DocumentSource
    var remaining: Int64
    init(_ upstream: DocumentSource, _ limit: Int64) {
        self.upstream = upstream
        remaining = limit
    }
    func next() throws -> BSONDocument? {
        guard remaining > 0 else { return nil }
        remaining -= 1
        return try upstream.next()
    }
}

final class SkipSource: DocumentSource {
    let upstream: DocumentSource
    var toSkip: Int64
    init(_ upstream: DocumentSource, _ skip: Int64) {
        self.upstream = upstream
        toSkip = skip
    }
    func next() throws -> BSONDocument? {
        while toSkip > 0 {
            guard try upstream.next() != nil else { return nil }
            toSkip -= 1
        }
        return try upstream.next()
    }
}

/// A positive integer stage argument ($limit, $skip, $sample.size …).
func integerArgument(_ v: BSON, op: String, what: String, allowZero: Bool) throws -> Int64 {
    guard v.isNumeric, let n = v.exactInt64 else {
        throw mqlError(op, "the \(what) must be specified as a number, and a whole one; found \(Values.describe(v))")
    }
    if allowZero ? n < 0 : n <= 0 {
        throw mqlError(op, "the \(what) must be \(allowZero ? "non-negative" : "positive"), found \(n)")
    }
    return n
}
