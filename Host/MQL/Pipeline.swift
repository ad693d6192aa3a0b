import FerryBSON
import Foundation

/// Engine limits and knobs.
public struct MQLOptions: Sendable {
    /// Most bytes a blocking stage (`$group`, `$sort`, `$bucketAuto`, `$setWindowFields`, …) may
    /// buffer before the run fails with a clear error. Ferry never spills to disk and never
    /// truncates silently. MongoDB's default, 100 MiB.
    public var memoryLimitBytes: Int
    /// Seed for `$sample` and `$rand`; nil picks a random one per run.
    public var randomSeed: UInt64?

    public init(memoryLimitBytes: Int = 100 * 1024 * 1024, randomSeed: UInt64? = nil) {
        self.memoryLimitBytes = memoryLimitBytes
        self.randomSeed = randomSeed
    }
}

/// What one run sees of the world.
public struct MQLContext: Sendable {
    /// `$$NOW`, fixed for the whole run.
    public var now: Date
    /// The documents of another collection of the same data source, for `$lookup`.
    public var lookup: (@Sendable (_ collection: String) throws -> [BSONDocument])?

    public init(now: Date = Date(), lookup: (@Sendable (_ collection: String) throws -> [BSONDocument])? = nil) {
        self.now = now
        self.lookup = lookup
    }
}

/// The part of a pipeline a store may run itself: its leading `$match` (consecutive ones merged
/// with `$and`), then a `$sort`, then a `$limit`. `stageCount` is how many leading stages these
/// came from; after running them, call `droppingLeadingStages(stageCount)` for the rest.
public struct MQLPushdown: Sendable, Equatable {
    public var match: BSONDocument?
    public var sort: BSONDocument?
    public var limit: Int64?
    public var stageCount: Int
}

/// A validated, compiled aggregation pipeline. Creating one checks every stage, operator and
/// argument; running it never re-parses anything. Immutable and safe to share between threads;
/// each run has its own state.
public struct MQLPipeline: Sendable {
    /// The stage documents, as given.
    public let stages: [BSONDocument]
    let compiled: CompiledPipeline
    let slotCount: Int
    let options: MQLOptions
    let registry: MQLOperatorRegistry
    let indexOffset: Int

    public init(stages: [BSONDocument], registry: MQLOperatorRegistry = .builtin, options: MQLOptions = .init()) throws {
        try self.init(stages: stages, registry: registry, options: options, indexOffset: 0)
    }

    /// Parses the stages from JSON text (an array of stage objects, Extended JSON allowed).
    public init(json: String, registry: MQLOperatorRegistry = .builtin, options: MQLOptions = .init()) throws {
        let value: BSON
        do {
            value = try BSON(extendedJSON: json)
        } catch {
            throw MQLError(message: "the pipeline is not valid JSON: \(error)")
        }
        guard case .array(let items) = value else {
            throw MQLError(message: "a pipeline must be a JSON array of stages, like [{\"$match\": {…}}]; found \(Values.typeName(value))")
        }
        let stages = try items.enumerated().map { i, item -> BSONDocument in
            guard case .document(let d) = item else {
                throw MQLError(stageIndex: i, message: "each stage must be an object, found \(Values.typeName(item))")
            }
            return d
        }
        try self.init(stages: stages, registry: registry, options: options)
    }

    init(stages: [BSONDocument], registry: MQLOperatorRegistry, options: MQLOptions, indexOffset: Int) throws {
        let compiler = ExprCompiler(registry: registry)
        self.stages = stages
        self.compiled = try CompiledPipeline.compile(stages, compiler, inFacet: false, indexOffset: indexOffset)
        self.slotCount = compiler.slotCount
        self.options = options
        self.registry = registry
        self.indexOffset = indexOffset
    }

    /// Runs the pipeline over `input` and returns every result.
    public func run(_ input: some Sequence<BSONDocument>, context: MQLContext = .init()) throws -> [BSONDocument] {
        var cursor = stream(input, context: context)
        var out: [BSONDocument] = []
        while let d = try cursor.next() { out.append(d) }
        return out
    }

