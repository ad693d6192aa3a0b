import FerryBSON

/// `$densify`: fills gaps in a numeric or date sequence with new documents, per partition.
enum DensifyStage {
    enum Bounds: Sendable {
        case full, partition
        case explicit(BSON, BSON)
    }

    static func compile(_ s: StageInput) throws -> StageOpen {
        let stage = "$densify"
        guard case .document(let d) = s.spec else { throw mqlError(stage, "$densify's specification must be an object") }
        for key in d.keys where !["field", "partitionByFields", "range"].contains(key) {
            throw mqlError(stage, "$densify does not take an option '\(key)'; it takes field, partitionByFields and range")
        }
        guard case .string(let fieldText)? = d["field"] else { throw mqlError(stage, "$densify requires 'field', a field name string") }
        if fieldText.hasPrefix("$") { throw mqlError(stage, "$densify's 'field' is a field name, not an expression: write '\(fieldText.dropFirst())'") }
        let field = try FieldPath(fieldText, op: stage, what: "field").components
        var partitionFields: [[String]] = []
        if let p = d["partitionByFields"] {
            guard case .array(let names) = p else { throw mqlError(stage, "$densify's 'partitionByFields' must be an array of field names") }
            for n in names {
                guard case .string(let text) = n, !text.hasPrefix("$") else {
                    throw mqlError(stage, "$densify's 'partitionByFields' must be field names (no '$'), found \(Values.describe(n))")
                }
                let path = try FieldPath(text, op: stage, what: "partitionByFields entry").components
                if path == field { throw mqlError(stage, "$densify's 'field' cannot also be a partitionByFields entry") }
                partitionFields.append(path)
            }
        }
        guard case .document(let range)? = d["range"] else { throw mqlError(stage, "$densify requires a 'range' object") }
        for key in range.keys where !["step", "unit", "bounds"].contains(key) {
            throw mqlError(stage, "$densify's range does not take '\(key)'; it takes step, unit and bounds")
        }
        guard let step = range["step"], step.isNumeric, let stepDouble = step.numericDouble, stepDouble > 0 else {
            throw mqlError(stage, "$densify's range.step must be a positive number")
        }
        let unit = try range["unit"].map { try DateOperators.unit($0, op: stage) }
        if unit != nil && step.exactInt64 == nil { throw mqlError(stage, "$densify's range.step must be an integer when a unit is given") }
        let bounds: Bounds
        switch range["bounds"] {
        case .string("full")?: bounds = .full
        case .string("partition")?: bounds = .partition
        case .array(let pair)? where pair.count == 2:
            if unit != nil {
                guard case .datetime = pair[0], case .datetime = pair[1] else {
                    throw mqlError(stage, "$densify's explicit bounds must be dates when a unit is given")
                }
            } else if !pair[0].isNumeric || !pair[1].isNumeric {
                throw mqlError(stage, "$densify's explicit bounds must be numbers (or dates, with a unit)")
            }
            if BSONOrder.compare(pair[0], pair[1]) > 0 { throw mqlError(stage, "$densify's lower bound must not be greater than its upper bound") }
            bounds = .explicit(pair[0], pair[1])
        default:
            throw mqlError(stage, "$densify's range.bounds must be \"full\", \"partition\" or an array of two values")
        }
        let partitionPaths = partitionFields
        return { upstream, ctx in
            BlockingSource {
                try run(upstream, ctx, field: field, partitions: partitionPaths, step: step, unit: unit, bounds: bounds)
            }
        }
    }

    /// The next grid value: `v + step` (in `unit`s for dates), as MongoDB steps, so int32 stays
    /// int32 and month steps move from the previous value.
    static func advance(_ v: BSON, by step: BSON, unit: MQLDateUnit?) throws -> BSON {
        if let unit, case .datetime(let ms) = v {
            guard let r = MQLDates.add(ms, unit: unit, amount: step.exactInt64!, in: .utc) else {
                throw mqlError("$densify", "date overflow while generating values")
            }
            guard r > ms else { throw mqlError("$densify", "range.step does not advance past \(Values.describe(v))") }
            return .datetime(r)
        }
        let next = Arithmetic.add(v, step)
        guard BSONOrder.compare(next, v) > 0 else {
            throw mqlError("$densify", "range.step \(Values.describe(step)) is too small to advance past \(Values.describe(v))")
        }
        return next
    }

