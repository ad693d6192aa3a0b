import FerryBSON
import Foundation

/// `$setWindowFields`: window functions over partitions sorted by `sortBy`.
enum WindowStage {
    enum Bound: Sendable, Equatable {
        case unbounded, current
        case offset(BSON)
    }

    enum Window: Sendable {
        case documents(Bound, Bound)
        case range(Bound, Bound, unit: MQLDateUnit?)
    }

    enum Function: Sendable {
        case accumulator(AccumulatorSpec)
        case rank, denseRank, documentNumber
        case shift(output: EvalFunction, by: Int, defaultValue: BSON)
        case locf(EvalFunction)
        case linearFill(EvalFunction)
        case derivative(EvalFunction, unit: MQLDateUnit?)
        case integral(EvalFunction, unit: MQLDateUnit?)
        case expMovingAvg(EvalFunction, alpha: Double)
        case covariance(EvalFunction, EvalFunction, sample: Bool)
    }

    struct Output: Sendable {
        let path: [String]
        let name: String
        let function: Function
        let window: Window
    }

    static let windowOnly: Set<String> = [
        "$rank", "$denseRank", "$documentNumber", "$shift", "$locf", "$linearFill", "$derivative", "$integral",
        "$expMovingAvg", "$covariancePop", "$covarianceSamp",
    ]

    static func compile(_ s: StageInput) throws -> StageOpen {
        let stage = "$setWindowFields"
        guard case .document(let d) = s.spec else {
            throw mqlError(stage, "$setWindowFields's specification must be an object, found \(Values.typeName(s.spec))")
        }
        for key in d.keys where !["partitionBy", "sortBy", "output"].contains(key) {
            throw mqlError(stage, "$setWindowFields does not take an option '\(key)'; it takes partitionBy, sortBy and output")
        }
        let partitionBy = try d["partitionBy"].map { spec -> EvalFunction in
            if case .document(let pd) = spec, pd.elements.first?.key.hasPrefix("$") == false {
                throw mqlError(stage, "partitionBy must be a field path ($field) or an operator expression, found an object")
            }
            return try s.compiler.compile(spec).eval
        }
        let sortBy = try d["sortBy"].map { try SortSpec($0, op: stage) }
        guard case .document(let outputSpec)? = d["output"] else {
            throw mqlError(stage, "$setWindowFields requires an 'output' object")
        }
        if outputSpec.isEmpty { throw mqlError(stage, "$setWindowFields 'output' must name at least one field") }
        let outputs = try outputSpec.elements.map { try compileOutput($0, sortBy, s.compiler) }
        return { upstream, ctx in
            BlockingSource { try run(upstream, ctx, partitionBy: partitionBy, sortBy: sortBy, outputs: outputs) }
        }
    }

