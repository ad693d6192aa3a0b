import FerryBSON

/// Small helpers over values: type names, truthiness, string coercion, sizes.
enum Values {
    /// The `$type` name of a value; "missing" for a missing one.
    static func typeName(_ v: BSON?) -> String {
        guard let v else { return "missing" }
        switch v {
        case .double: return "double"
        case .string: return "string"
        case .document: return "object"
        case .array: return "array"
        case .binary: return "binData"
        case .undefined: return "undefined"
        case .objectID: return "objectId"
        case .bool: return "bool"
        case .datetime: return "date"
        case .null: return "null"
        case .regex: return "regex"
        case .dbPointer: return "dbPointer"
        case .javascript: return "javascript"
        case .symbol: return "symbol"
        case .javascriptWithScope: return "javascriptWithScope"
        case .int32: return "int"
        case .timestamp: return "timestamp"
        case .int64: return "long"
        case .decimal128: return "decimal"
        case .minKey: return "minKey"
        case .maxKey: return "maxKey"
        }
    }

    /// BSON type numbers by alias, as `$type` and `$convert` accept them.
    static let typeCodes: [String: Int] = [
        "double": 1, "string": 2, "object": 3, "array": 4, "binData": 5, "undefined": 6, "objectId": 7,
        "bool": 8, "date": 9, "null": 10, "regex": 11, "dbPointer": 12, "javascript": 13, "symbol": 14,
        "javascriptWithScope": 15, "int": 16, "timestamp": 17, "long": 18, "decimal": 19, "minKey": -1,
        "maxKey": 127,
    ]

    static func typeCode(_ v: BSON) -> Int {
        typeCodes[typeName(v)]!
    }

    /// `$cond`/`$and`/`$expr` truthiness: false, null, undefined, missing and numeric zero are false.
    @inline(__always)
    static func isTruthy(_ v: BSON?) -> Bool {
        guard let v else { return false }
        switch v {
        case .bool(let b): return b
        case .null, .undefined: return false
        case .int32(let i): return i != 0
        case .int64(let i): return i != 0
        case .double(let d): return d != 0
        case .decimal128(let d): return !Dec128(d).isZero
        default: return true
        }
    }

    /// Missing, null or undefined: what most operators answer with null.
    @inline(__always)
    static func isNullish(_ v: BSON?) -> Bool {
        guard let v else { return true }
        switch v {
        case .null, .undefined: return true
        default: return false
        }
    }

    /// MongoDB's coercion to string for string operators (`$substrBytes`, `$toLower`,
    /// `$strcasecmp`): null and missing become "", numbers and dates their text.
    static func coerceToString(_ v: BSON?, op: String) throws -> String {
        guard let v else { return "" }
        switch v {
        case .string(let s), .symbol(let s), .javascript(let s): return s
        case .null, .undefined: return ""
        case .int32(let i): return String(i)
        case .int64(let i): return String(i)
        case .double(let d): return formatDouble(d)
        case .decimal128(let d): return Dec128(d).description
        case .datetime(let ms): return ISODate.string(ms, alwaysMilliseconds: true)
        case .timestamp(let t): return "Timestamp(\(t.seconds), \(t.increment))"
        default:
            throw mqlError(op, "can't convert from BSON type \(typeName(v)) to String")
        }
    }

    /// A short rendering of a value for error messages.
    static func describe(_ v: BSON?) -> String {
        guard let v else { return "missing" }
        switch v {
        case .string(let s): return "\"\(s)\""
        case .int32(let i): return String(i)
        case .int64(let i): return "NumberLong(\(i))"
        case .double(let d): return formatDouble(d)
        case .decimal128(let d): return "NumberDecimal(\"\(Dec128(d))\")"
        case .bool(let b): return String(b)
        case .null: return "null"
        case .undefined: return "undefined"
        case .datetime(let ms): return "Date(\(ISODate.string(ms, alwaysMilliseconds: true)))"
        case .objectID(let o): return "ObjectId(\"\(Hex.encode(o.bytes))\")"
        case .array(let a): return "[" + a.prefix(8).map { describe($0) }.joined(separator: ", ") + (a.count > 8 ? ", …" : "") + "]"
        case .document(let d):
            return "{" + d.elements.prefix(8).map { "\($0.key): \(describe($0.value))" }.joined(separator: ", ") + (d.count > 8 ? ", …" : "") + "}"
        case .regex(let p, let o): return "/\(p)/\(o)"
        case .symbol(let s): return "Symbol(\"\(s)\")"
        case .timestamp(let t): return "Timestamp(\(t.seconds), \(t.increment))"
        case .minKey: return "MinKey"
        case .maxKey: return "MaxKey"
        case .binary(let b): return "BinData(\(b.subtype), \(b.data.count) bytes)"
        case .javascript(let c): return "Code(\"\(c)\")"
        case .javascriptWithScope(let c, _): return "CodeWScope(\"\(c)\")"
        case .dbPointer(let n, _): return "DBPointer(\"\(n)\")"
        }
    }


    /// Approximate in-memory size of a value, for the blocking stages' memory limit. Counts what
    /// BSON would take on the wire, plus a little per value.
    static func estimatedSize(_ v: BSON) -> Int {
        switch v {
        case .double, .int64, .datetime, .timestamp: return 16
        case .int32, .bool, .null, .undefined, .minKey, .maxKey: return 8
        case .decimal128: return 24
        case .string(let s), .symbol(let s), .javascript(let s): return 16 + s.utf8.count
        case .document(let d): return estimatedSize(d)
        case .array(let a):
            var total = 16
            for e in a { total += 8 + estimatedSize(e) }
            return total
        case .binary(let b): return 24 + b.data.count
        case .objectID: return 24
        case .regex(let p, let o): return 32 + p.utf8.count + o.utf8.count
        case .dbPointer(let n, _): return 40 + n.utf8.count
        case .javascriptWithScope(let c, let s): return 32 + c.utf8.count + estimatedSize(s)
        }
    }

    static func estimatedSize(_ d: BSONDocument) -> Int {
        var total = 16
        for e in d.elements { total += 16 + e.key.utf8.count + estimatedSize(e.value) }
        return total
    }
}
