import FerryBSON
import FerryCaptureFile
import FerryStore
import Foundation
import SwiftProtobuf
import ViamProtos

/// A `DataCaptureUploadRequest` as the data server reads it: a tabular upload's records stay wire
/// bytes until they are converted, each `Struct` straight into BSON (swift-protobuf's `Struct` maps,
/// built and then converted, were most of an upload's cost); any other upload is decoded whole.
package enum CaptureUpload: Sendable {
    case tabular(TabularUpload)
    case other(Viam_App_Datasync_V1_DataCaptureUploadRequest)

    package var metadata: Viam_App_Datasync_V1_UploadMetadata {
        switch self {
        case .tabular(let upload): upload.metadata
        case .other(let request): request.metadata
        }
    }

    /// Reads the request's fields; a tabular upload's records are only located.
    package init(serializedBytes bytes: [UInt8]) throws(ProtobufWireError) {
        var metadata = Viam_App_Datasync_V1_UploadMetadata()
        var records: [Range<Int>] = []
        // withUnsafeBytes rethrows untyped errors; carry ours out in a Result.
        try bytes.withUnsafeBytes { buffer in
            Result { () throws(ProtobufWireError) in
                var reader = ProtobufWireReader(buffer)
                while let (number, wireType) = try reader.nextField() {
                    switch (number, wireType) {
                    // The request is message 1, its metadata message 2.
                    case (1, 2): try StructWire.merge(reader.slice(try reader.lengthDelimited(wireType)), into: &metadata, depth: 2)
                    case (2, 2): records.append(try reader.lengthDelimited(wireType))
                    default: try reader.skip(wireType, field: number, depth: 1)
                    }
                }
            }
        }.get()
        switch metadata.type {
        case .tabularSensor, .unspecified:
            self = .tabular(TabularUpload(metadata: metadata, bytes: bytes, records: records))
        default:
            do {
                self = .other(try Viam_App_Datasync_V1_DataCaptureUploadRequest(serializedBytes: bytes))
            } catch {
                throw ProtobufWireError("\(error)")
            }
        }
    }
}

/// A tabular upload's metadata and its records' bytes.
package struct TabularUpload: Sendable {
    package var metadata: Viam_App_Datasync_V1_UploadMetadata
    let bytes: [UInt8]
    /// Each `sensor_contents` entry's range in `bytes`.
    let records: [Range<Int>]
    package var count: Int { records.count }

    /// Record `index`: its sensor metadata, and its `struct` as BSON (nil when it holds none).
    func record(_ index: Int) throws(ProtobufWireError) -> TabularRecord {
        try bytes.withUnsafeBytes { buffer in
            Result { () throws(ProtobufWireError) in try StructWire.sensorData(UnsafeRawBufferPointer(rebasing: buffer[records[index]])) }
        }.get()
    }
}

/// One `sensor_contents` entry of a tabular upload (a struct, not a tuple: a tuple type through
/// `Result` costs a runtime metadata lookup per record).
struct TabularRecord {
    var metadata: Viam_App_Datasync_V1_SensorMetadata
    /// Its `struct` as BSON; nil when it holds none.
    var data: BSONDocument?
}

/// `SensorData` and `google.protobuf.Struct` read into what `StructConversion.document(from:)`
/// makes of swift-protobuf's messages: numbers as doubles, keys sorted, and protobuf's rules for
/// fields sent more than once (the last scalar wins; a message sent again is merged into the one
/// before: a `Struct`'s entries override, a list's values are appended). `depth` counts messages
/// from the request (1) down, as swift-protobuf's limit does (map entries do not count).
enum StructWire {
    static func sensorData(_ bytes: UnsafeRawBufferPointer) throws(ProtobufWireError) -> TabularRecord {
        var reader = ProtobufWireReader(bytes)
        var metadata = Viam_App_Datasync_V1_SensorMetadata()
        // `data` is a oneof of `struct` (2) and `binary` (3): the last one sent holds it.
        var fields: StructEntries?
        while let (number, wireType) = try reader.nextField() {
            switch (number, wireType) {
            // SensorData is message 2, its metadata and struct message 3.
            case (1, 2): try merge(reader.slice(try reader.lengthDelimited(wireType)), into: &metadata, depth: 3)
            case (2, 2):
                var merged = fields ?? StructEntries()
                fields = nil  // lets `merged` be uniquely referenced while the entries go in
                try structFields(reader.slice(try reader.lengthDelimited(wireType)), into: &merged, depth: 3)
                fields = merged
            case (3, 2):
                _ = try reader.lengthDelimited(wireType)
                fields = nil
            default: try reader.skip(wireType, field: number, depth: 2)
            }
        }
        return TabularRecord(metadata: metadata, data: fields?.document)
    }

    /// One occurrence of a message field merged into what the ones before gave, as swift-protobuf
    /// merges it, with the depth limit that applies `depth` messages down.
    static func merge<M: SwiftProtobuf.Message>(_ bytes: UnsafeRawBufferPointer, into message: inout M, depth: Int) throws(ProtobufWireError) {
        try ProtobufWireReader.enter(depth: depth)
        var options = BinaryDecodingOptions()
        // Decoding it alone counts it as the first message: what is left below it is the same.
        options.messageDepthLimit = ProtobufWireReader.depthLimit - depth + 1
        do {
            try message.merge(serializedBytes: Array(bytes), options: options)
        } catch {
            throw ProtobufWireError("\(M.protoMessageName) does not decode: \(error)")
        }
    }

