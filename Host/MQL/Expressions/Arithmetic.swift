import FerryBSON
import Foundation

/// `$add`'s running total, as MongoDB keeps it: separate long, double and decimal totals and
/// the widest type seen, so results are as narrow as possible and longs overflow into doubles.
struct AddState {
    var longTotal: Int64 = 0
    var doubleTotal: Double = 0
    var decimalTotal = Dec128.zero
    var widest: NumericKind = .int32
    var isDate = false

    mutating func add(_ operand: BSON) throws {
        if case .datetime(let ms) = operand {
            if isDate { throw mqlError("$add", "only one date allowed in an $add expression") }
            let old = value
            longTotal = 0
            isDate = true
            try addToDate(old)
            try addToDate(.int64(ms))
            return
        }
        guard let kind = operand.numericKind else {
            throw mqlError("$add", "$add only supports numeric or date types, not \(Values.typeName(operand))")
        }
        if isDate {
            try addToDate(operand)
            return
        }
        let old = widest
        widest = max(widest, kind)
        if old != widest {
            switch widest {
            case .double: if old < .double { doubleTotal = Double(longTotal) }
            case .decimal: decimalTotal = old == .double ? Dec128(double: doubleTotal) : Dec128(longTotal)
            default: break
            }
        }
        switch widest {
        case .int32, .int64:
            let v = operand.exactInt64!
            let (sum, overflow) = longTotal.addingReportingOverflow(v)
            if overflow {
                widest = .double
                doubleTotal = Double(longTotal) + Double(v)
            } else {
                longTotal = sum
            }
        case .double: doubleTotal += operand.numericDouble!
        case .decimal: decimalTotal = decimalTotal + operand.numericDecimal!
        }
    }

    private mutating func addToDate(_ v: BSON) throws {
        let delta: Int64
        switch v {
        case .int32, .int64: delta = v.exactInt64!
        case .double(let d):
            guard d >= -9.223372036854775808e18 && d < 9.223372036854775808e18 else { throw mqlError("$add", "date overflow") }
            delta = Int64(d.rounded(.toNearestOrAwayFromZero))
        case .decimal128(let d):
            guard let l = Dec128(d).rounded(place: 0, mode: .halfEven).truncatedInt64 else { throw mqlError("$add", "date overflow") }
            delta = l
        case .datetime(let ms): delta = ms
        default: delta = 0
        }
        let (sum, overflow) = longTotal.addingReportingOverflow(delta)
        if overflow { throw mqlError("$add", "date overflow") }
        longTotal = sum
    }

    var value: BSON {
        if isDate { return .datetime(longTotal) }
        switch widest {
        case .int32: return integerResult(longTotal, narrowTo: .int32)
        case .int64: return .int64(longTotal)
        case .double: return .double(doubleTotal)
        case .decimal: return decimalTotal.bson
        }
    }
}

/// `$multiply`'s running product, with the same narrowing rules as `$add`.
struct MultiplyState {
    var doubleProduct: Double = 1
    var longProduct: Int64 = 1
    var decimalProduct = Dec128(1)
    var kind: NumericKind = .int32

    mutating func multiply(_ v: BSON) {
        let old = kind
        kind = max(kind, v.numericKind!)
        if kind == .decimal {
            if old != .decimal { decimalProduct = old == .double ? Dec128(double: doubleProduct) : Dec128(longProduct) }
            decimalProduct = decimalProduct * v.numericDecimal!
            return
        }
        let d = v.numericDouble!
        doubleProduct *= d
        if kind != .double {
            let (p, overflow) = longProduct.multipliedReportingOverflow(by: v.exactInt64!)
            if overflow { kind = .double } else { longProduct = p }
        }
    }

    var value: BSON {
        switch kind {
        case .int32: integerResult(longProduct, narrowTo: .int32)
        case .int64: .int64(longProduct)
        case .double: .double(doubleProduct)
        case .decimal: decimalProduct.bson
        }
    }
}

