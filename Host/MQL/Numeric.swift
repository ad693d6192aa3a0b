import FerryBSON

/// The four numeric BSON types, narrowest first: arithmetic promotes to the wider of its operands.
enum NumericKind: Int, Comparable, Sendable {
    case int32 = 0, int64, double, decimal
    static func < (a: NumericKind, b: NumericKind) -> Bool { a.rawValue < b.rawValue }
}

extension BSON {
    @inline(__always)
    var numericKind: NumericKind? {
        switch self {
        case .int32: .int32
        case .int64: .int64
        case .double: .double
        case .decimal128: .decimal
        default: nil
        }
    }

    @inline(__always)
    var isNumeric: Bool { numericKind != nil }

    /// Any numeric as a Double (decimals through their exact value, rounded).
    var numericDouble: Double? {
        switch self {
        case .double(let d): d
        case .int32(let i): Double(i)
        case .int64(let i): Double(i)
        case .decimal128(let d): Dec128(d).doubleValue
        default: nil
        }
    }

    /// Any numeric as a decimal; doubles converted the way MongoDB converts them (15 digits).
    var numericDecimal: Dec128? {
        switch self {
        case .double(let d): Dec128(double: d)
        case .int32(let i): Dec128(Int64(i))
        case .int64(let i): Dec128(i)
        case .decimal128(let d): Dec128(d)
        default: nil
        }
    }

    /// A numeric that holds a whole number representable as Int64.
    var exactInt64: Int64? {
        switch self {
        case .int32(let i): Int64(i)
        case .int64(let i): i
        case .double(let d): d.isFinite && d.rounded(.towardZero) == d && d >= -9.223372036854775808e18 && d < 9.223372036854775808e18 ? Int64(d) : nil
        case .decimal128(let d):
            Dec128(d).isIntegral ? Dec128(d).truncatedInt64 : nil
        default: nil
        }
    }

    /// A numeric that holds a whole number representable as Int32.
    var exactInt32: Int32? { exactInt64.flatMap { Int32(exactly: $0) } }
}

/// Wraps an Int64 result as int32 when `kind` is int32 and it fits, as MongoDB narrows results.
@inline(__always)
func integerResult(_ value: Int64, narrowTo kind: NumericKind) -> BSON {
    if kind == .int32, let small = Int32(exactly: value) { return .int32(small) }
    return .int64(value)
}

enum Arithmetic {
    /// `a + b` over two numerics with MongoDB's promotion: int32 overflows into int64, int64
    /// into double; any double makes a double, any decimal a decimal.
    static func add(_ a: BSON, _ b: BSON) -> BSON {
        let kind = max(a.numericKind!, b.numericKind!)
        switch kind {
        case .int32, .int64:
            let x = a.exactInt64!, y = b.exactInt64!
            let (sum, overflow) = x.addingReportingOverflow(y)
            if overflow { return .double(Double(x) + Double(y)) }
            return integerResult(sum, narrowTo: kind)
        case .double:
            return .double(a.numericDouble! + b.numericDouble!)
        case .decimal:
            return (a.numericDecimal! + b.numericDecimal!).bson
        }
    }

    static func subtract(_ a: BSON, _ b: BSON) -> BSON {
        let kind = max(a.numericKind!, b.numericKind!)
        switch kind {
        case .int32, .int64:
            let x = a.exactInt64!, y = b.exactInt64!
            let (difference, overflow) = x.subtractingReportingOverflow(y)
            if overflow { return .double(Double(x) - Double(y)) }
            return integerResult(difference, narrowTo: kind)
        case .double:
            return .double(a.numericDouble! - b.numericDouble!)
        case .decimal:
            return (a.numericDecimal! - b.numericDecimal!).bson
        }
    }

    static func multiply(_ a: BSON, _ b: BSON) -> BSON {
        let kind = max(a.numericKind!, b.numericKind!)
        switch kind {
        case .int32, .int64:
            let x = a.exactInt64!, y = b.exactInt64!
            let (product, overflow) = x.multipliedReportingOverflow(by: y)
            if overflow { return .double(Double(x) * Double(y)) }
            return integerResult(product, narrowTo: kind)
        case .double:
            return .double(a.numericDouble! * b.numericDouble!)
        case .decimal:
            return (a.numericDecimal! * b.numericDecimal!).bson
        }
    }

