import FerryBSON

/// A bounds-checked little-endian reader over one message. Every read checks the remaining bytes
/// first, so a lying length field is an error, never a trap.
struct WireReader {
    let bytes: [UInt8]
    private(set) var offset: Int
    let end: Int

    init(_ bytes: [UInt8], from start: Int = 0, to end: Int? = nil) {
        self.bytes = bytes
        self.offset = start
        self.end = Swift.min(end ?? bytes.count, bytes.count)
    }

    var remaining: Int { end - offset }
    var isAtEnd: Bool { offset >= end }

    mutating func int32(_ what: String) throws(MongoWireError) -> Int32 {
        Int32(bitPattern: try uint32(what))
    }

    mutating func uint32(_ what: String) throws(MongoWireError) -> UInt32 {
        guard remaining >= 4 else { throw MongoWireError("\(what): needs 4 bytes, \(remaining) left", at: offset) }
        defer { offset += 4 }
        return UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16
            | UInt32(bytes[offset + 3]) << 24
    }

    mutating func int64(_ what: String) throws(MongoWireError) -> Int64 {
        let low = UInt64(try uint32(what))
        let high = UInt64(try uint32(what))
        return Int64(bitPattern: low | high << 32)
    }

    mutating func byte(_ what: String) throws(MongoWireError) -> UInt8 {
        guard remaining >= 1 else { throw MongoWireError("\(what): no byte left", at: offset) }
        defer { offset += 1 }
        return bytes[offset]
    }

    /// A NUL-terminated UTF-8 string.
    mutating func cString(_ what: String) throws(MongoWireError) -> String {
        guard let nul = bytes[offset..<end].firstIndex(of: 0) else {
            throw MongoWireError("\(what): no terminating NUL", at: offset)
        }
        guard let text = String(validating: bytes[offset..<nul], as: UTF8.self) else {
            throw MongoWireError("\(what): not UTF-8", at: offset)
        }
        offset = nul + 1
        return text
    }

    /// One BSON document whose declared length must fit in what is left.
    mutating func document(_ what: String) throws(MongoWireError) -> BSONDocument {
        let start = offset
        var peek = self
        let declared = Int(try peek.int32("\(what) length"))
        guard declared >= 5, declared <= remaining else {
            throw MongoWireError("\(what): document length \(declared) does not fit the \(remaining) bytes left", at: start)
        }
        do {
            let document = try bytes[start..<start + declared].withUnsafeBytes { try BSONDocument(bytes: $0) }
            offset = start + declared
            return document
        } catch {
            throw MongoWireError("\(what): invalid BSON: \(error)", at: start)
        }
    }
}

/// Little-endian writing helpers for building messages.
extension Array where Element == UInt8 {
    mutating func appendInt32(_ value: Int32) { appendUInt32(UInt32(bitPattern: value)) }

    mutating func appendUInt32(_ value: UInt32) {
        append(UInt8(truncatingIfNeeded: value))
        append(UInt8(truncatingIfNeeded: value >> 8))
        append(UInt8(truncatingIfNeeded: value >> 16))
        append(UInt8(truncatingIfNeeded: value >> 24))
    }

    mutating func appendInt64(_ value: Int64) {
        let bits = UInt64(bitPattern: value)
        appendUInt32(UInt32(truncatingIfNeeded: bits))
        appendUInt32(UInt32(truncatingIfNeeded: bits >> 32))
    }

    mutating func appendCString(_ text: String) {
        append(contentsOf: text.utf8)
        append(0)
    }

    /// Overwrites the int32 at `offset` (a length patched in after the body is written).
    mutating func patchInt32(_ value: Int32, at offset: Int) {
        let bits = UInt32(bitPattern: value)
        for shift in 0..<4 { self[offset + shift] = UInt8(truncatingIfNeeded: bits >> (8 * UInt32(shift))) }
    }
}
