extension BSONObjectID: CustomStringConvertible {
    /// The 24 lowercase hex digits, as Extended JSON's `$oid` writes them.
    public var hexString: String {
        var out: [UInt8] = []
        out.reserveCapacity(24)
        for byte in bytes { appendHexByte(byte, to: &out) }
        return String(decoding: out, as: UTF8.self)
    }

    public var description: String { hexString }

    /// Parses 24 hex digits (either case).
    public init(hexString: String) throws {
        guard let bytes = parseHex(hexString), bytes.count == 12 else {
            throw BSONError("an ObjectId is 24 hex digits, not \(hexString.debugDescription)")
        }
        self.init(bytes: bytes)
    }
}

let lowercaseHexDigits = Array("0123456789abcdef".utf8)

@inline(__always)
func appendHexByte(_ byte: UInt8, to out: inout [UInt8]) {
    out.append(lowercaseHexDigits[Int(byte >> 4)])
    out.append(lowercaseHexDigits[Int(byte & 0xF)])
}

func hexValue(_ digit: UInt8) -> UInt8? {
    switch digit {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
    default: nil
    }
}

/// Pairs of hex digits to bytes; nil on an odd count or a non-hex character.
func parseHex(_ text: some StringProtocol) -> [UInt8]? {
    let utf8 = Array(text.utf8)
    guard utf8.count.isMultiple(of: 2) else { return nil }
    var out: [UInt8] = []
    out.reserveCapacity(utf8.count / 2)
    var index = 0
    while index < utf8.count {
        guard let high = hexValue(utf8[index]), let low = hexValue(utf8[index + 1]) else { return nil }
        out.append(high << 4 | low)
        index += 2
    }
    return out
}
