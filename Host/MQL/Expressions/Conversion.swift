import FerryBSON

/// `$convert` and its shorthands. Conversion failures are MongoDB's "ConversionFailure": they
/// raise unless `onError` is given.
enum ConversionOperators {
    enum Target: String, Sendable {
        case double, string, objectId, bool, date, int, long, decimal
    }

    static let targetsByCode: [Int: Target] = [1: .double, 2: .string, 7: .objectId, 8: .bool, 9: .date, 16: .int, 18: .long, 19: .decimal]

    struct ConversionFailure: Error {
        let message: String
    }

    static let table: [String: BuiltinExpressions.Compiler] = [
        "$convert": { c, name, arg in
            let named = try c.namedArguments(name, arg, required: ["input", "to"], optional: ["onError", "onNull", "format", "base", "byteOrder"])
            if named["format"] != nil || named["base"] != nil || named["byteOrder"] != nil {
                throw mqlError(name, "$convert's 'format', 'base' and 'byteOrder' (binData and base conversions) are not supported")
            }
            let input = try c.compile(named["input"]!).eval
            let toExpr = try c.compile(named["to"]!)
            var constantTarget: Target?
            if let constant = toExpr.constant {
                if let t = constant, !Values.isNullish(t) {
                    constantTarget = try target(t)
                }
            }
            let to = toExpr.eval
            let fixedTarget = constantTarget
            let onError = try named["onError"].map { try c.compile($0).eval }
            let onNull = try named["onNull"].map { try c.compile($0).eval }
            return Expr { ctx in
                let value = try input(ctx)
                var targetType = fixedTarget
                if targetType == nil {
                    let t = try to(ctx)
                    if Values.isNullish(t) { return .null }
                    targetType = try target(t!)
                }
                if Values.isNullish(value) {
                    if let onNull { return try onNull(ctx) }
                    return .null
                }
                do {
                    return try convert(value!, to: targetType!)
                } catch let failure as ConversionFailure {
                    if let onError { return try onError(ctx) }
                    throw mqlError(name, failure.message + " in $convert with no onError value")
                }
            }
        },
        "$toDouble": shorthand(.double),
        "$toString": shorthand(.string),
        "$toObjectId": shorthand(.objectId),
        "$toBool": shorthand(.bool),
        "$toDate": shorthand(.date),
        "$toInt": shorthand(.int),
        "$toLong": shorthand(.long),
        "$toDecimal": shorthand(.decimal),
        "$type": { c, name, arg in
            let a = try c.compileOperands(name, arg, count: 1)
            return Expr.unary(a[0]) { v in .string(Values.typeName(v)) }
        },
        "$isNumber": { c, name, arg in
            let a = try c.compileOperands(name, arg, count: 1)
            return Expr.unary(a[0]) { v in .bool(v?.isNumeric ?? false) }
        },
    ]

    static func shorthand(_ target: Target) -> BuiltinExpressions.Compiler {
        { c, name, arg in
            let a = try c.compileOperands(name, arg, count: 1)
            return Expr.unary(a[0]) { v in
                guard let v, !Values.isNullish(v) else { return .null }
                do {
                    return try convert(v, to: target)
                } catch let failure as ConversionFailure {
                    throw mqlError(name, failure.message)
                }
            }
        }
    }

    static func target(_ spec: BSON) throws -> Target {
        switch spec {
        case .string(let s):
            if let t = Target(rawValue: s) { return t }
            if Values.typeCodes[s] != nil {
                throw mqlError("$convert", "unsupported conversion target type '\(s)'")
            }
            throw mqlError("$convert", "unknown type name: \(s)")
        default:
            guard spec.isNumeric, let code = spec.exactInt64 else {
                throw mqlError("$convert", "$convert's 'to' must be a string or an integer type code, found \(Values.typeName(spec))")
            }
            guard let t = targetsByCode[Int(code)] else {
                throw mqlError("$convert", "unsupported or invalid conversion target type code \(code)")
            }
            return t
        }
    }