    /// Nil on division by zero (the caller raises MongoDB's error).
    static func divide(_ a: BSON, _ b: BSON) -> BSON? {
        if a.numericKind == .decimal || b.numericKind == .decimal {
            guard let q = a.numericDecimal! / b.numericDecimal! else { return nil }
            return q.bson
        }
        let y = b.numericDouble!
        if y == 0 { return nil }
        return .double(a.numericDouble! / y)
    }

    /// MongoDB's `$mod`: integer types keep their type, the sign follows the dividend.
    static func mod(_ a: BSON, _ b: BSON) -> BSON? {
        let kind = max(a.numericKind!, b.numericKind!)
        switch kind {
        case .int32, .int64:
            let x = a.exactInt64!, y = b.exactInt64!
            if y == 0 { return nil }
            if y == -1 { return integerResult(0, narrowTo: kind) }
            return integerResult(x % y, narrowTo: kind)
        case .double:
            let y = b.numericDouble!
            if y == 0 { return nil }
            return .double(a.numericDouble!.truncatingRemainder(dividingBy: y))
        case .decimal:
            let x = a.numericDecimal!, y = b.numericDecimal!
            if y.isZero { return nil }
            if !x.isFinite || y.isNaN { return Dec128.nan.bson }
            if y.kind == .infinity { return x.bson }
            guard let q = x / y else { return nil }
            let truncated = q.rounded(place: 0, mode: .towardZero)
            return (x - truncated * y).bson
        }
    }

    /// Exact comparison of two numerics of any types. NaN equals NaN and sorts below all numbers.
    static func compare(_ a: BSON, _ b: BSON) -> Int {
        switch (a, b) {
        case (.int32(let x), .int32(let y)): return x < y ? -1 : (x > y ? 1 : 0)
        case (.int64(let x), .int64(let y)): return x < y ? -1 : (x > y ? 1 : 0)
        case (.int32(let x), .int64(let y)): return Int64(x) < y ? -1 : (Int64(x) > y ? 1 : 0)
        case (.int64(let x), .int32(let y)): return x < Int64(y) ? -1 : (x > Int64(y) ? 1 : 0)
        case (.double(let x), .double(let y)): return compareDoubles(x, y)
        case (.int32(let x), .double(let y)): return compareLongToDouble(Int64(x), y)
        case (.int64(let x), .double(let y)): return compareLongToDouble(x, y)
        case (.double(let x), .int32(let y)): return -compareLongToDouble(Int64(y), x)
        case (.double(let x), .int64(let y)): return -compareLongToDouble(y, x)
        default:
            return Dec128.compare(exactDecimal(a), exactDecimal(b))
        }
    }

    /// A numeric as the decimal it compares as (doubles through 34 significant digits).
    static func exactDecimal(_ v: BSON) -> Dec128 {
        switch v {
        case .double(let d): Dec128(double: d, digits: 34)
        case .int32(let i): Dec128(Int64(i))
        case .int64(let i): Dec128(i)
        case .decimal128(let d): Dec128(d)
        default: .nan
        }
    }

    @inline(__always)
    static func compareDoubles(_ x: Double, _ y: Double) -> Int {
        if x < y { return -1 }
        if x > y { return 1 }
        if x == y { return 0 }
        // At least one NaN: NaN is below everything and equal to itself.
        if x.isNaN { return y.isNaN ? 0 : -1 }
        return 1
    }

    static func compareLongToDouble(_ x: Int64, _ y: Double) -> Int {
        if y.isNaN { return 1 }
        if y >= 9.223372036854775808e18 { return -1 }
        if y < -9.223372036854775808e18 { return 1 }
        let whole = y.rounded(.towardZero)
        let w = Int64(whole)
        if x < w { return -1 }
        if x > w { return 1 }
        let fraction = y - whole
        return fraction > 0 ? -1 : (fraction < 0 ? 1 : 0)
    }

    /// Whether a numeric is zero (any type), for truthiness.
    static func isZero(_ v: BSON) -> Bool {
        switch v {
        case .int32(let i): i == 0
        case .int64(let i): i == 0
        case .double(let d): d == 0
        case .decimal128(let d): Dec128(d).isZero
        default: false
        }
    }
}

/// Formats a double as MongoDB's `$toString` does: the shortest text that reads back the same,
/// without a trailing `.0`, exponent form outside [1e-4, 1e16).
func formatDouble(_ d: Double) -> String {
    if d.isNaN { return "NaN" }
    if d.isInfinite { return d < 0 ? "-Infinity" : "Infinity" }
    if d == 0 { return d.sign == .minus ? "-0" : "0" }
    var text = d.description
    if text.hasSuffix(".0") { text.removeLast(2) }
    return text
}