    /// A `Struct`'s entries in the order they were read, a key possibly more than once. Read into
    /// a list rather than a dictionary: hashing every key (and growing the table) was most of the
    /// conversion's time, and a `Struct` is sorted once at the end anyway.
    struct StructEntries {
        var entries: [BSONElement] = []

        mutating func set(_ key: String, _ value: BSON) { entries.append(BSONElement(key, value)) }

        /// The entries sorted by key as `Dictionary` assignment then `keys.sorted()` give them: for
        /// a key sent more than once, the last value under the spelling of its first occurrence
        /// (keys equal as Swift strings, canonically equivalent ones too, are one key).
        var document: BSONDocument {
            if entries.count < 2 { return BSONDocument(entries) }
            let order = entries.indices.sorted { a, b in
                entries[a].key == entries[b].key ? a < b : entries[a].key < entries[b].key
            }
            var sorted: [BSONElement] = []
            sorted.reserveCapacity(entries.count)
            var position = 0
            while position < order.count {
                var last = position
                while last + 1 < order.count, entries[order[last + 1]].key == entries[order[position]].key { last += 1 }
                sorted.append(BSONElement(entries[order[position]].key, entries[order[last]].value))
                position = last + 1
            }
            return BSONDocument(sorted)
        }
    }

    /// Calls `body` with each element of a `Struct` or a `ListValue` at `depth`: messages whose one
    /// field (1) is a repeated message. Anything else in them is skipped.
    static func eachElement(
        _ bytes: UnsafeRawBufferPointer, depth: Int, _ body: (UnsafeRawBufferPointer) throws(ProtobufWireError) -> Void
    ) throws(ProtobufWireError) {
        try ProtobufWireReader.enter(depth: depth)
        var reader = ProtobufWireReader(bytes)
        while let (number, wireType) = try reader.nextField() {
            if number == 1, wireType == 2 {
                try body(reader.slice(try reader.lengthDelimited(wireType)))
            } else {
                try reader.skip(wireType, field: number, depth: depth)
            }
        }
    }

    /// A `Struct`'s entries (at `depth`) merged into `fields`: an entry for a key already there replaces it.
    static func structFields(_ bytes: UnsafeRawBufferPointer, into fields: inout StructEntries, depth: Int) throws(ProtobufWireError) {
        try eachElement(bytes, depth: depth) { (entryBytes) throws(ProtobufWireError) in
            // A map entry: its key (1) and value (2). swift-protobuf reads either with another wire
            // type as a bare tag (what follows is read as the next field), and refuses a group's end.
            var entry = ProtobufWireReader(entryBytes)
            var key = ""
            var value: Value?
            while let (field, entryWireType) = try entry.nextInnerField() {
                switch (field, entryWireType) {
                case (_, 4): throw ProtobufWireError("the end of group \(field) in a map entry")
                case (1, 2): key = try entry.string(try entry.lengthDelimited(entryWireType))
                case (2, 2): value = try self.value(entry.slice(try entry.lengthDelimited(entryWireType)), over: value, depth: depth + 1)
                case (1, _), (2, _): continue
                default: try entry.skip(entryWireType, field: field, depth: depth)
                }
            }
            fields.set(key, value?.bson ?? .null)
        }
    }

    /// A `Value` while it is read: a `Struct` or a list stays open to merges.
    enum Value {
        case scalar(BSON)
        case fields(StructEntries)
        case list([BSON])

        var bson: BSON {
            switch self {
            case .scalar(let value): value
            case .fields(let fields): .document(fields.document)
            case .list(let values): .array(values)
            }
        }
    }

    /// A `Value` at `depth` read over `existing` (nil for a fresh one); nil when it sets no kind.
    static func value(_ bytes: UnsafeRawBufferPointer, over existing: Value?, depth: Int) throws(ProtobufWireError) -> Value? {
        try ProtobufWireReader.enter(depth: depth)
        var result = existing
        var reader = ProtobufWireReader(bytes)
        while let (number, wireType) = try reader.nextField() {
            switch (number, wireType) {
            case (1, 0):
                _ = try reader.varint(wireType)
                result = .scalar(.null)
            case (2, 1): result = .scalar(.double(Double(bitPattern: try reader.fixed64(wireType))))
            case (3, 2): result = .scalar(.string(try reader.string(try reader.lengthDelimited(wireType))))
            case (4, 0): result = .scalar(.bool(try reader.varint(wireType) != 0))
            case (5, 2):
                var fields = StructEntries()
                if case .fields(let before)? = result { fields = before }
                result = nil  // lets `fields` be uniquely referenced while the entries go in
                try structFields(reader.slice(try reader.lengthDelimited(wireType)), into: &fields, depth: depth + 1)
                result = .fields(fields)
            case (6, 2):
                var values: [BSON] = []
                if case .list(let before)? = result { values = before }
                result = nil
                try list(reader.slice(try reader.lengthDelimited(wireType)), into: &values, depth: depth + 1)
                result = .list(values)
            default: try reader.skip(wireType, field: number, depth: depth)
            }
        }
        return result
    }

    /// A `ListValue`'s (at `depth`) values appended to `values`.
    static func list(_ bytes: UnsafeRawBufferPointer, into values: inout [BSON], depth: Int) throws(ProtobufWireError) {
        try eachElement(bytes, depth: depth) { (element) throws(ProtobufWireError) in
            values.append(try value(element, over: nil, depth: depth + 1)?.bson ?? .null)
        }
    }
}