    static func unsupported(_ v: BSON, _ to: Target) -> ConversionFailure {
        ConversionFailure(message: "Unsupported conversion from \(Values.typeName(v)) to \(typeName(to))")
    }

    static func typeName(_ t: Target) -> String {
        switch t {
        case .double: "double"
        case .string: "string"
        case .objectId: "objectId"
        case .bool: "bool"
        case .date: "date"
        case .int: "int"
        case .long: "long"
        case .decimal: "decimal"
        }
    }

    static func convert(_ v: BSON, to target: Target) throws -> BSON {
        switch target {
        case .double: return try toDouble(v)
        case .string: return try toString(v)
        case .bool: return try toBool(v)
        case .int: return try toInt(v)
        case .long: return try toLong(v)
        case .decimal: return try toDecimal(v)
        case .date: return try toDate(v)
        case .objectId: return try toObjectId(v)
        }
    }

    static func toDouble(_ v: BSON) throws -> BSON {
        switch v {
        case .double: return v
        case .int32(let i): return .double(Double(i))
        case .int64(let i): return .double(Double(i))
        case .decimal128(let d):
            let dec = Dec128(d)
            let result = dec.doubleValue
            if dec.isFinite && result.isInfinite {
                throw ConversionFailure(message: "Conversion would overflow target type: \(dec)")
            }
            return .double(result)
        case .bool(let b): return .double(b ? 1 : 0)
        case .datetime(let ms): return .double(Double(ms))
        case .string(let s):
            try rejectHex(s)
            guard let d = Double(s), !s.contains(where: { $0 == " " }) else {
                throw ConversionFailure(message: "Failed to parse number '\(s)'")
            }
            return .double(d)
        default: throw unsupported(v, .double)
        }
    }

    static func rejectHex(_ s: String) throws {
        if s.hasPrefix("0x") || s.hasPrefix("0X") || s.hasPrefix("-0x") || s.hasPrefix("-0X") {
            throw ConversionFailure(message: "Illegal hexadecimal input: \(s)")
        }
    }

    static func toString(_ v: BSON) throws -> BSON {
        switch v {
        case .string: return v
        case .double(let d): return .string(formatDouble(d))
        case .int32(let i): return .string(String(i))
        case .int64(let i): return .string(String(i))
        case .decimal128(let d): return .string(Dec128(d).description)
        case .bool(let b): return .string(b ? "true" : "false")
        case .objectID(let o): return .string(Hex.encode(o.bytes))
        case .datetime(let ms): return .string(ISODate.string(ms, alwaysMilliseconds: true))
        case .symbol(let s): return .string(s)
        default: throw unsupported(v, .string)
        }
    }

    static func toBool(_ v: BSON) throws -> BSON {
        switch v {
        case .bool: return v
        case .int32, .int64, .double, .decimal128: return .bool(!Arithmetic.isZero(v))
        case .minKey, .maxKey, .undefined, .null: throw unsupported(v, .bool)
        default: return .bool(true)
        }
    }

    static func checkFinite(_ d: Double) throws {
        if d.isNaN { throw ConversionFailure(message: "Attempt to convert NaN value to integer type") }
        if d.isInfinite { throw ConversionFailure(message: "Attempt to convert infinity value to integer type") }
    }

    static func decimalToInteger(_ d: Dec128) throws -> Int64 {
        if d.isNaN { throw ConversionFailure(message: "Attempt to convert NaN value to integer type") }
        if d.kind == .infinity { throw ConversionFailure(message: "Attempt to convert infinity value to integer type") }
        guard let l = d.truncatedInt64 else { throw ConversionFailure(message: "Conversion would overflow target type: \(d)") }
        return l
    }