enum ArithmeticOperators {
    static let table: [String: BuiltinExpressions.Compiler] = [
        "$add": { c, name, arg in
            let args = try c.operands(arg).map { try c.compile($0) }
            return Expr.nary(args) { values in try evaluateAdd(values) }
        },
        "$subtract": { c, name, arg in
            let a = try c.compileOperands(name, arg, count: 2)
            return Expr.binary(a[0], a[1]) { x, y in try subtract(x, y) }
        },
        "$multiply": { c, name, arg in
            let args = try c.operands(arg).map { try c.compile($0) }
            return Expr.nary(args) { values in
                var state = MultiplyState()
                for v in values {
                    if Values.isNullish(v) { return .null }
                    guard v!.isNumeric else {
                        throw mqlError("$multiply", "$multiply only supports numeric types, not \(Values.typeName(v))")
                    }
                    state.multiply(v!)
                }
                return state.value
            }
        },
        "$divide": { c, name, arg in
            let a = try c.compileOperands(name, arg, count: 2)
            return Expr.binary(a[0], a[1]) { x, y in
                if let x, let y, x.isNumeric, y.isNumeric {
                    guard let q = Arithmetic.divide(x, y) else { throw mqlError("$divide", "can't $divide by zero") }
                    return q
                }
                if Values.isNullish(x) || Values.isNullish(y) { return .null }
                throw mqlError("$divide", "$divide only supports numeric types, not \(Values.typeName(x)) and \(Values.typeName(y))")
            }
        },
        "$mod": { c, name, arg in
            let a = try c.compileOperands(name, arg, count: 2)
            return Expr.binary(a[0], a[1]) { x, y in
                if let x, let y, x.isNumeric, y.isNumeric {
                    guard let r = Arithmetic.mod(x, y) else { throw mqlError("$mod", "can't $mod by zero") }
                    return r
                }
                if Values.isNullish(x) || Values.isNullish(y) { return .null }
                throw mqlError("$mod", "$mod only supports numeric types, not \(Values.typeName(x)) and \(Values.typeName(y))")
            }
        },
        "$abs": unaryNumeric { v in
            switch v {
            case .double(let d): return .double(abs(d))
            case .decimal128(let d): return Dec128(d).magnitude.bson
            case .int32(let i): return integerResult(abs(Int64(i)), narrowTo: .int32)
            case .int64(let i):
                if i == .min { throw mqlError("$abs", "can't take $abs of long long min") }
                return .int64(abs(i))
            default: return v
            }
        },
        "$ceil": unaryNumeric { v in
            switch v {
            case .double(let d): return .double(d.rounded(.up))
            case .decimal128(let d): return roundDecimalTowardInfinity(Dec128(d), up: true).bson
            default: return v
            }
        },
        "$floor": unaryNumeric { v in
            switch v {
            case .double(let d): return .double(d.rounded(.down))
            case .decimal128(let d): return roundDecimalTowardInfinity(Dec128(d), up: false).bson
            default: return v
            }
        },
        "$exp": unaryNumeric { v in
            if case .decimal128(let d) = v { return Dec128(double: Foundation.exp(Dec128(d).doubleValue), digits: 34).bson }
            return .double(Foundation.exp(v.numericDouble!))
        },
        "$sqrt": unaryNumeric { v in
            if case .decimal128(let d) = v {
                let x = Dec128(d)
                if !x.isNaN && x.negative && !x.isZero { throw mqlError("$sqrt", "$sqrt's argument must be greater than or equal to 0") }
                return Dec128(double: Foundation.sqrt(x.doubleValue), digits: 34).bson
            }
            let d = v.numericDouble!
            if d < 0 { throw mqlError("$sqrt", "$sqrt's argument must be greater than or equal to 0") }
            return .double(Foundation.sqrt(d))
        },
        "$ln": unaryNumeric { v in try logarithm(v, name: "$ln", Foundation.log) },
        "$log10": unaryNumeric { v in try logarithm(v, name: "$log10", Foundation.log10) },
        "$log": { c, name, arg in
            let a = try c.compileOperands(name, arg, count: 2)
            return Expr.binary(a[0], a[1]) { x, b in
                if Values.isNullish(x) || Values.isNullish(b) { return .null }
                guard x!.isNumeric else { throw mqlError("$log", "$log's argument must be numeric, not \(Values.typeName(x))") }
                guard b!.isNumeric else { throw mqlError("$log", "$log's base must be numeric, not \(Values.typeName(b))") }
                let xd = x!.numericDouble!, bd = b!.numericDouble!
                if !(xd > 0 || xd.isNaN) { throw mqlError("$log", "$log's argument must be a positive number, but is \(formatDouble(xd))") }
                if !((bd > 0 && bd != 1) || bd.isNaN) {
                    throw mqlError("$log", "$log's base must be a positive number not equal to 1, but is \(formatDouble(bd))")
                }
                let r = Foundation.log(xd) / Foundation.log(bd)
                if x!.numericKind == .decimal || b!.numericKind == .decimal { return Dec128(double: r, digits: 34).bson }
                return .double(r)
            }
        },
        "$pow": { c, name, arg in
            let a = try c.compileOperands(name, arg, count: 2)
            return Expr.binary(a[0], a[1]) { b, e in try power(b, e) }
        },
        "$round": { c, name, arg in try roundOrTrunc(c, name, arg, mode: .halfEven) },
        "$trunc": { c, name, arg in try roundOrTrunc(c, name, arg, mode: .towardZero) },
        "$rand": { c, name, arg in
            guard case .document(let d) = arg, d.isEmpty else { throw mqlError(name, "$rand does not take arguments; write {$rand: {}}") }
            return Expr { ctx in .double(Double(ctx.environment.random.next() >> 11) * 0x1.0p-53) }
        },
    ]

