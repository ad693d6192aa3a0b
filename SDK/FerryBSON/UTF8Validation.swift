/// Strict UTF-8 well-formedness (Unicode Table 3-7: no overlong forms, no surrogates, nothing past
/// U+10FFFF), with an 8-bytes-at-a-time ASCII path. Hand-written because the standard library's
/// `String(validating:as:)` goes through generic, unspecialized code that dominated decoding.
func isValidUTF8(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
    guard let base = bytes.baseAddress else { return true }
    let count = bytes.count
    var index = 0
    while index < count {
        if index + 8 <= count,
            UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self) & 0x8080_8080_8080_8080 == 0
        {
            index += 8
            continue
        }
        let lead = base[index]
        if lead < 0x80 {
            index += 1
            continue
        }
        let length: Int
        var low: UInt8 = 0x80
        var high: UInt8 = 0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; low = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; high = 0x9F  // excludes UTF-16 surrogates
        case 0xF0: length = 4; low = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; high = 0x8F  // nothing above U+10FFFF
        default: return false
        }
        guard index + length <= count, (low...high).contains(base[index + 1]) else { return false }
        for offset in 2..<length where base[index + offset] & 0xC0 != 0x80 { return false }
        index += length
    }
    return true
}
