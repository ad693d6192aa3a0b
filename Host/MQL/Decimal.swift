import FerryBSON
import Foundation

/// A decoded IEEE 754-2008 decimal128 value, with the arithmetic MongoDB's aggregation needs.
///
/// How far this goes (a deliberate scope decision, documented in the README of this module):
/// - decoding/encoding of the BID bit layout, non-canonical coefficients read as zero as the
///   standard says;
/// - exact comparison with every other numeric type (a double is compared through its exact
///   decimal expansion rounded to 34 digits, as MongoDB does);
/// - `+ - * /` correctly rounded to 34 digits, round-half-even, with IEEE preferred exponents
///   (so `1.50 + 1` is `2.50`, `10 / 4` is `2.5`); `$round`/`$trunc` exact;
/// - transcendental functions (`$ln`, `$exp`, `$pow` with non-integer results, `$sqrt`, …) go
///   through Double and back, so they carry double precision only.
struct Dec128: Sendable, Hashable, CustomStringConvertible {
    enum Kind: Sendable, Hashable { case finite, infinity, nan }
    var kind: Kind
    var negative: Bool
    /// Less than 10^34 for finite values.
    var coefficient: UInt128
    var exponent: Int

    static let maxCoefficient: UInt128 = pow10(34) - 1
    static let maxExponent = 6111
    static let minExponent = -6176
    static let bias = 6176

    static let nan = Dec128(kind: .nan, negative: false, coefficient: 0, exponent: 0)
    static let zero = Dec128(kind: .finite, negative: false, coefficient: 0, exponent: 0)
    static func infinity(negative: Bool) -> Dec128 {
        Dec128(kind: .infinity, negative: negative, coefficient: 0, exponent: 0)
    }

    init(kind: Kind, negative: Bool, coefficient: UInt128, exponent: Int) {
        self.kind = kind
        self.negative = negative
        self.coefficient = coefficient
        self.exponent = exponent
    }

    init(_ bits: BSONDecimal128) {
        let high = bits.high
        negative = (high >> 63) & 1 == 1
        let combination = (high >> 58) & 0x1F
        if combination == 0x1F {
            kind = .nan; coefficient = 0; exponent = 0; negative = false
            return
        }
        if combination == 0x1E {
            kind = .infinity; coefficient = 0; exponent = 0
            return
        }
        kind = .finite
        if (high >> 61) & 3 == 3 {
            // Coefficients with the implicit 100 prefix exceed 10^34: non-canonical, read as zero.
            exponent = Int((high >> 47) & 0x3FFF) - Dec128.bias
            coefficient = 0
        } else {
            exponent = Int((high >> 49) & 0x3FFF) - Dec128.bias
            let c = (UInt128(high & 0x1_FFFF_FFFF_FFFF) << 64) | UInt128(bits.low)
            coefficient = c > Dec128.maxCoefficient ? 0 : c
        }
    }

    var bits: BSONDecimal128 {
        switch kind {
        case .nan: return BSONDecimal128(low: 0, high: 0x7C00_0000_0000_0000)
        case .infinity: return BSONDecimal128(low: 0, high: negative ? 0xF800_0000_0000_0000 : 0x7800_0000_0000_0000)
        case .finite:
            let e = UInt64(exponent + Dec128.bias) & 0x3FFF
            var high = (e << 49) | UInt64(truncatingIfNeeded: coefficient >> 64) & 0x1_FFFF_FFFF_FFFF
            if negative { high |= 1 << 63 }
            return BSONDecimal128(low: UInt64(truncatingIfNeeded: coefficient), high: high)
        }
    }

    var bson: BSON { .decimal128(bits) }

    var isNaN: Bool { kind == .nan }
    var isZero: Bool { kind == .finite && coefficient == 0 }
    var isFinite: Bool { kind == .finite }

    // MARK: Conversions

    init(_ value: Int64) {
        kind = .finite
        negative = value < 0
        coefficient = UInt128(value.magnitude)
        exponent = 0
    }

