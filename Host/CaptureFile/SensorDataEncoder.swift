import FerryBSON
import Foundation

/// Encodes a tabular `SensorData` record straight from BSON to protobuf wire bytes, without
/// building swift-protobuf's `Struct` (a dictionary per level): the capture hot path. The bytes
/// parse as the same message as `CaptureFile.tabularRecord` builds (a test compares them); map
/// entries come in the reading's own key order.
///
/// Everything is written into the caller's buffer in one pass: a nested message gets a one-byte
/// length placeholder, patched once its contents are written (and widened in the rare case it
/// needs more), so no intermediate arrays are made.
package enum SensorDataEncoder {
    /// The record with its varint length prefix, ready to append to a capture file.
    package static func delimitedTabular(_ reading: BSONDocument, requested: Date, received: Date) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(64 + reading.count * 32)
        appendDelimitedTabular(reading, requested: requested, received: received, to: &out)
        return out
    }

    /// Appends the record with its varint length prefix to `out`.
    package static func appendDelimitedTabular(_ reading: BSONDocument, requested: Date, received: Date, to out: inout [UInt8]) {
        lengthDelimited(into: &out) { record in
            message(field: 1, into: &record) { metadata in
                message(field: 1, into: &metadata) { timestamp(requested, into: &$0) }
                message(field: 2, into: &metadata) { timestamp(received, into: &$0) }
            }
            message(field: 2, into: &record) { structFields(reading, into: &$0) }
        }
    }

    // MARK: - google.protobuf messages

    static func timestamp(_ date: Date, into out: inout [UInt8]) {
        let interval = date.timeIntervalSince1970
        var seconds = Int64(interval.rounded(.down))
        var nanos = Int32(((interval - Double(seconds)) * 1e9).rounded())
        if nanos >= 1_000_000_000 {
            seconds += 1
            nanos -= 1_000_000_000
        }
        if seconds != 0 { varint(field: 1, UInt64(bitPattern: seconds), into: &out) }
        if nanos != 0 { varint(field: 2, UInt64(UInt32(bitPattern: nanos)), into: &out) }
    }

    /// Struct: `map<string, Value> fields = 1`, i.e. repeated entries {1: key, 2: value}.
    static func structFields(_ document: BSONDocument, into out: inout [UInt8]) {
        for element in document.elements {
            message(field: 1, into: &out) { entry in
                string(field: 1, element.key, into: &entry)
                message(field: 2, into: &entry) { value(element.value, into: &$0) }
            }
        }
    }

    /// Value: null_value = 1, number_value = 2, string_value = 3, bool_value = 4, struct_value = 5,
    /// list_value = 6. Same mapping as `StructConversion.value(from:)`.
    static func value(_ bson: BSON, into out: inout [UInt8]) {
        switch bson {
        case .double(let d): double(field: 2, d, into: &out)
        case .int32(let i): double(field: 2, Double(i), into: &out)
        case .int64(let i): double(field: 2, Double(i), into: &out)
        case .string(let s), .symbol(let s): string(field: 3, s, into: &out)
        case .bool(let b): varint(field: 4, b ? 1 : 0, into: &out)
        case .null, .undefined: varint(field: 1, 0, into: &out)
        case .document(let d): message(field: 5, into: &out) { structFields(d, into: &$0) }
        case .array(let a):
            message(field: 6, into: &out) { list in
                for item in a { message(field: 1, into: &list) { value(item, into: &$0) } }
            }
        default:
            // Dates, binary and the rest: the same string form the Struct conversion uses.
            if case .stringValue(let s) = StructConversion.value(from: bson).kind { string(field: 3, s, into: &out) }
        }
    }

    // MARK: - wire format

    @inline(__always)
    static func tag(_ field: UInt64, _ wireType: UInt64, into out: inout [UInt8]) { appendVarint(field << 3 | wireType, into: &out) }

    @inline(__always)
    static func appendVarint(_ value: UInt64, into out: inout [UInt8]) {
        var value = value
        while value >= 0x80 {
            out.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        out.append(UInt8(value))
    }

    static func varint(field: UInt64, _ value: UInt64, into out: inout [UInt8]) {
        tag(field, 0, into: &out)
        appendVarint(value, into: &out)
    }

    static func double(field: UInt64, _ value: Double, into out: inout [UInt8]) {
        tag(field, 1, into: &out)
        withUnsafeBytes(of: value.bitPattern.littleEndian) { out.append(contentsOf: $0) }
    }

    static func string(field: UInt64, _ value: String, into out: inout [UInt8]) {
        tag(field, 2, into: &out)
        var value = value
        value.withUTF8 { utf8 in
            appendVarint(UInt64(utf8.count), into: &out)
            out.append(contentsOf: utf8)
        }
    }

    /// A length-delimited sub-message, written in place.
    @inline(__always)
    static func message(field: UInt64, into out: inout [UInt8], _ body: (inout [UInt8]) -> Void) {
        tag(field, 2, into: &out)
        lengthDelimited(into: &out, body)
    }

    /// A varint length, then what `body` appends. The length's one-byte placeholder is widened when
    /// the contents turn out to be 128 bytes or more.
    static func lengthDelimited(into out: inout [UInt8], _ body: (inout [UInt8]) -> Void) {
        let placeholder = out.count
        out.append(0)
        body(&out)
        let length = out.count - placeholder - 1
        if length < 0x80 {
            out[placeholder] = UInt8(length)
            return
        }
        var prefix: [UInt8] = []
        appendVarint(UInt64(length), into: &prefix)
        out.replaceSubrange(placeholder..<placeholder + 1, with: prefix)
    }
}
