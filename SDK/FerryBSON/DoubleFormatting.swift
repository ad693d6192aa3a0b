/// Doubles as Extended JSON text: the shortest digits that round-trip (Swift's own `description`
/// computes them), laid out as the BSON corpus writes them — `1.0`, `-0.0`, `0.001`,
/// `1.2345678921232E+18` — so that relaxed output still reads back as a double (never `1`).
enum DoubleFormatting {
    static func append(_ value: Double, to out: inout ByteWriter) {
        if value.isNaN {
            out.literal("NaN")
            return
        }
        if value.isInfinite {
            if value < 0 { out.literal("-Infinity") } else { out.literal("Infinity") }
            return
        }
        if value.sign == .minus { out.byte(UInt8(ascii: "-")) }
        if value == 0 {
            out.literal("0.0")
            return
        }
        let (digits, exponent) = decimalDigits(of: value.magnitude)
        // Same switch points as Python's repr: plain notation for 1e-4 <= |x| < 1e16.
        if exponent < -4 || exponent >= 16 {
            out.byte(digits[0])
            if digits.count > 1 {
                out.byte(UInt8(ascii: "."))
                out.bytes(Array(digits[1...]))
            }
            out.literal("E")
            out.byte(UInt8(ascii: exponent < 0 ? "-" : "+"))
            out.decimal(abs(exponent))
        } else if exponent < 0 {
            out.literal("0.")
            for _ in 0..<(-exponent - 1) { out.byte(UInt8(ascii: "0")) }
            out.bytes(digits)
        } else if digits.count > exponent + 1 {
            out.bytes(Array(digits[...exponent]))
            out.byte(UInt8(ascii: "."))
            out.bytes(Array(digits[(exponent + 1)...]))
        } else {
            out.bytes(digits)
            for _ in 0..<(exponent + 1 - digits.count) { out.byte(UInt8(ascii: "0")) }
            out.literal(".0")
        }
    }

    /// The shortest round-tripping significant digits of a finite positive double (no leading or
    /// trailing zeros) and the decimal exponent of the first one: 1234.5 → ("12345", 3).
    static func decimalDigits(of value: Double) -> (digits: [UInt8], exponent: Int) {
        var digits: [UInt8] = []
        var pointPosition: Int?
        var exponent = 0
        var text = value.description.utf8[...]
        while let byte = text.first {
            text = text.dropFirst()
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digits.append(byte)
            case UInt8(ascii: "."): pointPosition = digits.count
            case UInt8(ascii: "e"), UInt8(ascii: "E"):
                exponent = Int(String(decoding: text, as: UTF8.self)) ?? 0
                text = text[text.endIndex...]
            default: break
            }
        }
        // value = 0.d1d2… × 10^(integer digits) × 10^exponent
        var integerDigits = pointPosition ?? digits.count
        let leadingZeros = digits.prefix { $0 == UInt8(ascii: "0") }.count
        digits.removeFirst(leadingZeros)
        integerDigits -= leadingZeros
        while digits.last == UInt8(ascii: "0") { digits.removeLast() }
        return (digits, exponent + integerDigits - 1)
    }
}
