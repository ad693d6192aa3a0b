extension BSONObjectID {
    /// The 24 lowercase hex digits, as Extended JSON's `$oid` writes them.
    public var hexString: String { Hex.encode(bytes) }

    /// Parses 24 hex digits (either case).
    public init(hexString: String) throws {
        guard let bytes = parseHex(hexString), bytes.count == 12 else {
            throw BSONError("an ObjectId is 24 hex digits, not \(hexString.debugDescription)")
        }
        self.init(bytes: bytes)
    }
}

extension ByteWriter {
    /// Two lowercase hex digits.
    @inline(__always)
    mutating func hexByte(_ byte: UInt8) {
        self.byte(hexDigit(byte >> 4))
        self.byte(hexDigit(byte & 0xF))
    }
}

@inline(__always)
func hexDigit(_ nibble: UInt8) -> UInt8 {
    nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
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