    static func toInt(_ v: BSON) throws -> BSON {
        switch v {
        case .int32: return v
        case .int64(let i):
            guard let small = Int32(exactly: i) else { throw ConversionFailure(message: "Conversion would overflow target type: \(i)") }
            return .int32(small)
        case .double(let d):
            try checkFinite(d)
            guard d >= -2_147_483_648, d <= 2_147_483_647 else {
                throw ConversionFailure(message: "Conversion would overflow target type: \(formatDouble(d))")
            }
            return .int32(Int32(d.rounded(.towardZero)))
        case .decimal128(let d):
            let l = try decimalToInteger(Dec128(d))
            guard let small = Int32(exactly: l) else { throw ConversionFailure(message: "Conversion would overflow target type: \(Dec128(d))") }
            return .int32(small)
        case .bool(let b): return .int32(b ? 1 : 0)
        case .string(let s):
            try rejectHex(s)
            guard let i = Int32(s) else { throw ConversionFailure(message: "Failed to parse number '\(s)'") }
            return .int32(i)
        default: throw unsupported(v, .int)
        }
    }

    static func toLong(_ v: BSON) throws -> BSON {
        switch v {
        case .int64: return v
        case .int32(let i): return .int64(Int64(i))
        case .double(let d):
            try checkFinite(d)
            guard d >= -9.223372036854775808e18, d < 9.223372036854775808e18 else {
                throw ConversionFailure(message: "Conversion would overflow target type: \(formatDouble(d))")
            }
            return .int64(Int64(d.rounded(.towardZero)))
        case .decimal128(let d): return .int64(try decimalToInteger(Dec128(d)))
        case .bool(let b): return .int64(b ? 1 : 0)
        case .datetime(let ms): return .int64(ms)
        case .string(let s):
            try rejectHex(s)
            guard let i = Int64(s) else { throw ConversionFailure(message: "Failed to parse number '\(s)'") }
            return .int64(i)
        default: throw unsupported(v, .long)
        }
    }

    static func toDecimal(_ v: BSON) throws -> BSON {
        switch v {
        case .decimal128: return v
        case .int32(let i): return Dec128(Int64(i)).bson
        case .int64(let i): return Dec128(i).bson
        case .double(let d): return Dec128(double: d).bson
        case .bool(let b): return Dec128(b ? 1 : 0).bson
        case .datetime(let ms): return Dec128(ms).bson
        case .string(let s):
            try rejectHex(s)
            guard let d = Dec128(parsing: s) else { throw ConversionFailure(message: "Failed to parse number '\(s)'") }
            return d.bson
        default: throw unsupported(v, .decimal)
        }
    }

    static func toDate(_ v: BSON) throws -> BSON {
        switch v {
        case .datetime: return v
        case .int64(let i): return .datetime(i)
        case .double(let d):
            try checkFinite(d)
            guard d >= -9.223372036854775808e18, d < 9.223372036854775808e18 else {
                throw ConversionFailure(message: "Conversion would overflow target type: \(formatDouble(d))")
            }
            return .datetime(Int64(d.rounded(.towardZero)))
        case .decimal128(let d): return .datetime(try decimalToInteger(Dec128(d)))
        case .timestamp(let t): return .datetime(Int64(t.seconds) * 1000)
        case .objectID(let o):
            let seconds = o.bytes.prefix(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            return .datetime(Int64(seconds) * 1000)
        case .string(let s):
            do {
                return .datetime(try MQLDates.parse(s, format: nil, in: .utc))
            } catch let e as MQLDateError {
                throw ConversionFailure(message: e.message)
            }
        default: throw unsupported(v, .date)
        }
    }

    static func toObjectId(_ v: BSON) throws -> BSON {
        switch v {
        case .objectID: return v
        case .string(let s):
            let bytes = Array(s.utf8)
            guard bytes.count == 24 else {
                throw ConversionFailure(message: "Failed to parse objectId '\(s)': Invalid string length for parsing to OID, expected 24 but found \(bytes.count)")
            }
            var out: [UInt8] = []
            var i = 0
            while i < 24 {
                guard let hi = hexValue(bytes[i]), let lo = hexValue(bytes[i + 1]) else {
                    throw ConversionFailure(message: "Failed to parse objectId '\(s)': Invalid character found in hex string")
                }
                out.append(hi << 4 | lo)
                i += 2
            }
            return .objectID(BSONObjectID(bytes: out))
        default: throw unsupported(v, .objectId)
        }
    }

    static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case 48...57: c - 48
        case 97...102: c - 87
        case 65...70: c - 55
        default: nil
        }
    }
}
