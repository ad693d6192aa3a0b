import FerryStore

/// The number at a dotted path of a stored BSON document, read from its bytes where SQLite keeps
/// them: no document is decoded, only the keys on the way are compared and other values skipped.
/// A chart reads one number from each of a year of readings, where decoding every document
/// would cost more than the rest of the query. Same answer as `FieldExtremes.number(in:path:)`:
/// an int32, int64 or finite double reached through embedded documents (the first of repeated keys).
struct BSONPathNumber {
    private let names: [[UInt8]]

    init(_ path: [String]) {
        names = path.map { Array($0.utf8) }
    }

    /// Nil when the path is missing or leads to anything but such a number; throws when the bytes
    /// are not a well-formed document along the way.
    func number(in bytes: UnsafeRawBufferPointer) throws -> Double? {
        var limit = try Self.documentEnd(bytes, at: 0, limit: bytes.count)
        var p = 4
        for (depth, name) in names.enumerated() {
            var found = false
            while p < limit {
                let type = bytes[p]
                p += 1
                let keyStart = p
                while p < limit, bytes[p] != 0 { p += 1 }
                guard p < limit else { throw Self.malformed }
                let matches = p - keyStart == name.count && name.withUnsafeBytes { $0.elementsEqual(bytes[keyStart..<p]) }
                p += 1
                if matches {
                    if depth == names.count - 1 { return try Self.number(type, bytes, at: p, limit: limit) }
                    guard type == 0x03 else { return nil }
                    limit = try Self.documentEnd(bytes, at: p, limit: limit)
                    p += 4
                    found = true
                    break
                }
                p = try Self.skip(type, bytes, at: p, limit: limit)
            }
            if !found { return nil }
        }
        return nil
    }

    static let malformed = StoreError(.storage, "a stored reading's data is not a well-formed BSON document")

    private static func int32(_ bytes: UnsafeRawBufferPointer, at p: Int, limit: Int) throws -> Int {
        guard p + 4 <= limit else { throw malformed }
        return Int(Int32(littleEndian: bytes.loadUnaligned(fromByteOffset: p, as: Int32.self)))
    }

    /// Where the document starting at `p` has its terminating zero.
    private static func documentEnd(_ bytes: UnsafeRawBufferPointer, at p: Int, limit: Int) throws -> Int {
        let length = try int32(bytes, at: p, limit: limit)
        guard length >= 5, p + length <= limit, bytes[p + length - 1] == 0 else { throw malformed }
        return p + length - 1
    }

    private static func number(_ type: UInt8, _ bytes: UnsafeRawBufferPointer, at p: Int, limit: Int) throws -> Double? {
        switch type {
        case 0x01:
            guard p + 8 <= limit else { throw malformed }
            let value = Double(bitPattern: UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: p, as: UInt64.self)))
            return value.isFinite ? value : nil
        case 0x10:
            return Double(try int32(bytes, at: p, limit: limit))
        case 0x12:
            guard p + 8 <= limit else { throw malformed }
            return Double(Int64(littleEndian: bytes.loadUnaligned(fromByteOffset: p, as: Int64.self)))
        default:
            return nil
        }
    }

    /// Where the value of `type` starting at `p` ends.
    private static func skip(_ type: UInt8, _ bytes: UnsafeRawBufferPointer, at p: Int, limit: Int) throws -> Int {
        var end: Int
        switch type {
        case 0x06, 0x0A, 0x7F, 0xFF: end = p  // undefined, null, max key, min key
        case 0x08: end = p + 1  // boolean
        case 0x10: end = p + 4  // int32
        case 0x01, 0x09, 0x11, 0x12: end = p + 8  // double, date, timestamp, int64
        case 0x07: end = p + 12  // object id
        case 0x13: end = p + 16  // decimal128
        case 0x02, 0x0D, 0x0E: end = p + 4 + (try int32(bytes, at: p, limit: limit))  // string, code, symbol
        case 0x0C: end = p + 4 + (try int32(bytes, at: p, limit: limit)) + 12  // DB pointer
        case 0x03, 0x04, 0x0F: end = p + (try int32(bytes, at: p, limit: limit))  // document, array, code with scope
        case 0x05: end = p + 5 + (try int32(bytes, at: p, limit: limit))  // binary: length, subtype, bytes
        case 0x0B:  // regular expression: two C strings
            end = p
            for _ in 0..<2 {
                while end < limit, bytes[end] != 0 { end += 1 }
                end += 1
            }
        default: throw malformed
        }
        guard end > p || type == 0x06 || type == 0x0A || type == 0x7F || type == 0xFF, end <= limit else { throw malformed }
        return end
    }
}