    static func run(
        _ upstream: DocumentSource, _ ctx: EvalContext, field: [String], partitions: [[String]], step: BSON, unit: MQLDateUnit?,
        bounds: Bounds
    ) throws -> [BSONDocument] {
        var budget = MemoryBudget(limit: ctx.environment.options.memoryLimitBytes, stage: "$densify")
        let docs = try budget.drain(upstream)
        let values: [BSON?] = docs.map { FieldPath.nested(field, in: $0) }
        for v in values {
            guard let v, !Values.isNullish(v) else { continue }
            if unit != nil {
                guard case .datetime = v else { throw mqlError("$densify", "$densify with a unit needs date values in '\(field.joined(separator: "."))', found \(Values.typeName(v))") }
            } else if !v.isNumeric {
                throw mqlError("$densify", "$densify needs numeric values in '\(field.joined(separator: "."))' (or dates with a unit), found \(Values.typeName(v))")
            }
        }
        let keys: [BSON] = docs.map { d in .array(partitions.map { FieldPath.nested($0, in: d) ?? .null }) }
        let order = docs.indices.sorted { i, j in
            let c = BSONOrder.compare(keys[i], keys[j])
            if c != 0 { return c < 0 }
            let v = BSONOrder.compare(values[i] ?? .null, values[j] ?? .null)
            return v != 0 ? v < 0 : i < j
        }
        // Global bounds for "full".
        var globalMin: BSON?, globalMax: BSON?
        for v in values {
            guard let v, !Values.isNullish(v) else { continue }
            if globalMin == nil || BSONOrder.compare(v, globalMin) < 0 { globalMin = v }
            if globalMax == nil || BSONOrder.compare(v, globalMax) > 0 { globalMax = v }
        }
        var out: [BSONDocument] = []
        var start = 0
        while start < order.count {
            var end = start + 1
            while end < order.count && BSONOrder.compare(keys[order[start]], keys[order[end]]) == 0 { end += 1 }
            let part = Array(order[start..<end])
            start = end
            let present = part.compactMap { i -> BSON? in
                guard let v = values[i], !Values.isNullish(v) else { return nil }
                return v
            }
            let lower: BSON?, upper: BSON?
            switch bounds {
            case .full: lower = globalMin; upper = globalMax
            case .partition: lower = present.first; upper = present.last
            case .explicit(let lo, let hi): lower = lo; upper = hi
            }
            func generated(_ value: BSON) -> BSONDocument {
                var d = BSONDocument()
                d.setPath(ArraySlice(field), value)
                for p in partitions {
                    if let pv = FieldPath.nested(p, in: docs[part[0]]) { d.setPath(ArraySlice(p), pv) }
                }
                return d
            }
            guard let lower, let upper else {
                out.append(contentsOf: part.map { docs[$0] })
                continue
            }
            // Walk the grid lower, lower + step, … (< upper) alongside the sorted documents.
            var next = lower
            func emitGrid(below limit: BSON?) throws {
                while BSONOrder.compare(next, upper) < 0 {
                    if let limit, BSONOrder.compare(next, limit) >= 0 { break }
                    out.append(generated(next))
                    try budget.add(64)
                    next = try advance(next, by: step, unit: unit)
                }
            }
            for i in part {
                guard let v = values[i], !Values.isNullish(v) else {
                    out.append(docs[i])
                    continue
                }
                if BSONOrder.compare(v, lower) >= 0 {
                    try emitGrid(below: v)
                    // A document on the grid takes the grid value's place.
                    while BSONOrder.compare(next, v) <= 0 && BSONOrder.compare(next, upper) < 0 {
                        next = try advance(next, by: step, unit: unit)
                    }
                }
                out.append(docs[i])
            }
            try emitGrid(below: nil)
        }
        return out
    }
}