    /// A double as MongoDB converts it by default: rounded to 15 significant digits, trailing zeros
    /// kept (`2.5` becomes `2.50000000000000`).
    init(double: Double) {
        self.init(double: double, digits: 15)
    }

    /// A double rounded to `digits` significant digits (34 gives the value MongoDB compares with).
    init(double: Double, digits: Int) {
        if double.isNaN { self = .nan; return }
        if double.isInfinite { self = .infinity(negative: double < 0); return }
        if double == 0 {
            self = Dec128(kind: .finite, negative: double.sign == .minus, coefficient: 0, exponent: 0)
            return
        }
        let text = String(format: "%.\(digits - 1)e", double)
        self = Dec128(parsing: text) ?? .nan
    }

    /// Parses decimal text: `-12.5`, `1E+3`, `.5`, `NaN`, `Infinity`, `-Inf`. Rounds to 34
    /// significant digits, half to even. Nil when the text is not a number.
    init?(parsing text: String) {
        var s = Substring(text)
        var negative = false
        if s.first == "-" { negative = true; s = s.dropFirst() } else if s.first == "+" { s = s.dropFirst() }
        let lower = s.lowercased()
        if lower == "nan" { self = .nan; return }
        if lower == "inf" || lower == "infinity" { self = .infinity(negative: negative); return }
        var digits: [UInt8] = []
        var exponent = 0
        var sawDigit = false
        var sawPoint = false
        var index = s.startIndex
        while index < s.endIndex {
            let c = s[index]
            if let d = c.wholeNumberValue, c.isASCII {
                sawDigit = true
                if !(digits.isEmpty && d == 0) { digits.append(UInt8(d)) }
                if sawPoint { exponent -= 1 }
            } else if c == ".", !sawPoint {
                sawPoint = true
            } else {
                break
            }
            index = s.index(after: index)
        }
        guard sawDigit else { return nil }
        if index < s.endIndex {
            guard s[index] == "e" || s[index] == "E" else { return nil }
            let rest = s[s.index(after: index)...]
            guard let e = Int(rest), rest.first != " " else { return nil }
            exponent += e
        }
        // Round to 34 digits.
        var wide = U256.zero
        var dropped = 0
        var roundDigit: UInt8 = 0
        var sticky = false
        for (i, d) in digits.enumerated() {
            if i < 34 {
                wide = wide.times10().adding(UInt128(d))
            } else if i == 34 {
                roundDigit = d; dropped += 1
            } else {
                if d != 0 { sticky = true }
                dropped += 1
            }
        }
        var result = Dec128(kind: .finite, negative: negative, coefficient: wide.low, exponent: exponent + dropped)
        if dropped > 0 {
            let roundUp = roundDigit > 5 || (roundDigit == 5 && (sticky || result.coefficient & 1 == 1))
            if roundUp { result.coefficient += 1 }
            if result.coefficient > Dec128.maxCoefficient {
                result.coefficient /= 10
                result.exponent += 1
            }
        }
        self = result.clamped()
    }

    /// Brings the exponent into range: pads or strips zeros, overflows to infinity, underflows to zero.
    func clamped() -> Dec128 {
        guard kind == .finite else { return self }
        var r = self
        while r.exponent > Dec128.maxExponent {
            if r.coefficient == 0 { r.exponent = Dec128.maxExponent; break }
            if r.coefficient > Dec128.maxCoefficient / 10 { return .infinity(negative: negative) }
            r.coefficient *= 10
            r.exponent -= 1
        }
        if r.exponent < Dec128.minExponent {
            let wide = U256(low: r.coefficient)
            return Dec128.round(wide, exponent: r.exponent, negative: r.negative, roundDigit: 0, sticky: false)
        }
        return r
    }

    var doubleValue: Double {
        switch kind {
        case .nan: return .nan
        case .infinity: return negative ? -.infinity : .infinity
        case .finite:
            if coefficient == 0 { return negative ? -0.0 : 0.0 }
            return Double("\(negative ? "-" : "")\(coefficient)e\(exponent)") ?? .nan
        }
    }