    /// Runs the pipeline lazily: documents are pulled from `input` only as results are pulled.
    public func stream<S: Sequence>(_ input: S, context: MQLContext = .init()) -> MQLCursor where S.Element == BSONDocument {
        MQLCursor(source: open(IteratorSource(input.makeIterator()), context))
    }

    /// Runs the pipeline lazily over a source that may fail (a store reading rows).
    public func stream(context: MQLContext = .init(), input: @escaping () throws -> BSONDocument?) -> MQLCursor {
        MQLCursor(source: open(ClosureSource(input), context))
    }

    private func open(_ source: DocumentSource, _ context: MQLContext) -> DocumentSource {
        let seed = options.randomSeed ?? UInt64.random(in: 0...UInt64.max)
        let now = Int64((context.now.timeIntervalSince1970 * 1000).rounded(.down))
        let environment = RunEnvironment(now: now, lookup: context.lookup, options: options, seed: seed)
        let ctx = EvalContext(slotCount: slotCount, environment: environment)
        return compiled.open(source, ctx)
    }

    /// What a store may run itself; see `MQLPushdown`.
    public var pushdown: MQLPushdown {
        var result = MQLPushdown(match: nil, sort: nil, limit: nil, stageCount: 0)
        var i = 0
        var clauses: [BSON] = []
        while i < stages.count, case .document(let m)? = stages[i]["$match"], stages[i].count == 1 {
            clauses.append(.document(m))
            i += 1
        }
        if clauses.count == 1, case .document(let m) = clauses[0] { result.match = m }
        if clauses.count > 1 { result.match = ["$and": .array(clauses)] }
        if i < stages.count, case .document(let s)? = stages[i]["$sort"], stages[i].count == 1 {
            result.sort = s
            i += 1
        }
        if i < stages.count, let l = stages[i]["$limit"], stages[i].count == 1, let n = l.exactInt64 {
            result.limit = n
            i += 1
        }
        result.stageCount = i
        return result
    }

    /// The leading `$match` filter a store could apply itself (consecutive ones merged).
    public var leadingMatch: BSONDocument? { pushdown.match }

    /// The same pipeline without its first `count` stages (after a store ran them). Error
    /// messages keep the original stage numbers.
    public func droppingLeadingStages(_ count: Int) throws -> MQLPipeline {
        try MQLPipeline(stages: Array(stages.dropFirst(count)), registry: registry, options: options, indexOffset: indexOffset + count)
    }
}

/// Results of a streaming run, pulled one at a time. Not thread-safe: one consumer.
public struct MQLCursor {
    let source: DocumentSource

    public mutating func next() throws -> BSONDocument? {
        try source.next()
    }
}

/// A sequence of compiled stages.
struct CompiledPipeline: Sendable {
    let stages: [CompiledStage]

    static func compile(_ stages: [BSONDocument], _ c: ExprCompiler, inFacet: Bool, indexOffset: Int = 0) throws -> CompiledPipeline {
        var compiled: [CompiledStage] = []
        for (i, stage) in stages.enumerated() {
            let next = i + 1 < stages.count ? stages[i + 1] : nil
            compiled.append(try StageCompiler.compile(stage, index: i + indexOffset, compiler: c, next: next, inFacet: inFacet))
        }
        return CompiledPipeline(stages: compiled)
    }

    func open(_ source: DocumentSource, _ ctx: EvalContext) -> DocumentSource {
        var current = source
        for stage in stages {
            current = AnnotatingSource(stage.open(current, ctx), index: stage.index, name: stage.name)
        }
        return current
    }

    func collect(_ source: DocumentSource, _ ctx: EvalContext) throws -> [BSONDocument] {
        let s = open(source, ctx)
        var out: [BSONDocument] = []
        while let d = try s.next() { out.append(d) }
        return out
    }
}