/// `$fill`: fills null and missing fields with a value, the last value seen, or linearly.
enum FillStage {
    static func compile(_ s: StageInput) throws -> StageOpen {
        let stage = "$fill"
        guard case .document(let d) = s.spec else { throw mqlError(stage, "$fill's specification must be an object") }
        for key in d.keys where !["partitionBy", "partitionByFields", "sortBy", "output"].contains(key) {
            throw mqlError(stage, "$fill does not take an option '\(key)'; it takes partitionBy, partitionByFields, sortBy and output")
        }
        if d["partitionBy"] != nil && d["partitionByFields"] != nil {
            throw mqlError(stage, "$fill takes partitionBy or partitionByFields, not both")
        }
        var partitionBy: EvalFunction?
        if let p = d["partitionBy"] { partitionBy = try s.compiler.compile(p).eval }
        if let p = d["partitionByFields"] {
            guard case .array(let names) = p else { throw mqlError(stage, "$fill's 'partitionByFields' must be an array of field names") }
            let paths = try names.map { n -> [String] in
                guard case .string(let text) = n, !text.hasPrefix("$") else {
                    throw mqlError(stage, "$fill's 'partitionByFields' must be field names (no '$'), found \(Values.describe(n))")
                }
                return try FieldPath(text, op: stage, what: "partitionByFields entry").components
            }
            partitionBy = { ctx in .array(paths.map { FieldPath.evaluate($0, from: 0, in: ctx.root) ?? .null }) }
        }
        let sortBy = try d["sortBy"].map { try SortSpec($0, op: stage) }
        guard case .document(let outputSpec)? = d["output"], !outputSpec.isEmpty else {
            throw mqlError(stage, "$fill requires a non-empty 'output' object")
        }
        var windowOutputs: [WindowStage.Output] = []
        var valueFills: [(path: [String], value: EvalFunction)] = []
        for element in outputSpec.elements {
            let path = try FieldPath(element.key, op: stage, what: "output field").components
            guard case .document(let o) = element.value, o.count == 1 else {
                throw mqlError(stage, "$fill's output '\(element.key)' must be {value: <expression>} or {method: \"locf\" | \"linear\"}")
            }
            let fieldExpr: EvalFunction = { ctx in FieldPath.evaluate(path, from: 0, in: ctx.root) }
            if let value = o["value"] {
                valueFills.append((path, try s.compiler.compile(value).eval))
            } else if case .string(let method)? = o["method"] {
                guard let sortBy else { throw mqlError(stage, "$fill's method '\(method)' requires a sortBy") }
                switch method {
                case "locf":
                    windowOutputs.append(WindowStage.Output(path: path, name: "$locf", function: .locf(fieldExpr), window: .documents(.unbounded, .unbounded)))
                case "linear":
                    guard sortBy.keys.count == 1 else { throw mqlError(stage, "$fill's method 'linear' requires a sortBy with exactly one field") }
                    windowOutputs.append(WindowStage.Output(path: path, name: "$linearFill", function: .linearFill(fieldExpr), window: .documents(.unbounded, .unbounded)))
                default:
                    throw mqlError(stage, "$fill's method must be \"locf\" or \"linear\", found \"\(method)\"")
                }
            } else {
                throw mqlError(stage, "$fill's output '\(element.key)' must be {value: <expression>} or {method: \"locf\" | \"linear\"}")
            }
        }
        let fills = valueFills, partitioning = partitionBy
        @Sendable func fillValues(_ doc: BSONDocument, _ ctx: EvalContext) throws -> BSONDocument {
            var out = doc
            ctx.setDocument(doc)
            for (path, value) in fills where Values.isNullish(FieldPath.nested(path, in: doc)) {
                out.setPath(ArraySlice(path), try value(ctx) ?? .null)
            }
            return out
        }
        if windowOutputs.isEmpty && partitioning == nil && sortBy == nil {
            return { upstream, ctx in MapSource(upstream) { try fillValues($0, ctx) } }
        }
        let outputs = windowOutputs
        return { upstream, ctx in
            BlockingSource {
                let windowed = try WindowStage.run(upstream, ctx, partitionBy: partitioning, sortBy: sortBy, outputs: outputs)
                return try windowed.map { try fillValues($0, ctx) }
            }
        }
    }
}
