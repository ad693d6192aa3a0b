import FerryBSON

/// A compiled accumulator: `{$avg: "$data.readings.temperature"}` in `$group`, `$bucket`,
/// `$bucketAuto` or `$setWindowFields`.
struct AccumulatorSpec: Sendable {
    let name: String
    /// Evaluated once per document; its value is handed to the state's `add`.
    let argument: EvalFunction
    let make: @Sendable () throws -> AccumulatorState
    /// The argument as written when it is a plain path or variable (`"$data.readings.temperature"`):
    /// accumulators with the same one share one evaluation per document.
    var sharedArgument: String? = nil
}

enum BuiltinAccumulators {
    static let unary: Set<String> = [
        "$sum", "$avg", "$min", "$max", "$first", "$last", "$push", "$addToSet", "$stdDevPop", "$stdDevSamp", "$mergeObjects",
    ]
    static let names: Set<String> = unary.union([
        "$count", "$median", "$percentile", "$top", "$bottom", "$topN", "$bottomN", "$firstN", "$lastN", "$minN", "$maxN",
    ])

    static func compile(_ name: String, _ arg: BSON, _ c: ExprCompiler) throws -> AccumulatorSpec {
        if unary.contains(name) {
            if case .array = arg { throw mqlError(name, "the \(name) accumulator is a unary operator; give it one expression, not an array") }
            let argument = try c.compile(arg).eval
            let make: @Sendable () -> AccumulatorState
            switch name {
            case "$sum": make = { SumAccumulator() }
            case "$avg": make = { AvgAccumulator() }
            case "$min": make = { MinMaxAccumulator(isMax: false) }
            case "$max": make = { MinMaxAccumulator(isMax: true) }
            case "$first": make = { FirstLastAccumulator(isLast: false) }
            case "$last": make = { FirstLastAccumulator(isLast: true) }
            case "$push": make = { PushAccumulator() }
            case "$addToSet": make = { AddToSetAccumulator() }
            case "$stdDevPop": make = { StdDevAccumulator(sample: false) }
            case "$stdDevSamp": make = { StdDevAccumulator(sample: true) }
            default: make = { MergeObjectsAccumulator() }
            }
            var shared: String?
            if case .string(let path) = arg, path.hasPrefix("$") { shared = path }
            return AccumulatorSpec(name: name, argument: argument, make: make, sharedArgument: shared)
        }
        switch name {
        case "$count":
            guard case .document(let d) = arg, d.isEmpty else {
                throw mqlError(name, "$count takes no arguments, i.e. $count: {}")
            }
            return AccumulatorSpec(name: name, argument: { _ in .null }, make: { CountAccumulator() })
        case "$median", "$percentile":
            let (input, percentiles, continuous) = try percentileArguments(name, arg, c)
            let single = name == "$median"
            return AccumulatorSpec(name: name, argument: input) {
                PercentileAccumulator(percentiles: percentiles, continuous: continuous, single: single)
            }
        case "$firstN", "$lastN", "$minN", "$maxN":
            let named = try c.namedArguments(name, arg, required: ["input", "n"])
            let n = try c.compile(named["n"]!)
            if let constant = n.constant { _ = try NAccumulator.validateN(constant ?? .null, name) }
            let input = try c.compile(named["input"]!).eval
            let ne = n.eval
            let kind: NAccumulator.Kind = name == "$firstN" ? .first : name == "$lastN" ? .last : name == "$minN" ? .min : .max
            return AccumulatorSpec(
                name: name,
                argument: { ctx in
                    let count = try ne(ctx) ?? .null
                    if let v = try input(ctx) { return .array([count, v]) }
                    return .array([count])
                },
                make: { NAccumulator(kind: kind, name: name) })
        case "$top", "$bottom", "$topN", "$bottomN":
            let single = name == "$top" || name == "$bottom"
            let named = try c.namedArguments(name, arg, required: single ? ["sortBy", "output"] : ["n", "sortBy", "output"])
            let sort = try SortSpec(named["sortBy"]!, op: name)
            let output = try c.compile(named["output"]!).eval
            var nExpr: EvalFunction = { _ in .int32(1) }
            if !single {
                let n = try c.compile(named["n"]!)
                if let constant = n.constant { _ = try NAccumulator.validateN(constant ?? .null, name) }
                nExpr = n.eval
            }
            let bottom = name.hasPrefix("$bottom")
            let nEval = nExpr
            return AccumulatorSpec(
                name: name,
                argument: { ctx in
                    let keys = sort.extract(ctx.root).map { $0 ?? .undefined }
                    return .array([try nEval(ctx) ?? .null, .array(keys), try output(ctx) ?? .null])
                },
                make: { TopBottomAccumulator(sort: sort, bottom: bottom, single: single, name: name) })
        default:
            if let plugin = c.registry.accumulators[name] {
                if let validate = plugin.validate {
                    do { try validate(arg) } catch { throw mqlError(name, "invalid argument: \(pluginMessage(error))") }
                }
                let argument = try c.compile(arg).eval
                let makeState = plugin.makeState
                return AccumulatorSpec(name: name, argument: argument) {
                    do {
                        return PluginAccumulatorAdapter(name: name, state: try makeState(arg))
                    } catch {
                        throw mqlError(name, pluginMessage(error))
                    }
                }
            }
            throw mqlError(name, unknownNameMessage(kind: "accumulator", name: name, among: names.union(c.registry.accumulators.keys)))
        }
    }