    static func compileOutput(_ element: BSONElement, _ sortBy: SortSpec?, _ c: ExprCompiler) throws -> Output {
        let stage = "$setWindowFields"
        let path = try FieldPath(element.key, op: stage, what: "output field").components
        guard case .document(let spec) = element.value else {
            throw mqlError(stage, "the output field '\(element.key)' must be an object like {$sum: \"$x\", window: {…}}")
        }
        let functions = spec.elements.filter { $0.key != "window" }
        guard functions.count == 1, let fn = functions.first else {
            throw mqlError(stage, "the output field '\(element.key)' must name exactly one window function, found \(functions.count)")
        }
        guard fn.key.hasPrefix("$") else {
            throw mqlError(stage, "the output field '\(element.key)': '\(fn.key)' is not a window function (they start with '$')")
        }
        let name = fn.key
        let arg = fn.value
        let windowSpec = spec["window"]
        let single = sortBy?.keys.count == 1

        func requireSort(_ single: Bool = false) throws {
            guard let sortBy else { throw mqlError(name, "\(name) requires a sortBy in $setWindowFields") }
            if single && sortBy.keys.count != 1 {
                throw mqlError(name, "\(name) requires a sortBy with exactly one field, found \(sortBy.keys.count)")
            }
        }
        func noWindow() throws {
            if windowSpec != nil { throw mqlError(name, "\(name) does not accept a 'window' field") }
        }

        let function: Function
        switch name {
        case "$rank", "$denseRank", "$documentNumber":
            guard case .document(let a) = arg, a.isEmpty else { throw mqlError(name, "\(name) takes no arguments; write {\(name): {}}") }
            try requireSort(name != "$documentNumber")
            try noWindow()
            function = name == "$rank" ? .rank : name == "$denseRank" ? .denseRank : .documentNumber
        case "$shift":
            try requireSort()
            try noWindow()
            let named = try c.namedArguments(name, arg, required: ["output", "by"], optional: ["default"])
            guard named["by"]!.isNumeric, let by = named["by"]!.exactInt32 else {
                throw mqlError(name, "$shift's 'by' must be an integer constant, found \(Values.describe(named["by"]!))")
            }
            var fallback: BSON = .null
            if let dv = named["default"] {
                let e = try c.compile(dv)
                guard let constant = e.constant else { throw mqlError(name, "$shift's 'default' must be a constant expression") }
                fallback = constant ?? .null
            }
            function = .shift(output: try c.compile(named["output"]!).eval, by: Int(by), defaultValue: fallback)
        case "$locf":
            try requireSort()
            try noWindow()
            function = .locf(try c.compile(arg).eval)
        case "$linearFill":
            try requireSort(true)
            try noWindow()
            function = .linearFill(try c.compile(arg).eval)
        case "$derivative", "$integral":
            try requireSort(true)
            let named = try c.namedArguments(name, arg, required: ["input"], optional: ["unit"])
            let unit = try named["unit"].map { try timeUnit($0, op: name) }
            if name == "$derivative" && windowSpec == nil {
                throw mqlError(name, "$derivative requires a 'window' (for example {documents: [-1, 0]})")
            }
            let input = try c.compile(named["input"]!).eval
            function = name == "$derivative" ? .derivative(input, unit: unit) : .integral(input, unit: unit)
        case "$expMovingAvg":
            try requireSort()
            try noWindow()
            let named = try c.namedArguments(name, arg, required: ["input"], optional: ["N", "alpha"])
            let alpha: Double
            switch (named["N"], named["alpha"]) {
            case (let n?, nil):
                guard n.isNumeric, let count = n.exactInt64, count > 0 else {
                    throw mqlError(name, "$expMovingAvg's 'N' must be a positive integer, found \(Values.describe(n))")
                }
                alpha = 2.0 / (Double(count) + 1)
            case (nil, let a?):
                guard a.isNumeric, let value = a.numericDouble, value > 0, value < 1 else {
                    throw mqlError(name, "$expMovingAvg's 'alpha' must be a number between 0 and 1 (exclusive), found \(Values.describe(a))")
                }
                alpha = value
            default:
                throw mqlError(name, "$expMovingAvg takes exactly one of 'N' and 'alpha'")
            }
            function = .expMovingAvg(try c.compile(named["input"]!).eval, alpha: alpha)
        case "$covariancePop", "$covarianceSamp":
            guard case .array(let pair) = arg, pair.count == 2 else {
                throw mqlError(name, "\(name) takes an array of exactly two expressions")
            }
            function = .covariance(try c.compile(pair[0]).eval, try c.compile(pair[1]).eval, sample: name == "$covarianceSamp")
        default:
            function = .accumulator(try BuiltinAccumulators.compile(name, arg, c))
        }
        let window = try windowSpec.map { try parseWindow($0, name: name, sortBy: sortBy, single: single) }
            ?? .documents(.unbounded, .unbounded)
        return Output(path: path, name: name, function: function, window: window)
    }

    static func timeUnit(_ v: BSON, op: String) throws -> MQLDateUnit {
        let unit = try DateOperators.unit(v, op: op)
        guard [.week, .day, .hour, .minute, .second, .millisecond].contains(unit) else {
            throw mqlError(op, "\(op)'s unit must be week, day, hour, minute, second or millisecond (a fixed length), found '\(unit.rawValue)'")
        }
        return unit
    }

