import Foundation

package struct ProtobufWireError: Error, CustomStringConvertible, Sendable, Equatable {
    package var description: String
    package init(_ description: String) { self.description = description }
}

/// Reads protobuf fields one by one off a buffer, without a schema, with swift-protobuf's rules
/// (so the data server refuses exactly the requests swift-protobuf refuses).
package struct ProtobufWireReader {
    /// swift-protobuf's default limit on nested messages (groups count as messages).
    package static let depthLimit = 100

    /// Refuses a message (or group) `depth` levels down, past the limit.
    package static func enter(depth: Int) throws(ProtobufWireError) {
        guard depth <= depthLimit else { throw ProtobufWireError("messages nested more than \(depthLimit) deep") }
    }

    package let buffer: UnsafeRawBufferPointer
    package var offset = 0

    package init(_ buffer: UnsafeRawBufferPointer) { self.buffer = buffer }

    /// The next field of a message: its number and wire type; nil at the end. As swift-protobuf
    /// reads a message's tags: at most 5 bytes, and no end of a group outside one.
    package mutating func nextField() throws(ProtobufWireError) -> (number: UInt64, wireType: UInt64)? {
        guard offset < buffer.count else { return nil }
        var key: UInt64 = 0
        for index in 0..<5 {
            guard offset + index < buffer.count else { throw ProtobufWireError("a field's tag is cut short") }
            let byte = buffer[offset + index]
            if index == 4, byte > 15 { throw ProtobufWireError("a field's tag is longer than 5 bytes") }
            key |= UInt64(byte & 0x7F) << (7 * UInt64(index))
            if byte & 0x80 == 0 {
                offset += index + 1
                break
            }
        }
        let (number, wireType) = (key >> 3, key & 7)
        guard number != 0, wireType <= 5 else { throw ProtobufWireError("a field's tag is not one (number \(number), wire type \(wireType))") }
        guard wireType != 4 else { throw ProtobufWireError("the end of group \(number) outside a group") }
        return (number, wireType)
    }

    /// The next field inside a map entry or a group: as swift-protobuf reads those tags (any
    /// varint below 2³², the end of a group returned to the caller).
    package mutating func nextInnerField() throws(ProtobufWireError) -> (number: UInt64, wireType: UInt64)? {
        guard offset < buffer.count else { return nil }
        let key = try varint()
        guard key < UInt64(UInt32.max), key >> 3 != 0, key & 7 <= 5 else {
            throw ProtobufWireError("a field's tag is not one (\(key))")
        }
        return (key >> 3, key & 7)
    }

    package mutating func varint() throws(ProtobufWireError) -> UInt64 {
        guard let (value, length) = Varint.decode(buffer, at: offset) else { throw ProtobufWireError("a varint is cut short") }
        offset += length
        return value
    }

    package mutating func fixed64(_ wireType: UInt64) throws(ProtobufWireError) -> UInt64 {
        guard wireType == 1 else { throw ProtobufWireError("wire type \(wireType) where a 64-bit value belongs") }
        guard buffer.count - offset >= 8 else { throw ProtobufWireError("a 64-bit value is cut short") }
        defer { offset += 8 }
        return buffer.loadUnaligned(fromByteOffset: offset, as: UInt64.self).littleEndian
    }

    package mutating func lengthDelimited(_ wireType: UInt64) throws(ProtobufWireError) -> Range<Int> {
        guard wireType == 2 else { throw ProtobufWireError("wire type \(wireType) where a message, string or bytes belongs") }
        let length = try varint()
        guard length <= UInt64(buffer.count - offset) else { throw ProtobufWireError("a length of \(length) overruns its message") }
        defer { offset += Int(length) }
        return offset..<(offset + Int(length))
    }

    package mutating func varint(_ wireType: UInt64) throws(ProtobufWireError) -> UInt64 {
        guard wireType == 0 else { throw ProtobufWireError("wire type \(wireType) where a varint belongs") }
        return try varint()
    }

    /// Skips a field this reader does not know, or knows with another wire type (which protobuf
    /// keeps as an unknown field too). A group is skipped to its end, counting as a message nested
    /// in the one at `depth`: a request cannot nest deeper by groups than by messages.
    package mutating func skip(_ wireType: UInt64, field: UInt64, depth: Int) throws(ProtobufWireError) {
        switch wireType {
        case 0: _ = try varint()
        case 1: _ = try fixed64(1)
        case 2: _ = try lengthDelimited(2)
        case 3:
            try Self.enter(depth: depth + 1)
            while true {
                guard let (number, inner) = try nextInnerField() else { throw ProtobufWireError("group \(field) has no end") }
                if inner == 4 {
                    guard number == field else { throw ProtobufWireError("group \(field) ends as group \(number)") }
                    return
                }
                try skip(inner, field: number, depth: depth + 1)
            }
        case 5:
            guard buffer.count - offset >= 4 else { throw ProtobufWireError("a 32-bit value is cut short") }
            offset += 4
        default: throw ProtobufWireError("the end of group \(field) outside a group")
        }
    }

    package func slice(_ range: Range<Int>) -> UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: buffer[range]) }

    package func string(_ range: Range<Int>) throws(ProtobufWireError) -> String {
        guard let text = String(validating: slice(range), as: UTF8.self) else { throw ProtobufWireError("a string is not UTF-8") }
        return text
    }
}

/// The protobuf wire format's framing, checked without a schema.
enum ProtobufWire {
    /// Whether `bytes` are a sequence of fields (key, then a value of its wire type) that ends
    /// exactly at the end: what any message's encoding is. Field contents are not looked into.
    static func isMessage(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var reader = ProtobufWireReader(bytes)
        do {
            while let (number, wireType) = try reader.nextField() { try reader.skip(wireType, field: number, depth: 1) }
            return true
        } catch {
            return false
        }
    }
}
