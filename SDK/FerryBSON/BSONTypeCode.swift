/// The element type bytes of the BSON 1.1 spec.
enum BSONTypeCode {
    static let double: UInt8 = 0x01
    static let string: UInt8 = 0x02
    static let document: UInt8 = 0x03
    static let array: UInt8 = 0x04
    static let binary: UInt8 = 0x05
    static let undefined: UInt8 = 0x06
    static let objectID: UInt8 = 0x07
    static let bool: UInt8 = 0x08
    static let datetime: UInt8 = 0x09
    static let null: UInt8 = 0x0A
    static let regex: UInt8 = 0x0B
    static let dbPointer: UInt8 = 0x0C
    static let javascript: UInt8 = 0x0D
    static let symbol: UInt8 = 0x0E
    static let javascriptWithScope: UInt8 = 0x0F
    static let int32: UInt8 = 0x10
    static let timestamp: UInt8 = 0x11
    static let int64: UInt8 = 0x12
    static let decimal128: UInt8 = 0x13
    static let minKey: UInt8 = 0xFF
    static let maxKey: UInt8 = 0x7F

    /// The old binary subtype whose payload repeats its own length as an int32 prefix.
    static let binaryOldSubtype: UInt8 = 0x02
}

/// Regex options are stored alphabetically (the BSON spec requires it of encoders); decoders and
/// parsers accept any order and sort. Returns the input itself when already sorted, the common case.
func canonicalRegexOptions(_ options: String) -> String {
    var previous: UInt8 = 0
    for byte in options.utf8 {
        if byte < previous { return String(String.UnicodeScalarView(options.unicodeScalars.sorted())) }
        previous = byte
    }
    return options
}