    static func percentileArguments(_ name: String, _ arg: BSON, _ c: ExprCompiler) throws -> (EvalFunction, [Double], Bool) {
        let named = try c.namedArguments(name, arg, required: name == "$median" ? ["input", "method"] : ["input", "p", "method"])
        guard case .string(let method) = named["method"]!, ["approximate", "discrete", "continuous"].contains(method) else {
            throw mqlError(name, "\(name) 'method' must be \"approximate\", \"discrete\" or \"continuous\", found \(Values.describe(named["method"]!))")
        }
        var percentiles = [0.5]
        if name == "$percentile" {
            guard case .array(let ps) = named["p"]!, !ps.isEmpty else {
                throw mqlError(name, "$percentile 'p' must be a non-empty array of numbers between 0.0 and 1.0, found \(Values.describe(named["p"]!))")
            }
            percentiles = try ps.map { p in
                guard p.isNumeric, let d = p.numericDouble, d >= 0, d <= 1 else {
                    throw mqlError(name, "$percentile 'p' must be an array of numbers between 0.0 and 1.0, found \(Values.describe(p))")
                }
                return d
            }
        }
        return (try c.compile(named["input"]!).eval, percentiles, method == "continuous")
    }
}

/// Adapts a plugin's state to the engine's protocol.
final class PluginAccumulatorAdapter: AccumulatorState {
    let name: String
    let state: any MQLAccumulatorState
    init(name: String, state: any MQLAccumulatorState) {
        self.name = name
        self.state = state
    }
    func add(_ value: BSON?) throws {
        do { try state.add(value ?? .null) } catch { throw mqlError(name, pluginMessage(error)) }
    }
    func result() throws -> BSON? {
        do { return try state.finalize() } catch { throw mqlError(name, pluginMessage(error)) }
    }
}

/// `$sum`, `$avg`, `$min`, `$max`, `$stdDevPop`, `$stdDevSamp`, `$median`, `$percentile`,
/// `$firstN`, `$lastN`, `$minN`, `$maxN` as expressions: over an array operand's elements, or
/// over several operands.
enum ArrayAccumulatorOperators {
    static let table: [String: BuiltinExpressions.Compiler] = {
        var t: [String: BuiltinExpressions.Compiler] = [:]
        let simple: [(String, @Sendable () -> AccumulatorState)] = [
            ("$sum", { SumAccumulator() }), ("$avg", { AvgAccumulator() }), ("$min", { MinMaxAccumulator(isMax: false) }),
            ("$max", { MinMaxAccumulator(isMax: true) }), ("$stdDevPop", { StdDevAccumulator(sample: false) }),
            ("$stdDevSamp", { StdDevAccumulator(sample: true) }),
        ]
        for (name, make) in simple {
            t[name] = { c, _, arg in
                let args = try c.operands(arg).map { try c.compile($0) }
                return Expr.nary(args) { values in
                    let state = make()
                    if values.count == 1, case .array(let elements)? = values[0] {
                        for e in elements { try state.add(e) }
                    } else {
                        for v in values { try state.add(v) }
                    }
                    return try state.result()
                }
            }
        }
        for name in ["$median", "$percentile"] {
            t[name] = { c, name, arg in
                let (input, percentiles, continuous) = try BuiltinAccumulators.percentileArguments(name, arg, c)
                let single = name == "$median"
                return Expr { ctx in
                    let state = PercentileAccumulator(percentiles: percentiles, continuous: continuous, single: single)
                    let v = try input(ctx)
                    if case .array(let elements)? = v { for e in elements { state.add(e) } } else { state.add(v) }
                    return state.result()
                }
            }
        }
        for name in ["$firstN", "$lastN", "$minN", "$maxN"] {
            t[name] = { c, name, arg in
                let named = try c.namedArguments(name, arg, required: ["input", "n"])
                let n = try c.compile(named["n"]!)
                let input = try c.compile(named["input"]!)
                let kind: NAccumulator.Kind = name == "$firstN" ? .first : name == "$lastN" ? .last : name == "$minN" ? .min : .max
                return Expr.binary(n, input) { count, v in
                    let limit = try NAccumulator.validateN(count ?? .null, name)
                    guard case .array(let elements)? = v else {
                        throw mqlError(name, "\(name) requires 'input' to be an array, found \(Values.typeName(v))")
                    }
                    let state = NAccumulator(kind: kind, name: name)
                    for e in elements { try state.add(.array([.int64(Int64(limit)), e])) }
                    return state.result()
                }
            }
        }
        return t
    }()
}
