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
        let id = try s.compiler.compile(idSpec).eval
        let fields = try accumulatorFields(d.elements.filter { $0.key != "_id" }, s.compiler, stage: "$group")
        return { upstream, ctx in
            BlockingSource { try run(upstream, ctx, id: id, fields: fields, stage: "$group") }
        }
    }

    /// Groups `upstream` by `id`, in the order groups are first seen.
    static func run(_ upstream: DocumentSource, _ ctx: EvalContext, id: EvalFunction, fields: [Field], stage: String) throws -> [BSONDocument] {
        var budget = MemoryBudget(limit: ctx.environment.options.memoryLimitBytes, stage: stage)
        var index: [GroupKey: Int] = [:]
        var keys: [BSON] = []
        var states: [[AccumulatorState]] = []
        let perGroup = 64 + fields.count * 64
        while let doc = try upstream.next() {
            ctx.setDocument(doc)
            let key = try id(ctx) ?? .null
            let g: Int
            if let existing = index[GroupKey(key)] {
                g = existing
            } else {
                g = keys.count
                index[GroupKey(key)] = g
                keys.append(key)
                states.append(try fields.map { try $0.spec.make() })
                try budget.add(perGroup + Values.estimatedSize(key))
            }
            let groupStates = states[g]
            for (i, field) in fields.enumerated() {
                let value = try field.spec.argument(ctx)
                let state = groupStates[i]
                if field.growing {
                    let before = state.estimatedBytes
                    try state.add(value)
                    try budget.add(state.estimatedBytes - before)
                } else {
                    try state.add(value)
                }
            }
        }
        var out: [BSONDocument] = []
        out.reserveCapacity(keys.count)
        for (g, key) in keys.enumerated() {
            var doc = BSONDocument()
            doc.elements.reserveCapacity(fields.count + 1)
            doc.append("_id", key)
            for (i, field) in fields.enumerated() {
                doc.append(field.name, try states[g][i].result() ?? .null)
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