    static func evaluateAdd(_ values: [BSON?]) throws -> BSON {
        var state = AddState()
        for v in values {
            guard let v, !Values.isNullish(v) else { return .null }
            try state.add(v)
        }
        return state.value
    }

    static func subtract(_ x: BSON?, _ y: BSON?) throws -> BSON? {
        if let x, let y, x.isNumeric, y.isNumeric { return Arithmetic.subtract(x, y) }
        if Values.isNullish(x) || Values.isNullish(y) { return .null }
        if case .datetime(let ms) = x! {
            switch y! {
            case .datetime(let other):
                let (d, overflow) = ms.subtractingReportingOverflow(other)
                if overflow { throw mqlError("$subtract", "date overflow") }
                return .int64(d)
            case .int32, .int64:
                let (d, overflow) = ms.subtractingReportingOverflow(y!.exactInt64!)
                if overflow { throw mqlError("$subtract", "date overflow") }
                return .datetime(d)
            case .double(let dv):
                guard dv >= -9.223372036854775808e18 && dv < 9.223372036854775808e18 else { throw mqlError("$subtract", "date overflow") }
                let (d, overflow) = ms.subtractingReportingOverflow(Int64(dv.rounded(.toNearestOrAwayFromZero)))
                if overflow { throw mqlError("$subtract", "date overflow") }
                return .datetime(d)
            case .decimal128(let dv):
                guard let l = Dec128(dv).rounded(place: 0, mode: .halfEven).truncatedInt64 else { throw mqlError("$subtract", "date overflow") }
                let (d, overflow) = ms.subtractingReportingOverflow(l)
                if overflow { throw mqlError("$subtract", "date overflow") }
                return .datetime(d)
            default:
                throw mqlError("$subtract", "can't $subtract \(Values.typeName(y)) from date")
            }
        }
        throw mqlError("$subtract", "can't $subtract \(Values.typeName(y)) from \(Values.typeName(x))")
    }

    static func unaryNumeric(_ f: @escaping @Sendable (BSON) throws -> BSON) -> BuiltinExpressions.Compiler {
        { c, name, arg in
            let a = try c.compileOperands(name, arg, count: 1)
            return Expr.unary(a[0]) { v in
                guard let v, !Values.isNullish(v) else { return .null }
                guard v.isNumeric else { throw mqlError(name, "\(name) only supports numeric types, not \(Values.typeName(v))") }
                return try f(v)
            }
        }
    }

    static func logarithm(_ v: BSON, name: String, _ f: (Double) -> Double) throws -> BSON {
        let d = v.numericDouble!
        if !(d > 0 || d.isNaN) { throw mqlError(name, "\(name)'s argument must be a positive number, but is \(formatDouble(d))") }
        if v.numericKind == .decimal { return Dec128(double: f(d), digits: 34).bson }
        return .double(f(d))
    }