    /// The value truncated toward zero, or nil when out of Int64 range or not finite.
    var truncatedInt64: Int64? {
        guard kind == .finite else { return nil }
        var c = coefficient
        var e = exponent
        while e < 0 {
            if c == 0 { break }
            c /= 10
            e += 1
        }
        while e > 0 && c != 0 {
            if c > UInt128(Int64.max) { return nil }
            c *= 10
            e -= 1
        }
        if negative {
            guard c <= UInt128(Int64.max) + 1 else { return nil }
            return c == UInt128(Int64.max) + 1 ? Int64.min : -Int64(c)
        }
        guard c <= UInt128(Int64.max) else { return nil }
        return Int64(c)
    }

    /// Whether the value is a whole number.
    var isIntegral: Bool {
        guard kind == .finite else { return false }
        if exponent >= 0 || coefficient == 0 { return true }
        var c = coefficient
        var e = exponent
        while e < 0 {
            if c % 10 != 0 { return false }
            c /= 10
            e += 1
        }
        return true
    }

    /// IEEE to-scientific-string, as MongoDB prints decimals.
    var description: String {
        switch kind {
        case .nan: return "NaN"
        case .infinity: return negative ? "-Infinity" : "Infinity"
        case .finite: break
        }
        let digits = String(coefficient)
        let adjusted = exponent + digits.count - 1
        var out = negative ? "-" : ""
        if exponent > 0 || adjusted < -6 {
            out.append(digits.first!)
            if digits.count > 1 {
                out.append(".")
                out.append(contentsOf: digits.dropFirst())
            }
            out.append("E")
            out.append(adjusted >= 0 ? "+" : "-")
            out.append(String(abs(adjusted)))
        } else if exponent == 0 {
            out.append(digits)
        } else {
            let pointPosition = digits.count + exponent
            if pointPosition > 0 {
                out.append(contentsOf: digits.prefix(pointPosition))
                out.append(".")
                out.append(contentsOf: digits.dropFirst(pointPosition))
            } else {
                out.append("0.")
                out.append(String(repeating: "0", count: -pointPosition))
                out.append(digits)
            }
        }
        return out
    }

    // MARK: Comparison

    /// Exact numeric comparison; NaN equals NaN and is below every other number.
    static func compare(_ a: Dec128, _ b: Dec128) -> Int {
        if a.isNaN || b.isNaN { return a.isNaN ? (b.isNaN ? 0 : -1) : 1 }
        let aZero = a.isZero, bZero = b.isZero
        let aSign = aZero ? 0 : (a.negative ? -1 : 1)
        let bSign = bZero ? 0 : (b.negative ? -1 : 1)
        if aSign != bSign { return aSign < bSign ? -1 : 1 }
        if aSign == 0 { return 0 }
        let magnitude = compareMagnitude(a, b)
        return aSign > 0 ? magnitude : -magnitude
    }

    private static func compareMagnitude(_ a: Dec128, _ b: Dec128) -> Int {
        if a.kind == .infinity || b.kind == .infinity {
            if a.kind == b.kind { return 0 }
            return a.kind == .infinity ? 1 : -1
        }
        let aDigits = digitCount(a.coefficient), bDigits = digitCount(b.coefficient)
        let aAdjusted = a.exponent + aDigits, bAdjusted = b.exponent + bDigits
        if aAdjusted != bAdjusted { return aAdjusted < bAdjusted ? -1 : 1 }
        // Same magnitude order: align on the smaller exponent (difference < 34 digits here).
        var ac = U256(low: a.coefficient), bc = U256(low: b.coefficient)
        if a.exponent > b.exponent {
            for _ in 0..<(a.exponent - b.exponent) { ac = ac.times10() }
        } else {
            for _ in 0..<(b.exponent - a.exponent) { bc = bc.times10() }
        }
        return ac < bc ? -1 : (bc < ac ? 1 : 0)
    }