    static func parseWindow(_ spec: BSON, name: String, sortBy: SortSpec?, single: Bool) throws -> Window {
        guard case .document(let w) = spec else { throw mqlError(name, "'window' must be an object, found \(Values.typeName(spec))") }
        for key in w.keys where !["documents", "range", "unit"].contains(key) {
            throw mqlError(name, "'window' has an unknown field '\(key)'; it takes documents, or range with an optional unit")
        }
        if w["documents"] != nil && w["range"] != nil { throw mqlError(name, "'window' takes documents or range, not both") }
        func bounds(_ v: BSON, kind: String) throws -> (Bound, Bound) {
            guard case .array(let a) = v, a.count == 2 else {
                throw mqlError(name, "window.\(kind) must be an array of two bounds, like [-1, 0] or [\"unbounded\", \"current\"]")
            }
            func bound(_ b: BSON) throws -> Bound {
                switch b {
                case .string("unbounded"): return .unbounded
                case .string("current"): return .current
                default:
                    guard b.isNumeric else {
                        throw mqlError(name, "window.\(kind) bounds must be 'unbounded', 'current' or a number, found \(Values.describe(b))")
                    }
                    if kind == "documents" {
                        guard b.exactInt64 != nil else { throw mqlError(name, "window.documents bounds must be integers, found \(Values.describe(b))") }
                    }
                    return .offset(b)
                }
            }
            let lower = try bound(a[0]), upper = try bound(a[1])
            func position(_ b: Bound) -> BSON? {
                switch b {
                case .current: return .int32(0)
                case .offset(let v): return v
                case .unbounded: return nil
                }
            }
            if let l = position(lower), let u = position(upper), BSONOrder.compare(l, u) > 0 {
                throw mqlError(name, "window.\(kind)'s lower bound must not be greater than its upper bound: [\(Values.describe(a[0])), \(Values.describe(a[1]))]")
            }
            return (lower, upper)
        }
        if let documents = w["documents"] {
            if w["unit"] != nil { throw mqlError(name, "window 'unit' goes with 'range', not 'documents'") }
            let (l, u) = try bounds(documents, kind: "documents")
            return .documents(l, u)
        }
        guard let range = w["range"] else { throw mqlError(name, "'window' needs documents or range") }
        guard sortBy != nil, single else {
            throw mqlError(name, "a range window requires a sortBy with exactly one field")
        }
        let (l, u) = try bounds(range, kind: "range")
        let unit = try w["unit"].map { try DateOperators.unit($0, op: name) }
        if unit != nil {
            for b in [l, u] {
                if case .offset(let v) = b, v.exactInt64 == nil {
                    throw mqlError(name, "window.range bounds with a unit must be integers, found \(Values.describe(v))")
                }
            }
        }
        return .range(l, u, unit: unit)
    }

    // MARK: Running

    static func run(
        _ upstream: DocumentSource, _ ctx: EvalContext, partitionBy: EvalFunction?, sortBy: SortSpec?, outputs: [Output]
    ) throws -> [BSONDocument] {
        var budget = MemoryBudget(limit: ctx.environment.options.memoryLimitBytes, stage: "$setWindowFields")
        var docs = try budget.drain(upstream)
        var partitionKeys: [BSON] = []
        if let partitionBy {
            partitionKeys.reserveCapacity(docs.count)
            for d in docs {
                ctx.setDocument(d)
                partitionKeys.append(try partitionBy(ctx) ?? .null)
            }
        }
        let sortKeys: [[BSON?]] = sortBy.map { s in docs.map { s.extract($0) } } ?? []
        var order = Array(docs.indices)
        if partitionBy != nil || sortBy != nil {
            order.sort { i, j in
                if partitionBy != nil {
                    let c = BSONOrder.compare(partitionKeys[i], partitionKeys[j])
                    if c != 0 { return c < 0 }
                }
                if let sortBy {
                    let c = sortBy.compareKeys(sortKeys[i], sortKeys[j])
                    if c != 0 { return c < 0 }
                }
                return i < j
            }
        }
        var results = [[BSON?]](repeating: [], count: outputs.count)
        for k in outputs.indices { results[k] = [BSON?](repeating: nil, count: docs.count) }
        var start = 0
        while start < order.count {
            var end = start + 1
            if partitionBy != nil {
                while end < order.count && BSONOrder.compare(partitionKeys[order[start]], partitionKeys[order[end]]) == 0 { end += 1 }
            } else {
                end = order.count
            }
            let partition = Array(order[start..<end])
            for (k, output) in outputs.enumerated() {
                let values = try evaluate(output, partition: partition, docs: docs, sortBy: sortBy, sortKeys: sortKeys, ctx: ctx)
                for (position, docIndex) in partition.enumerated() { results[k][docIndex] = values[position] }
            }
            start = end
        }
        var out: [BSONDocument] = []
        out.reserveCapacity(docs.count)
        for i in order {
            var d = docs[i]
            for (k, output) in outputs.enumerated() {
                d.setPath(ArraySlice(output.path), results[k][i] ?? .null)
            }
            out.append(d)
        }
        docs = []
        return out
    }