    static func roundDecimalTowardInfinity(_ d: Dec128, up: Bool) -> Dec128 {
        guard d.isFinite else { return d }
        let truncated = d.rounded(place: 0, mode: .towardZero)
        var result = truncated
        if Dec128.compare(truncated, d) != 0 {
            // Fractional part present: move away from zero when it points the rounding direction.
            if up && !d.negative { result = truncated + Dec128(1) }
            if !up && d.negative { result = truncated - Dec128(1) }
        }
        if result.exponent < 0 { result = result.rounded(place: 0, mode: .towardZero) }
        return result
    }

    static func power(_ b: BSON?, _ e: BSON?) throws -> BSON? {
        if Values.isNullish(b) || Values.isNullish(e) { return .null }
        guard let b, b.isNumeric else { throw mqlError("$pow", "$pow's base must be numeric, not \(Values.typeName(b))") }
        guard let e, e.isNumeric else { throw mqlError("$pow", "$pow's exponent must be numeric, not \(Values.typeName(e))") }
        let bd = b.numericDouble!, ed = e.numericDouble!
        if bd == 0 && ed < 0 { throw mqlError("$pow", "$pow cannot take a base of 0 and a negative exponent") }
        if b.numericKind == .decimal || e.numericKind == .decimal {
            if let exponent = e.exactInt64, exponent >= 0, exponent <= 64 {
                var result = Dec128(1)
                let base = b.numericDecimal!
                for _ in 0..<exponent { result = result * base }
                return result.bson
            }
            return Dec128(double: Foundation.pow(bd, ed), digits: 34).bson
        }
        if b.numericKind == .double || e.numericKind == .double { return .double(Foundation.pow(bd, ed)) }
        let kind: NumericKind = (b.numericKind == .int64 || e.numericKind == .int64) ? .int64 : .int32
        let base = b.exactInt64!, exponent = e.exactInt64!
        if base == 0 { return integerResult(exponent == 0 ? 1 : 0, narrowTo: kind) }
        if base == 1 { return integerResult(1, narrowTo: kind) }
        if base == -1 { return integerResult(exponent % 2 == 0 ? 1 : -1, narrowTo: kind) }
        if exponent < 0 || exponent > 63 { return .double(Foundation.pow(Double(base), Double(exponent))) }
        var result: Int64 = 1
        for _ in 0..<exponent {
            let (p, overflow) = result.multipliedReportingOverflow(by: base)
            if overflow { return .double(Foundation.pow(Double(base), Double(exponent))) }
            result = p
        }
        return integerResult(result, narrowTo: kind)
    }

    static func roundOrTrunc(_ c: ExprCompiler, _ name: String, _ arg: BSON, mode: Dec128.RoundingMode) throws -> Expr {
        let a = try c.compileOperands(name, arg, min: 1, max: 2)
        let place = a.count > 1 ? a[1] : Expr(constant: .int32(0))
        return Expr.binary(a[0], place) { v, p in
            guard let v, !Values.isNullish(v) else { return .null }
            guard v.isNumeric else { throw mqlError(name, "\(name) only supports numeric types, not \(Values.typeName(v))") }
            guard let p, !Values.isNullish(p) else { return .null }
            guard let places = p.exactInt64 else { throw mqlError(name, "precision argument to \(name) must be a integral value") }
            guard places >= -20 && places <= 100 else {
                throw mqlError(name, "cannot apply \(name) with precision value \(places) value must be in [-20, 100]")
            }
            let place = Int(places)
            switch v {
            case .decimal128(let d):
                return Dec128(d).rounded(place: place, mode: mode).bson
            case .double(let d):
                if !d.isFinite { return v }
                return .double(Dec128(double: d, digits: 34).rounded(place: place, mode: mode).doubleValue)
            default:
                if place >= 0 { return v }
                guard let out = Dec128(v.exactInt64!).rounded(place: place, mode: mode).truncatedInt64 else {
                    throw mqlError(name, "invalid conversion from Decimal128 result in \(name) resulting from arguments: [\(v.exactInt64!), \(place)]")
                }
                if case .int64 = v { return .int64(out) }
                return integerResult(out, narrowTo: .int32)
            }
        }
    }
}
