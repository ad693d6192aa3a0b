/// Hex text for bytes: ObjectIds, key hashes, test fixtures. One implementation for the project.
public enum Hex {
    /// Two digits per byte, lowercase unless asked otherwise.
    public static func encode(_ bytes: some Sequence<UInt8>, uppercase: Bool = false) -> String {
        let digits = Array((uppercase ? "0123456789ABCDEF" : "0123456789abcdef").utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.underestimatedCount * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Bytes from pairs of hex digits of either case; nil on an odd count or a non-hex character.
    public static func decode(_ text: some StringProtocol) -> [UInt8]? { parseHex(text) }
}
