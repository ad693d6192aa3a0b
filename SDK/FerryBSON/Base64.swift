/// Standard base64 (RFC 4648 §4) with padding, as Extended JSON's `$binary` requires.
enum Base64 {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    static let decodeTable: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (index, symbol) in alphabet.enumerated() { table[Int(symbol)] = UInt8(index) }
        return table
    }()

    static func encode(_ data: [UInt8], to out: inout ByteWriter) {
        var index = 0
        while index + 3 <= data.count {
            let group = UInt32(data[index]) << 16 | UInt32(data[index + 1]) << 8 | UInt32(data[index + 2])
            out.byte(alphabet[Int(group >> 18 & 0x3F)])
            out.byte(alphabet[Int(group >> 12 & 0x3F)])
            out.byte(alphabet[Int(group >> 6 & 0x3F)])
            out.byte(alphabet[Int(group & 0x3F)])
            index += 3
        }
        switch data.count - index {
        case 1:
            let group = UInt32(data[index]) << 16
            out.byte(alphabet[Int(group >> 18 & 0x3F)])
            out.byte(alphabet[Int(group >> 12 & 0x3F)])
            out.byte(UInt8(ascii: "="))
            out.byte(UInt8(ascii: "="))
        case 2:
            let group = UInt32(data[index]) << 16 | UInt32(data[index + 1]) << 8
            out.byte(alphabet[Int(group >> 18 & 0x3F)])
            out.byte(alphabet[Int(group >> 12 & 0x3F)])
            out.byte(alphabet[Int(group >> 6 & 0x3F)])
            out.byte(UInt8(ascii: "="))
        default:
            break
        }
    }

    /// Strict: length a multiple of 4, padding only at the end, no whitespace, and unused bits
    /// of the last symbol zero (so every byte string has exactly one accepted encoding).
    static func decode(_ text: String) -> [UInt8]? {
        let symbols = Array(text.utf8)
        guard symbols.count.isMultiple(of: 4) else { return nil }
        var padding = 0
        if symbols.last == UInt8(ascii: "=") {
            padding = symbols[symbols.count - 2] == UInt8(ascii: "=") ? 2 : 1
        }
        var out: [UInt8] = []
        out.reserveCapacity(symbols.count / 4 * 3)
        var index = 0
        while index < symbols.count {
            let isLast = index + 4 == symbols.count
            let usable = isLast ? 4 - padding : 4
            var group: UInt32 = 0
            for offset in 0..<4 {
                var value: UInt8 = 0
                if offset < usable {
                    value = decodeTable[Int(symbols[index + offset])]
                    if value == 0xFF { return nil }
                }
                group = group << 6 | UInt32(value)
            }
            out.append(UInt8(truncatingIfNeeded: group >> 16))
            if usable >= 3 { out.append(UInt8(truncatingIfNeeded: group >> 8)) }
            if usable == 4 { out.append(UInt8(truncatingIfNeeded: group)) }
            // Bits below the last whole byte must be zero.
            if usable == 2 && group & 0xFFFF != 0 { return nil }
            if usable == 3 && group & 0xFF != 0 { return nil }
            index += 4
        }
        return out
    }
}
