import FerryBSON

/// Date expression operators, over the MQLDates library. Dates are UTC unless a `timezone`
/// (Olson name or offset) is given.
enum DateOperators {
    static let table: [String: BuiltinExpressions.Compiler] = {
        var t: [String: BuiltinExpressions.Compiler] = [
            "$dateToParts": dateToParts,
            "$dateFromParts": dateFromParts,
            "$dateToString": dateToString,
            "$dateFromString": dateFromString,
            "$dateTrunc": dateTrunc,
            "$dateAdd": dateAdd(subtract: false),
            "$dateSubtract": dateAdd(subtract: true),
            "$dateDiff": dateDiff,
        ]
        let parts: [(String, @Sendable (MQLDateParts) -> Int)] = [
            ("$year", { $0.year }), ("$month", { $0.month }), ("$dayOfMonth", { $0.day }), ("$hour", { $0.hour }),
            ("$minute", { $0.minute }), ("$second", { $0.second }), ("$millisecond", { $0.millisecond }),
            ("$dayOfYear", { $0.dayOfYear }), ("$dayOfWeek", { $0.dayOfWeek }), ("$week", { $0.week }),
            ("$isoWeek", { $0.isoWeek }), ("$isoWeekYear", { $0.isoWeekYear }), ("$isoDayOfWeek", { $0.isoDayOfWeek }),
        ]
        for (name, extract) in parts { t[name] = partOperator(extract) }
        return t
    }()

    // MARK: Shared argument handling