    // MARK: Arithmetic

    var negated: Dec128 {
        var r = self
        if kind != .nan { r.negative.toggle() }
        return r
    }

    var magnitude: Dec128 {
        var r = self
        r.negative = false
        return r
    }

    static func + (a: Dec128, b: Dec128) -> Dec128 {
        if a.isNaN || b.isNaN { return .nan }
        if a.kind == .infinity || b.kind == .infinity {
            if a.kind == .infinity && b.kind == .infinity && a.negative != b.negative { return .nan }
            return a.kind == .infinity ? a : b
        }
        // Let `big` have the larger exponent.
        var big = a, small = b
        if b.exponent > a.exponent { big = b; small = a }
        let shift = big.exponent - small.exponent
        let bigDigits = digitCount(big.coefficient)
        if big.coefficient == 0 {
            // 0 + x keeps x's digits at the smaller exponent.
            var r = small
            if small.coefficient == 0 { r.negative = a.negative && b.negative }
            return r
        }
        if bigDigits + shift <= 70 {
            var scaled = U256(low: big.coefficient)
            for _ in 0..<shift { scaled = scaled.times10() }
            let other = U256(low: small.coefficient)
            if big.negative == small.negative || small.coefficient == 0 {
                return round(scaled + other, exponent: small.exponent, negative: big.negative, roundDigit: 0, sticky: false)
            }
            if scaled < other {
                return round(other - scaled, exponent: small.exponent, negative: small.negative, roundDigit: 0, sticky: false)
            }
            let difference = scaled - other
            if difference.isZero {
                return Dec128(kind: .finite, negative: false, coefficient: 0, exponent: small.exponent)
            }
            return round(difference, exponent: small.exponent, negative: big.negative, roundDigit: 0, sticky: false)
        }
        // `small` is below half a unit in the 37th digit of `big`: it only decides rounding.
        var scaled = U256(low: big.coefficient)
        let k = 37 - bigDigits
        for _ in 0..<k { scaled = scaled.times10() }
        if small.coefficient != 0 && big.negative != small.negative {
            scaled = scaled - U256(low: 1)
        }
        return round(scaled, exponent: big.exponent - k, negative: big.negative, roundDigit: 0, sticky: small.coefficient != 0)
    }

    static func - (a: Dec128, b: Dec128) -> Dec128 { a + b.negated }

    static func * (a: Dec128, b: Dec128) -> Dec128 {
        if a.isNaN || b.isNaN { return .nan }
        let negative = a.negative != b.negative
        if a.kind == .infinity || b.kind == .infinity {
            if a.isZero || b.isZero { return .nan }
            return .infinity(negative: negative)
        }
        let product = a.coefficient.multipliedFullWidth(by: b.coefficient)
        return round(U256(high: product.high, low: product.low), exponent: a.exponent + b.exponent, negative: negative, roundDigit: 0, sticky: false)
    }

    /// Nil when dividing a finite value by zero (the caller reports MongoDB's error).
    static func / (a: Dec128, b: Dec128) -> Dec128? {
        if a.isNaN || b.isNaN { return .nan }
        let negative = a.negative != b.negative
        if a.kind == .infinity {
            return b.kind == .infinity ? .nan : .infinity(negative: negative)
        }
        if b.kind == .infinity { return Dec128(kind: .finite, negative: negative, coefficient: 0, exponent: 0) }
        if b.coefficient == 0 { return a.coefficient == 0 ? .nan : nil }
        let preferred = a.exponent - b.exponent
        if a.coefficient == 0 {
            return Dec128(kind: .finite, negative: negative, coefficient: 0, exponent: preferred).clamped()
        }
        // Long division, one decimal digit at a time, until 35 digits or an exact quotient.
        var quotient = a.coefficient / b.coefficient
        var remainder = a.coefficient % b.coefficient
        var exponent = preferred
        while remainder != 0 && digitCount(quotient) < 35 {
            remainder *= 10
            quotient = quotient * 10 + remainder / b.coefficient
            remainder %= b.coefficient
            exponent -= 1
        }
        return round(U256(low: quotient), exponent: exponent, negative: negative, roundDigit: 0, sticky: remainder != 0)
    }

