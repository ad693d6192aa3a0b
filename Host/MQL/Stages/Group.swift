import FerryBSON

/// `$group`, and `$sortByCount` on top of it.
enum GroupStage {
    struct Field: Sendable {
        let name: String
        let spec: AccumulatorSpec
        /// Whether the state grows with its input, so its size is tracked per add.
        let growing: Bool
    }

    static let fixedSize: Set<String> = ["$sum", "$avg", "$min", "$max", "$first", "$last", "$stdDevPop", "$stdDevSamp", "$count"]

    /// Parses `{field: {$acc: arg}, …}` (the `_id` key excluded by the caller).
    static func accumulatorFields(_ elements: [BSONElement], _ c: ExprCompiler, stage: String) throws -> [Field] {
        var fields: [Field] = []
        var seen = Set<String>()
        for element in elements {
            let name = element.key
            if name.contains(".") {
                throw mqlError(stage, "the \(stage) field name '\(name)' cannot be used because field names cannot contain '.'")
            }
            if name.hasPrefix("$") { throw mqlError(stage, "the \(stage) field name '\(name)' cannot be an operator name") }
            if name.isEmpty { throw mqlError(stage, "\(stage) field names may not be empty") }
            if !seen.insert(name).inserted { throw mqlError(stage, "duplicate field name '\(name)' in \(stage)") }
            guard case .document(let d) = element.value else {
                throw mqlError(stage, "the \(stage) aggregate field '\(name)' must be defined as an expression inside an object, like {\(name): {$sum: 1}}")
            }
            guard d.count == 1, let op = d.elements.first, op.key.hasPrefix("$") else {
                throw mqlError(stage, "the computed aggregate '\(name)' must specify exactly one operator, like {\(name): {$sum: 1}}")
            }
            let spec = try BuiltinAccumulators.compile(op.key, op.value, c)
            fields.append(Field(name: name, spec: spec, growing: !fixedSize.contains(op.key)))
        }
        return fields
    }

    static func compile(_ s: StageInput) throws -> StageOpen {
        guard case .document(let d) = s.spec else {
            throw mqlError("$group", "a group's fields must be specified in an object, found \(Values.typeName(s.spec))")
        }
        guard let idSpec = d["_id"] else {
            throw mqlError("$group", "a group specification must include an _id")
        }
        let id = try GroupID(idSpec, s.compiler)
        let fields = try accumulatorFields(d.elements.filter { $0.key != "_id" }, s.compiler, stage: "$group")
        return { upstream, ctx in
            BlockingSource { try run(upstream, ctx, id: id, fields: fields, stage: "$group") }
        }
    }

    /// A group's `_id` expression. An object of computed fields (`{hour: …, component: "$c"}`) is
    /// kept as its fields' expressions, so rows are grouped by the values without building a key
    /// document for each row (`GroupIndex.findOrInsert(values:names:)`).
    enum GroupID {
        case value(EvalFunction)
        /// `Expr`s, not bare closures: an array of closures holds them at the most general
        /// abstraction, and every call then goes through a reabstraction thunk.
        case object(names: [String], values: [Expr])

        init(_ spec: BSON, _ c: ExprCompiler) throws {
            let whole = try c.compile(spec)  // validates the object as an expression
            if !whole.isConstant, case .document(let d) = spec, let first = d.elements.first, !first.key.hasPrefix("$") {
                self = .object(names: d.elements.map(\.key), values: try d.elements.map { try c.compile($0.value) })
            } else {
                self = .value(whole.eval)
            }
        }
    }

    /// Each distinct accumulator argument once: fields whose arguments are the same path share
    /// one evaluation per document (`{avg: {$avg: "$t"}, max: {$max: "$t"}}` reads `t` once).
    struct Arguments {
        let evaluators: [Expr]  // not [EvalFunction]: see `GroupID.object`
        /// Index into `evaluators`, by field.
        let slot: [Int]