    /// The output's value for each document of one partition (in partition order).
    static func evaluate(
        _ output: Output, partition: [Int], docs: [BSONDocument], sortBy: SortSpec?, sortKeys: [[BSON?]], ctx: EvalContext
    ) throws -> [BSON?] {
        let n = partition.count
        func inputs(_ f: EvalFunction) throws -> [BSON?] {
            try partition.map { i in
                ctx.setDocument(docs[i])
                return try f(ctx)
            }
        }
        func sortValue(_ position: Int) -> BSON? { sortKeys[partition[position]].first ?? nil }

        switch output.function {
        case .documentNumber:
            return (0..<n).map { .int32(Int32($0 + 1)) }
        case .rank, .denseRank:
            var out: [BSON?] = []
            var rank = 0, dense = 0
            for p in 0..<n {
                let same = p > 0 && sameRankValue(sortValue(p - 1), sortValue(p))
                if !same {
                    rank = p + 1
                    dense += 1
                }
                out.append(integerResult(Int64(output.function.isDense ? dense : rank), narrowTo: .int32))
            }
            return out
        case .shift(let f, let by, let fallback):
            let values = try inputs(f)
            return (0..<n).map { p in
                let target = p + by
                guard target >= 0 && target < n else { return fallback }
                return values[target] ?? .null
            }
        case .locf(let f):
            var last: BSON = .null
            return try inputs(f).map { v in
                if let v, !Values.isNullish(v) { last = v }
                return last
            }
        case .linearFill(let f):
            return try linearFill(try inputs(f), xs: (0..<n).map { try xValue(sortValue($0), unit: nil, op: "$linearFill", allowDate: true) })
        case .expMovingAvg(let f, let alpha):
            var average: BSON = .null
            return try inputs(f).map { v in
                guard let v, v.isNumeric else { return average }
                if case .null = average {
                    average = v.numericKind == .decimal ? v : .double(v.numericDouble!)
                } else if v.numericKind == .decimal || average.numericKind == .decimal {
                    let a = Dec128(double: alpha, digits: 34)
                    average = (v.numericDecimal! * a + average.numericDecimal! * (Dec128(1) - a)).bson
                } else {
                    average = .double(v.numericDouble! * alpha + average.numericDouble! * (1 - alpha))
                }
                return average
            }
        default:
            break
        }

        // Windowed functions: find each document's window, then reduce it.
        let ranges = try windowRanges(output, n: n, sortValue: sortValue, descending: sortBy?.keys.first?.descending ?? false)
        switch output.function {
        case .accumulator(let spec):
            let values = try inputs(spec.argument)
            return try reduceWindows(spec, values, ranges)
        case .derivative(let f, let unit):
            // As MongoDB computes it: (y₁ − y₀) / (x₁ − x₀), with dates subtracted to milliseconds,
            // then scaled by the unit's milliseconds (not the dates divided into units first,
            // which loses digits to the size of an epoch time).
            let ys = try inputs(f)
            return try ranges.map { r in
                guard let r, r.upperBound - r.lowerBound >= 1 else { return .null }
                let run = try axisDifference(sortValue(r.lowerBound), sortValue(r.upperBound), unit: unit, op: "$derivative")
                guard let y0 = ys[r.lowerBound], let y1 = ys[r.upperBound], y0.isNumeric, y1.isNumeric else { return .null }
                guard let rate = Arithmetic.divide(Arithmetic.subtract(y1, y0), run) else { return .null }
                guard let unit else { return rate }
                return Arithmetic.multiply(rate, .int64(unitMillis(unit)))
            }
        case .integral(let f, let unit):
            // The trapezoidal rule as MongoDB computes it: each pair's (y₀ + y₁) · (x₁ − x₀) / 2 in
            // milliseconds for dates, summed, and the sum divided by the unit's milliseconds.
            let ys = try inputs(f)
            let xs = try (0..<n).map { p -> BSON in
                let x = sortValue(p)
                _ = try xValue(x, unit: unit, op: "$integral", allowDate: unit != nil)
                return x!
            }
            return try ranges.map { r in
                guard let r else { return .null }
                var total = SumState()
                var previous: (x: BSON, y: BSON)?
                for p in r {
                    guard let y = ys[p], y.isNumeric else { continue }
                    if let (px, py) = previous {
                        let width = try axisDifference(px, xs[p], unit: unit, op: "$integral")
                        total.add(Arithmetic.divide(Arithmetic.multiply(Arithmetic.add(y, py), width), .double(2))!)
                    }
                    previous = (xs[p], y)
                }
                guard let unit else { return total.value }
                return Arithmetic.divide(total.value, .int64(unitMillis(unit))) ?? .null
            }
        case .covariance(let fx, let fy, let sample):
            let xs = try inputs(fx), ys = try inputs(fy)
            return ranges.map { r in
                guard let r else { return .null }
                var points: [(Double, Double)] = []
                for p in r {
                    if let x = xs[p], let y = ys[p], x.isNumeric, y.isNumeric { points.append((x.numericDouble!, y.numericDouble!)) }
                }
                let count = Double(points.count)
                if points.isEmpty || (sample && points.count < 2) { return .null }
                let mx = points.reduce(0) { $0 + $1.0 } / count, my = points.reduce(0) { $0 + $1.1 } / count
                let s = points.reduce(0) { $0 + ($1.0 - mx) * ($1.1 - my) }
                return .double(s / (sample ? count - 1 : count))
            }
        default:
            return [BSON?](repeating: .null, count: n)
        }
    }