    /// Rounds a wide coefficient to 34 digits (half to even), given a digit already dropped and
    /// whether anything non-zero lies below it.
    static func round(_ value: U256, exponent: Int, negative: Bool, roundDigit: UInt8, sticky: Bool) -> Dec128 {
        var c = value
        var e = exponent
        var digit = roundDigit
        var rest = sticky
        let limit = U256(low: maxCoefficient)
        while limit < c || e < minExponent {
            if c.isZero { e = max(e, minExponent); break }
            if digit != 0 { rest = true }
            let (q, r) = c.dividedBy10()
            c = q
            digit = r
            e += 1
        }
        var coefficient = c.low
        if digit > 5 || (digit == 5 && (rest || coefficient & 1 == 1)) {
            coefficient += 1
            if coefficient > maxCoefficient {
                coefficient /= 10
                e += 1
            }
        }
        return Dec128(kind: .finite, negative: negative, coefficient: coefficient, exponent: e).clamped()
    }

    enum RoundingMode { case halfEven, towardZero }

    /// Rounds to `place` digits after the decimal point (negative: to tens, hundreds…).
    func rounded(place: Int, mode: RoundingMode) -> Dec128 {
        guard kind == .finite else { return self }
        let target = -place
        if exponent >= target { return self }
        var c = coefficient
        var e = exponent
        var digit: UInt128 = 0
        var rest = false
        while e < target {
            if digit != 0 { rest = true }
            digit = c % 10
            c /= 10
            e += 1
            if c == 0 && digit == 0 && !rest {
                // Everything below the place is zero; keep going to reach the target exponent.
            }
        }
        if mode == .halfEven && (digit > 5 || (digit == 5 && (rest || c & 1 == 1))) {
            c += 1
        }
        return Dec128(kind: .finite, negative: negative, coefficient: c, exponent: e).clamped()
    }

    static func digitCount(_ value: UInt128) -> Int {
        var count = 1
        var v = value
        while v >= 10 {
            v /= 10
            count += 1
        }
        return count
    }

    static func pow10(_ n: Int) -> UInt128 {
        var r: UInt128 = 1
        for _ in 0..<n { r *= 10 }
        return r
    }
}

/// A 256-bit unsigned integer: just enough for exact decimal128 products and sums.
struct U256: Sendable, Comparable {
    var high: UInt128
    var low: UInt128

    static let zero = U256(high: 0, low: 0)

    init(high: UInt128, low: UInt128) {
        self.high = high
        self.low = low
    }

    init(low: UInt128) {
        self.high = 0
        self.low = low
    }

    var isZero: Bool { high == 0 && low == 0 }

    func adding(_ v: UInt128) -> U256 { self + U256(low: v) }

    static func + (a: U256, b: U256) -> U256 {
        let (low, carry) = a.low.addingReportingOverflow(b.low)
        return U256(high: a.high &+ b.high &+ (carry ? 1 : 0), low: low)
    }

    static func - (a: U256, b: U256) -> U256 {
        let (low, borrow) = a.low.subtractingReportingOverflow(b.low)
        return U256(high: a.high &- b.high &- (borrow ? 1 : 0), low: low)
    }

    func times10() -> U256 {
        let lowProduct = low.multipliedFullWidth(by: 10)
        return U256(high: high &* 10 &+ lowProduct.high, low: lowProduct.low)
    }

    func dividedBy10() -> (U256, UInt8) {
        let qHigh = high / 10
        let rHigh = high % 10
        let (qLow, r) = UInt128(10).dividingFullWidth((high: rHigh, low: low))
        return (U256(high: qHigh, low: qLow), UInt8(r))
    }

    static func < (a: U256, b: U256) -> Bool {
        a.high != b.high ? a.high < b.high : a.low < b.low
    }
}