        init(_ fields: [Field]) {
            var evaluators: [Expr] = []
            var slot: [Int] = []
            var byPath: [String: Int] = [:]
            for field in fields {
                if let path = field.spec.sharedArgument, let existing = byPath[path] {
                    slot.append(existing)
                    continue
                }
                if let path = field.spec.sharedArgument { byPath[path] = evaluators.count }
                slot.append(evaluators.count)
                evaluators.append(Expr(field.spec.argument))
            }
            self.evaluators = evaluators
            self.slot = slot
        }
    }

    /// Groups `upstream` by `id`, in the order groups are first seen.
    static func run(_ upstream: DocumentSource, _ ctx: EvalContext, id: @escaping EvalFunction, fields: [Field], stage: String) throws -> [BSONDocument] {
        try run(upstream, ctx, id: .value(id), fields: fields, stage: stage)
    }

    static func run(_ upstream: DocumentSource, _ ctx: EvalContext, id: GroupID, fields: [Field], stage: String) throws -> [BSONDocument] {
        var budget = MemoryBudget(limit: ctx.environment.options.memoryLimitBytes, stage: stage)
        var index = GroupIndex()
        // One flat array of states, group g's at g * fieldCount ..< (g + 1) * fieldCount.
        var states: [AccumulatorState] = []
        let fieldCount = fields.count
        let makers = fields.map(\.spec.make)
        let growing = fields.map(\.growing)
        let anyGrowing = growing.contains(true)
        let arguments = Arguments(fields)
        let evaluators = arguments.evaluators, slot = arguments.slot
        var values = [BSON?](repeating: nil, count: evaluators.count)
        let perGroup = 64 + fieldCount * 64
        var keyValues: [BSON?] = []
        if case .object(_, let parts) = id { keyValues = [BSON?](repeating: nil, count: parts.count) }
        while let doc = try upstream.next() {
            ctx.setDocument(doc)
            let g: Int, inserted: Bool
            switch id {
            case .value(let eval):
                (g, inserted) = index.findOrInsert(try eval(ctx) ?? .null)
            case .object(let names, let parts):
                for i in 0..<parts.count { keyValues[i] = try parts[i].eval(ctx) }
                (g, inserted) = index.findOrInsert(values: keyValues, names: names)
            }
            if inserted {
                for make in makers { states.append(try make()) }
                try budget.add(perGroup + Values.estimatedSize(index.keys[g]))
            }
            for a in 0..<evaluators.count { values[a] = try evaluators[a].eval(ctx) }
            let base = g * fieldCount
            if anyGrowing {
                for i in 0..<fieldCount {
                    let state = states[base + i]
                    if growing[i] {
                        let before = state.estimatedBytes
                        try state.add(values[slot[i]])
                        try budget.add(state.estimatedBytes - before)
                    } else {
                        try state.add(values[slot[i]])
                    }
                }
            } else {
                for i in 0..<fieldCount { try states[base + i].add(values[slot[i]]) }
            }
        }
        var out: [BSONDocument] = []
        out.reserveCapacity(index.count)
        for (g, key) in index.keys.enumerated() {
            var doc = BSONDocument()
            doc.elements.reserveCapacity(fieldCount + 1)
            doc.append("_id", key)
            for i in 0..<fieldCount {
                doc.append(fields[i].name, try states[g * fieldCount + i].result() ?? .null)
            }
            out.append(doc)
        }
        return out
    }

    static func compileSortByCount(_ s: StageInput) throws -> StageOpen {
        switch s.spec {
        case .string(let p) where p.hasPrefix("$"): break
        case .document(let d) where d.count == 1 && d.elements[0].key.hasPrefix("$"): break
        default:
            throw mqlError("$sortByCount", "the argument to $sortByCount must be a $-prefixed path or an expression object, found \(Values.describe(s.spec))")
        }
        let id = try s.compiler.compile(s.spec).eval
        let count = Field(name: "count", spec: AccumulatorSpec(name: "$sum", argument: { _ in .int32(1) }, make: { SumAccumulator() }), growing: false)
        let sort = SortSpec(keys: [SortSpec.Key(path: ["count"], descending: true)])
        return { upstream, ctx in
            BlockingSource { sort.sort(try run(upstream, ctx, id: id, fields: [count], stage: "$sortByCount")) }
        }
    }
}