    /// Null and missing rank alike; otherwise values compare as sort keys.
    static func sameRankValue(_ a: BSON?, _ b: BSON?) -> Bool {
        if Values.isNullish(a) && Values.isNullish(b) { return true }
        return BSONOrder.compare(a, b) == 0
    }

    /// A sort value as a number on the x axis: dates in milliseconds (or `unit`s), numbers as is.
    static func xValue(_ v: BSON?, unit: MQLDateUnit?, op: String, allowDate: Bool) throws -> Double {
        switch v {
        case .datetime(let ms)?:
            guard allowDate else {
                throw mqlError(op, "\(op) with a date sortBy needs a 'unit' (for example unit: \"second\")")
            }
            guard let unit else { return Double(ms) }
            return Double(ms) / Double(unitMillis(unit))
        case let number? where number.isNumeric:
            if unit != nil { throw mqlError(op, "\(op)'s 'unit' needs a date sortBy field, found \(Values.typeName(number))") }
            return number.numericDouble!
        default:
            throw mqlError(op, "\(op) needs every sortBy value to be a number or a date, found \(Values.typeName(v))")
        }
    }

    /// `right − left` on the sortBy axis, as MongoDB's `$subtract` gives it: two dates differ by
    /// an int64 of milliseconds, two numbers by their numeric difference.
    static func axisDifference(_ left: BSON?, _ right: BSON?, unit: MQLDateUnit?, op: String) throws -> BSON {
        let allowDate = unit != nil
        _ = try xValue(left, unit: unit, op: op, allowDate: allowDate)
        _ = try xValue(right, unit: unit, op: op, allowDate: allowDate)
        if case .datetime(let a)? = left, case .datetime(let b)? = right {
            let (difference, overflow) = b.subtractingReportingOverflow(a)
            return overflow ? .double(Double(b) - Double(a)) : .int64(difference)
        }
        return Arithmetic.subtract(right!, left!)
    }

    static func unitMillis(_ unit: MQLDateUnit) -> Int64 {
        switch unit {
        case .week: 604_800_000
        case .day: 86_400_000
        case .hour: 3_600_000
        case .minute: 60000
        case .second: 1000
        default: 1
        }
    }

    static func linearFill(_ ys: [BSON?], xs: [Double]) throws -> [BSON?] {
        var out = ys.map { $0 ?? .null }
        var previous: Int?
        for (i, y) in ys.enumerated() {
            guard let y, !Values.isNullish(y) else { continue }
            guard y.isNumeric else {
                throw mqlError("$linearFill", "$linearFill only fills numeric values, found \(Values.typeName(y))")
            }
            if let p = previous, i - p > 1 {
                let y0 = ys[p]!, x0 = xs[p], x1 = xs[i]
                for k in (p + 1)..<i {
                    let t = (xs[k] - x0) / (x1 - x0)
                    if y0.numericKind == .decimal || y.numericKind == .decimal {
                        out[k] = (y0.numericDecimal! + (y.numericDecimal! - y0.numericDecimal!) * Dec128(double: t, digits: 34)).bson
                    } else {
                        out[k] = .double(y0.numericDouble! + (y.numericDouble! - y0.numericDouble!) * t)
                    }
                }
            }
            previous = i
        }
        return out
    }