    /// A date operand as milliseconds: dates, timestamps and ObjectIds are accepted.
    static func millis(_ v: BSON, op: String) throws -> Int64 {
        switch v {
        case .datetime(let ms): return ms
        case .timestamp(let t): return Int64(t.seconds) * 1000
        case .objectID(let o):
            let seconds = o.bytes.prefix(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            return Int64(seconds) * 1000
        default: throw mqlError(op, "can't convert from BSON type \(Values.typeName(v)) to Date")
        }
    }

    /// A compiled `timezone` argument: parsed once when constant. Evaluates to nil for null.
    struct ZoneArgument: Sendable {
        let constant: MQLTimeZone??
        let eval: EvalFunction?

        init(_ spec: BSON?, _ c: ExprCompiler, op: String) throws {
            guard let spec else {
                constant = .some(.utc)
                eval = nil
                return
            }
            let expr = try c.compile(spec)
            if let value = expr.constant {
                constant = .some(try ZoneArgument.zone(value, op: op))
                eval = nil
            } else {
                constant = nil
                eval = expr.eval
            }
        }

        func evaluate(_ ctx: EvalContext, op: String) throws -> MQLTimeZone? {
            if let constant { return constant }
            return try ZoneArgument.zone(try eval!(ctx), op: op)
        }

        static func zone(_ v: BSON?, op: String) throws -> MQLTimeZone? {
            guard let v, !Values.isNullish(v) else { return nil }
            guard case .string(let s) = v else {
                throw mqlError(op, "timezone must evaluate to a string, found \(Values.typeName(v))")
            }
            do {
                return try MQLTimeZone(parsing: s)
            } catch let e as MQLDateError {
                throw mqlError(op, e.message)
            } catch {
                throw mqlError(op, "unrecognized time zone identifier: \"\(s)\"")
            }
        }
    }

    static func unit(_ v: BSON, op: String, what: String = "unit") throws -> MQLDateUnit {
        guard case .string(let s) = v else {
            throw mqlError(op, "\(op) requires '\(what)' to be a string, but got \(Values.typeName(v))")
        }
        guard let u = MQLDateUnit(rawValue: s) else {
            throw mqlError(op, "\(op) parameter '\(what)' value cannot be recognized as a time unit: \(s)")
        }
        return u
    }

    static func weekday(_ v: BSON, op: String) throws -> MQLWeekday {
        guard case .string(let s) = v, let d = MQLWeekday(name: s) else {
            throw mqlError(op, "\(op) parameter 'startOfWeek' value cannot be recognized as a day of a week: \(Values.describe(v))")
        }
        return d
    }

    static func rethrowDateError<T>(_ op: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let e as MQLDateError {
            throw mqlError(op, e.message)
        }
    }

    // MARK: $year … $isoDayOfWeek

    static func partOperator(_ extract: @escaping @Sendable (MQLDateParts) -> Int) -> BuiltinExpressions.Compiler {
        { c, name, arg in
            var dateSpec = arg
            var zoneSpec: BSON?
            switch arg {
            case .document(let d) where d.elements.first.map({ !$0.key.hasPrefix("$") }) ?? true:
                let named = try c.namedArguments(name, arg, required: ["date"], optional: ["timezone"])
                dateSpec = named["date"]!
                zoneSpec = named["timezone"]
            case .array(let a):
                guard a.count == 1 else {
                    throw mqlError(name, "expression \(name) takes exactly 1 argument; \(a.count) were passed in")
                }
                dateSpec = a[0]
            default: break
            }
            let date = try c.compile(dateSpec).eval
            let zone = try ZoneArgument(zoneSpec, c, op: name)
            return Expr { ctx in
                let v = try date(ctx)
                guard let v, !Values.isNullish(v) else { return .null }
                guard let z = try zone.evaluate(ctx, op: name) else { return .null }
                let ms = try millis(v, op: name)
                return .int32(Int32(truncatingIfNeeded: extract(MQLDates.parts(ms, in: z))))
            }
        }
    }

    // MARK: $dateToParts

    static let dateToParts: BuiltinExpressions.Compiler = { c, name, arg in
        let named = try c.namedArguments(name, arg, required: ["date"], optional: ["timezone", "iso8601"])
        let date = try c.compile(named["date"]!).eval
        let zone = try ZoneArgument(named["timezone"], c, op: name)
        let iso = try named["iso8601"].map { try c.compile($0).eval }
        return Expr { ctx in
            let v = try date(ctx)
            guard let z = try zone.evaluate(ctx, op: name) else { return .null }
            var useISO = false
            if let iso {
                let flag = try iso(ctx)
                if Values.isNullish(flag) { return .null }
                guard case .bool(let b) = flag! else {
                    throw mqlError(name, "iso8601 must evaluate to a bool, found \(Values.typeName(flag))")
                }
                useISO = b
            }
            guard let v, !Values.isNullish(v) else { return .null }
            let p = MQLDates.parts(try millis(v, op: name), in: z)
            func i(_ x: Int) -> BSON { .int32(Int32(truncatingIfNeeded: x)) }
            if useISO {
                return .document([
                    "isoWeekYear": i(p.isoWeekYear), "isoWeek": i(p.isoWeek), "isoDayOfWeek": i(p.isoDayOfWeek),
                    "hour": i(p.hour), "minute": i(p.minute), "second": i(p.second), "millisecond": i(p.millisecond),
                ])
            }
            return .document([
                "year": i(p.year), "month": i(p.month), "day": i(p.day), "hour": i(p.hour), "minute": i(p.minute),
                "second": i(p.second), "millisecond": i(p.millisecond),
            ])
        }
    }

    // MARK: $dateFromParts

    static let dateFromParts: BuiltinExpressions.Compiler = { c, name, arg in
        let calendarFields = ["year", "month", "day"]
        let isoFields = ["isoWeekYear", "isoWeek", "isoDayOfWeek"]
        let timeFields = ["hour", "minute", "second", "millisecond"]
        let named = try c.namedArguments(name, arg, required: [], optional: calendarFields + isoFields + timeFields + ["timezone"])
        let usesCalendar = calendarFields.contains { named[$0] != nil }
        let usesISO = isoFields.contains { named[$0] != nil }
        if usesCalendar && usesISO {
            throw mqlError(name, "$dateFromParts does not allow mixing natural dates with ISO dates")
        }
        if usesISO && named["isoWeekYear"] == nil {
            throw mqlError(name, "$dateFromParts requires either 'year' or 'isoWeekYear' to be present")
        }
        if !usesISO && named["year"] == nil {
            throw mqlError(name, "$dateFromParts requires either 'year' or 'isoWeekYear' to be present")
        }
        let fieldNames = (usesISO ? isoFields : calendarFields) + timeFields
        let defaults: [String: Int64] = ["month": 1, "day": 1, "isoWeek": 1, "isoDayOfWeek": 1]
        let fields = try fieldNames.map { field -> (String, EvalFunction?) in
            (field, try named[field].map { try c.compile($0).eval })
        }
        let zone = try ZoneArgument(named["timezone"], c, op: name)
        return Expr { ctx in
            var values: [Int] = []
            for (field, eval) in fields {
                guard let eval else {
                    values.append(Int(defaults[field] ?? 0))
                    continue
                }
                let v = try eval(ctx)
                guard let v, !Values.isNullish(v) else { return .null }
                guard v.isNumeric, let n = v.exactInt64 else {
                    throw mqlError(name, "'\(field)' must evaluate to an integer, found \(Values.typeName(v)) with value \(Values.describe(v))")
                }
                if field == "year" || field == "isoWeekYear" {
                    guard (1...9999).contains(n) else {
                        throw mqlError(name, "'\(field)' must evaluate to an integer in the range 1 to 9999, found \(n)")
                    }
                } else {
                    guard (-32768...32767).contains(n) else {
                        throw mqlError(name, "'\(field)' must evaluate to a value in the range [-32768, 32767]; value \(n) is not in range")
                    }
                }
                values.append(Int(n))
            }
            guard let z = try zone.evaluate(ctx, op: name) else { return .null }
            if usesISO {
                return .datetime(MQLDates.fromISOParts(
                    isoWeekYear: values[0], isoWeek: values[1], isoDayOfWeek: values[2], hour: values[3], minute: values[4],
                    second: values[5], millisecond: values[6], in: z))
            }
            return .datetime(MQLDates.fromParts(
                year: values[0], month: values[1], day: values[2], hour: values[3], minute: values[4], second: values[5],
                millisecond: values[6], in: z))
        }
    }

    // MARK: $dateToString / $dateFromString

    static let dateToString: BuiltinExpressions.Compiler = { c, name, arg in
        let named = try c.namedArguments(name, arg, required: ["date"], optional: ["format", "timezone", "onNull"])
        let date = try c.compile(named["date"]!).eval
        let format = try named["format"].map { try c.compile($0) }
        if let constant = format?.constant, let f = constant, !Values.isNullish(f) {
            guard case .string(let text) = f else {
                throw mqlError(name, "$dateToString requires that 'format' be a string, found: \(Values.typeName(f)) with value \(Values.describe(f))")
            }
            // Validate the format once, now, as MongoDB does when it is constant.
            _ = try rethrowDateError(name) { try MQLDates.format(0, format: text, in: .utc) }
        }
        let zone = try ZoneArgument(named["timezone"], c, op: name)
        let onNull = try named["onNull"].map { try c.compile($0).eval }
        let formatEval = format?.eval
        return Expr { ctx in
            let v = try date(ctx)
            var formatText: String?
            if let formatEval {
                let f = try formatEval(ctx)
                if Values.isNullish(f) { return .null }
                guard case .string(let text) = f! else {
                    throw mqlError(name, "$dateToString requires that 'format' be a string, found: \(Values.typeName(f)) with value \(Values.describe(f))")
                }
                formatText = text
            }
            guard let z = try zone.evaluate(ctx, op: name) else { return .null }
            guard let v, !Values.isNullish(v) else {
                if let onNull { return try onNull(ctx) }
                return .null
            }
            let ms = try millis(v, op: name)
            return .string(try rethrowDateError(name) {
                try MQLDates.format(ms, format: formatText ?? MQLDates.defaultFormat(in: z), in: z)
            })
        }
    }

    static let dateFromString: BuiltinExpressions.Compiler = { c, name, arg in
        let named = try c.namedArguments(name, arg, required: ["dateString"], optional: ["format", "timezone", "onError", "onNull"])
        let string = try c.compile(named["dateString"]!).eval
        let format = try named["format"].map { try c.compile($0).eval }
        let zone = try ZoneArgument(named["timezone"], c, op: name)
        let onError = try named["onError"].map { try c.compile($0).eval }
        let onNull = try named["onNull"].map { try c.compile($0).eval }
        return Expr { ctx in
            let v = try string(ctx)
            var formatText: String?
            if let format {
                let f = try format(ctx)
                if Values.isNullish(f) { return .null }
                guard case .string(let text) = f! else {
                    throw mqlError(name, "$dateFromString requires that 'format' be a string, found: \(Values.typeName(f)) with value \(Values.describe(f))")
                }
                formatText = text
            }
            guard let z = try zone.evaluate(ctx, op: name) else { return .null }
            guard let v, !Values.isNullish(v) else {
                if let onNull { return try onNull(ctx) }
                return .null
            }
            guard case .string(let text) = v else {
                if let onError { return try onError(ctx) }
                throw mqlError(name, "$dateFromString requires that 'dateString' be a string, found: \(Values.typeName(v)) with value \(Values.describe(v))")
            }
            do {
                return .datetime(try MQLDates.parse(text, format: formatText, in: z))
            } catch let e as MQLDateError {
                if let onError { return try onError(ctx) }
                throw mqlError(name, e.message)
            }
        }
    }

    // MARK: $dateTrunc, $dateAdd, $dateSubtract, $dateDiff

    /// An argument that is usually constant: evaluated once when it is.
    struct Argument<T: Sendable>: Sendable {
        let constant: T??
        let eval: EvalFunction?
        let convert: @Sendable (BSON) throws -> T

        init(_ spec: BSON?, default value: T?, _ c: ExprCompiler, convert: @escaping @Sendable (BSON) throws -> T) throws {
            self.convert = convert
            guard let spec else {
                constant = .some(value)
                eval = nil
                return
            }
            let expr = try c.compile(spec)
            if let v = expr.constant {
                constant = .some(try v.flatMap { Values.isNullish($0) ? nil : try convert($0) })
                eval = nil
            } else {
                constant = nil
                eval = expr.eval
            }
        }

        /// nil when the argument is null or missing.
        func evaluate(_ ctx: EvalContext) throws -> T? {
            if let constant { return constant }
            let v = try eval!(ctx)
            guard let v, !Values.isNullish(v) else { return nil }
            return try convert(v)
        }
    }

    static let dateTrunc: BuiltinExpressions.Compiler = { c, name, arg in
        let named = try c.namedArguments(name, arg, required: ["date", "unit"], optional: ["binSize", "timezone", "startOfWeek"])
        let date = try c.compile(named["date"]!)
        let unit = try Argument<MQLDateUnit>(named["unit"], default: nil, c) { try DateOperators.unit($0, op: name) }
        let binSize = try Argument<Int64>(named["binSize"], default: 1, c) { v in
            guard v.isNumeric, let n = v.exactInt64 else {
                throw mqlError(name, "\(name) requires 'binSize' to be a 64-bit integer, but got value '\(Values.describe(v))' of type \(Values.typeName(v))")
            }
            guard n > 0 else { throw mqlError(name, "\(name) requires 'binSize' to be greater than 0, but got value \(n)") }
            return n
        }
        let zone = try ZoneArgument(named["timezone"], c, op: name)
        let startOfWeek = try Argument<MQLWeekday>(named["startOfWeek"], default: .sunday, c) { try weekday($0, op: name) }
        let dateEval = date.eval
        // The benchmark's hot path: constant unit, bin size, zone and week start.
        if case .some(.some(let u)) = unit.constant, case .some(.some(let b)) = binSize.constant,
            case .some(.some(let z)) = zone.constant, case .some(.some(let w)) = startOfWeek.constant
        {
            return Expr { ctx in
                let v = try dateEval(ctx)
                guard let v, !Values.isNullish(v) else { return .null }
                let ms: Int64
                if case .datetime(let d) = v { ms = d } else { ms = try millis(v, op: name) }
                return .datetime(try rethrowDateError(name) {
                    try MQLDates.checkedTruncate(ms, unit: u, binSize: b, in: z, startOfWeek: w)
                })
            }
        }
        return Expr { ctx in
            let v = try dateEval(ctx)
            guard let u = try unit.evaluate(ctx), let b = try binSize.evaluate(ctx), let z = try zone.evaluate(ctx, op: name),
                let w = try startOfWeek.evaluate(ctx)
            else { return .null }
            guard let v, !Values.isNullish(v) else { return .null }
            let ms = try millis(v, op: name)
            return .datetime(try rethrowDateError(name) {
                try MQLDates.checkedTruncate(ms, unit: u, binSize: b, in: z, startOfWeek: w)
            })
        }
    }

    static func dateAdd(subtract: Bool) -> BuiltinExpressions.Compiler {
        { c, name, arg in
            let named = try c.namedArguments(name, arg, required: ["startDate", "unit", "amount"], optional: ["timezone"])
            let start = try c.compile(named["startDate"]!).eval
            let unit = try Argument<MQLDateUnit>(named["unit"], default: nil, c) { try DateOperators.unit($0, op: name) }
            let amount = try Argument<Int64>(named["amount"], default: nil, c) { v in
                guard v.isNumeric, let n = v.exactInt64 else {
                    throw mqlError(name, "invalid \(name) 'amount' parameter value: \(Values.describe(v))")
                }
                return n
            }
            let zone = try ZoneArgument(named["timezone"], c, op: name)
            return Expr { ctx in
                let v = try start(ctx)
                guard let u = try unit.evaluate(ctx), var a = try amount.evaluate(ctx), let z = try zone.evaluate(ctx, op: name)
                else { return .null }
                guard let v, !Values.isNullish(v) else { return .null }
                let ms = try millis(v, op: name)
                if subtract {
                    guard a != .min else { throw mqlError(name, "invalid \(name) 'amount' parameter value: \(a)") }
                    a = -a
                }
                return .datetime(try rethrowDateError(name) { try MQLDates.checkedAdd(ms, unit: u, amount: a, in: z) })
            }
        }
    }

    static let dateDiff: BuiltinExpressions.Compiler = { c, name, arg in
        let named = try c.namedArguments(name, arg, required: ["startDate", "endDate", "unit"], optional: ["timezone", "startOfWeek"])
        let start = try c.compile(named["startDate"]!).eval
        let end = try c.compile(named["endDate"]!).eval
        let unit = try Argument<MQLDateUnit>(named["unit"], default: nil, c) { try DateOperators.unit($0, op: name) }
        let zone = try ZoneArgument(named["timezone"], c, op: name)
        let startOfWeek = try Argument<MQLWeekday>(named["startOfWeek"], default: .sunday, c) { try weekday($0, op: name) }
        return Expr { ctx in
            let s = try start(ctx), e = try end(ctx)
            guard let u = try unit.evaluate(ctx), let z = try zone.evaluate(ctx, op: name), let w = try startOfWeek.evaluate(ctx)
            else { return .null }
            guard let s, !Values.isNullish(s), let e, !Values.isNullish(e) else { return .null }
            let from = try millis(s, op: name), to = try millis(e, op: name)
            return .int64(try rethrowDateError(name) {
                try MQLDates.checkedDiff(start: from, end: to, unit: u, in: z, startOfWeek: w)
            })
        }
    }
}
