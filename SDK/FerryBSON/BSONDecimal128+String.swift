/// Conversion between decimal128 (IEEE 754-2008, BID encoding) and its string form, as the BSON
/// decimal128 spec defines it: exact only — a string that would need rounding is refused.
extension BSONDecimal128: CustomStringConvertible {
    static let exponentBias = 6176
    static let maximumExponent = 6111
    static let minimumExponent = -6176
    static let maximumDigits = 34
    /// 10^34 - 1, the largest canonical coefficient.
    static let maximumCoefficient: UInt128 = (0..<maximumDigits).reduce(1) { power, _ in power * 10 } - 1

    public static let nan = BSONDecimal128(low: 0, high: 0x7C00_0000_0000_0000)
    public static let infinity = BSONDecimal128(low: 0, high: 0x7800_0000_0000_0000)
    public static let negativeInfinity = BSONDecimal128(low: 0, high: 0xF800_0000_0000_0000)

    /// The scientific string of the spec: plain notation for exponents <= 0 with an adjusted
    /// exponent >= -6, else `d.dddE±n`. Coefficients above 10^34 - 1 are non-canonical and read as 0.
    public var description: String {
        let negative = high >> 63 == 1
        switch (high >> 58) & 0x1F {
        case 0x1F: return "NaN"
        case 0x1E: return negative ? "-Infinity" : "Infinity"
        default: break
        }
        var exponent: Int
        var coefficient: UInt128
        if (high >> 61) & 0b11 == 0b11 {
            // The "11" combination form implies a coefficient of at least 2^113: never canonical.
            exponent = Int((high >> 47) & 0x3FFF)
            coefficient = 0
        } else {
            exponent = Int((high >> 49) & 0x3FFF)
            coefficient = UInt128(high & 0x1_FFFF_FFFF_FFFF) << 64 | UInt128(low)
            if coefficient > Self.maximumCoefficient { coefficient = 0 }
        }
        exponent -= Self.exponentBias

        let digits = Array(String(coefficient).utf8)
        let adjusted = exponent + digits.count - 1
        var out: [UInt8] = negative ? [UInt8(ascii: "-")] : []
        if exponent <= 0 && adjusted >= -6 {
            if exponent == 0 {
                out += digits
            } else {
                let integerCount = digits.count + exponent
                if integerCount > 0 {
                    out += digits[..<integerCount]
                    out.append(UInt8(ascii: "."))
                    out += digits[integerCount...]
                } else {
                    out += Array("0.".utf8)
                    out += repeatElement(UInt8(ascii: "0"), count: -integerCount)
                    out += digits
                }
            }
        } else {
            out.append(digits[0])
            if digits.count > 1 {
                out.append(UInt8(ascii: "."))
                out += digits[1...]
            }
            out += Array("E\(adjusted < 0 ? "-" : "+")\(abs(adjusted))".utf8)
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Parses `[+-]digits[.digits][e[+-]digits]`, `Infinity`/`Inf` and `NaN` (case-insensitive).
    /// Refuses anything that cannot be stored exactly: more than 34 significant digits unless the
    /// extra ones are zeros, and exponents out of range unless zeros can be added or removed.
    public init(_ text: String) throws {
        self = try Self.parse(text)
    }

    static func parse(_ text: String) throws(BSONError) -> BSONDecimal128 {
        func failure(_ reason: String) -> BSONError {
            BSONError("invalid decimal128 string \(text.debugDescription): \(reason)")
        }
        let bytes = Array(text.utf8)
        var index = 0
        var negative = false
        if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
            negative = bytes[index] == UInt8(ascii: "-")
            index += 1
        }
        let word = String(decoding: bytes[index...], as: UTF8.self).lowercased()
        if word == "inf" || word == "infinity" { return negative ? negativeInfinity : infinity }
        if word == "nan" { return negative ? BSONDecimal128(low: 0, high: nan.high | 1 << 63) : nan }

        // Significant digits (leading zeros dropped) and the count of digits after the point.
        var digits: [UInt8] = []
        var sawDigit = false
        var sawPoint = false
        var fractionDigits = 0
        scan: while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                sawDigit = true
                if sawPoint { fractionDigits += 1 }
                if !(digits.isEmpty && bytes[index] == UInt8(ascii: "0")) { digits.append(bytes[index] - UInt8(ascii: "0")) }
            case UInt8(ascii: "."):
                if sawPoint { throw failure("more than one decimal point") }
                sawPoint = true
            default:
                break scan
            }
            index += 1
        }
        guard sawDigit else { throw failure("expected digits") }

        var exponent = 0
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            var exponentNegative = false
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                exponentNegative = bytes[index] == UInt8(ascii: "-")
                index += 1
            }
            var sawExponentDigit = false
            while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) {
                sawExponentDigit = true
                // Saturate: anything this large clamps or overflows anyway.
                exponent = min(exponent * 10 + Int(bytes[index] - UInt8(ascii: "0")), 1_000_000_000_000)
                index += 1
            }
            guard sawExponentDigit else { throw failure("expected digits after the exponent marker") }
            if exponentNegative { exponent = -exponent }
        }
        guard index == bytes.count else {
            throw failure("unexpected character \(String(decoding: bytes[index...index], as: UTF8.self).debugDescription)")
        }
        exponent -= fractionDigits

        // Too many digits: only trailing zeros may go.
        while digits.count > maximumDigits {
            guard digits.last == 0 else { throw failure("more than \(maximumDigits) significant digits would need rounding") }
            digits.removeLast()
            exponent += 1
        }
        var coefficient: UInt128 = 0
        for digit in digits { coefficient = coefficient * 10 + UInt128(digit) }
        var digitCount = digits.count

        if coefficient == 0 {
            exponent = min(max(exponent, minimumExponent), maximumExponent)
        } else {
            // Clamp down by adding trailing zeros, or up by removing them — never by rounding.
            while exponent > maximumExponent && digitCount < maximumDigits {
                coefficient *= 10
                digitCount += 1
                exponent -= 1
            }
            guard exponent <= maximumExponent else { throw failure("exponent too large (overflow)") }
            while exponent < minimumExponent {
                guard coefficient % 10 == 0 else { throw failure("exponent too small to be exact (underflow)") }
                coefficient /= 10
                exponent += 1
            }
        }
        let biased = UInt64(exponent + exponentBias)
        return BSONDecimal128(
            low: UInt64(truncatingIfNeeded: coefficient),
            high: (negative ? 1 << 63 : 0) | biased << 49 | UInt64(truncatingIfNeeded: coefficient >> 64))
    }
}