    /// Each document's window as positions in the partition (nil: empty).
    static func windowRanges(_ output: Output, n: Int, sortValue: (Int) -> BSON?, descending: Bool) throws -> [ClosedRange<Int>?] {
        switch output.window {
        case .documents(let lower, let upper):
            func offset(_ b: Bound) -> Int? {
                switch b {
                case .unbounded: return nil
                case .current: return 0
                case .offset(let v): return Int(v.exactInt64!)
                }
            }
            let lo = offset(lower), hi = offset(upper)
            return (0..<n).map { p in
                let a = lo.map { max(0, p + $0) } ?? 0
                let b = hi.map { min(n - 1, p + $0) } ?? n - 1
                return a <= b ? a...b : nil
            }
        case .range(let lower, let upper, let unit):
            var xs: [BSON] = []
            xs.reserveCapacity(n)
            for p in 0..<n {
                let v = sortValue(p)
                switch v {
                case .datetime?:
                    guard unit != nil else {
                        throw mqlError(output.name, "invalid range: a date sortBy needs a 'unit' in the window (for example unit: \"hour\")")
                    }
                case let number? where number.isNumeric:
                    if unit != nil { throw mqlError(output.name, "invalid range: a window with a 'unit' needs a date sortBy, found \(Values.typeName(number))") }
                default:
                    throw mqlError(output.name, "invalid range: expected the sortBy field to be a \(unit == nil ? "number" : "date"), but it was \(Values.typeName(v))")
                }
                xs.append(v!)
            }
            func shifted(_ x: BSON, _ b: Bound) throws -> BSON? {
                switch b {
                case .unbounded: return nil
                case .current: return x
                case .offset(let v):
                    if let unit, case .datetime(let ms) = x {
                        guard let r = MQLDates.add(ms, unit: unit, amount: v.exactInt64!, in: .utc) else {
                            throw mqlError(output.name, "date overflow computing a range window bound")
                        }
                        return .datetime(r)
                    }
                    return try ArithmeticOperators.evaluateAdd([x, v])
                }
            }
            // Positions sorted by x (ascending or descending): binary searches per document.
            func firstIndex(where predicate: (BSON) -> Bool) -> Int {
                var lo = 0, hi = n
                while lo < hi {
                    let mid = (lo + hi) / 2
                    if predicate(xs[mid]) { hi = mid } else { lo = mid + 1 }
                }
                return lo
            }
            return try (0..<n).map { p in
                let low = try shifted(xs[p], lower), high = try shifted(xs[p], upper)
                let a: Int, b: Int
                if !descending {
                    a = low.map { l in firstIndex { BSONOrder.compare($0, l) >= 0 } } ?? 0
                    b = (high.map { h in firstIndex { BSONOrder.compare($0, h) > 0 } } ?? n) - 1
                } else {
                    a = high.map { h in firstIndex { BSONOrder.compare($0, h) <= 0 } } ?? 0
                    b = (low.map { l in firstIndex { BSONOrder.compare($0, l) < 0 } } ?? n) - 1
                }
                return a <= b ? a...b : nil
            }
        }
    }

    /// Reduces each window with fresh accumulators, sliding where the accumulator allows.
    static func reduceWindows(_ spec: AccumulatorSpec, _ values: [BSON?], _ ranges: [ClosedRange<Int>?]) throws -> [BSON?] {
        var out: [BSON?] = []
        out.reserveCapacity(ranges.count)
        // Whole-partition windows: one reduction.
        if let first = ranges.first, let whole = first, whole.lowerBound == 0, whole.upperBound == values.count - 1,
            ranges.allSatisfy({ $0 == whole })
        {
            let state = try spec.make()
            for v in values { try state.add(v) }
            let r = try state.result()
            return [BSON?](repeating: r ?? .null, count: ranges.count)
        }
        var sliding: AccumulatorState?
        var current: ClosedRange<Int>?
        for r in ranges {
            guard let r else {
                let empty = try spec.make()
                out.append(try empty.result() ?? .null)
                continue
            }
            if let state = sliding, let c = current, r.lowerBound >= c.lowerBound, r.upperBound >= c.upperBound,
                r.lowerBound == c.lowerBound || state is RemovableAccumulatorState
            {
                if r.lowerBound > c.upperBound {
                    sliding = nil
                } else {
                    for p in (c.upperBound + 1)..<(r.upperBound + 1) { try state.add(values[p]) }
                    if let removable = state as? RemovableAccumulatorState {
                        for p in c.lowerBound..<r.lowerBound { try removable.remove(values[p]) }
                    }
                    current = r
                    out.append(try state.result() ?? .null)
                    continue
                }
            }
            let state = try spec.make()
            for p in r { try state.add(values[p]) }
            sliding = state
            current = r
            out.append(try state.result() ?? .null)
        }
        return out
    }
}

extension WindowStage.Function {
    var isDense: Bool {
        if case .denseRank = self { return true }
        return false
    }
}
