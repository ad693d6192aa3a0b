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
        var metadataBytes: [UInt8] = []
        var records: [Range<Int>] = []
        // withUnsafeBytes rethrows untyped errors; carry ours out in a Result.
        try bytes.withUnsafeBytes { buffer in
            Result { () throws(ProtobufWireError) in
                var reader = ProtobufWireReader(buffer)
                while let (number, wireType) = try reader.nextField() {
                    switch (number, wireType) {
                    // A message field sent twice is merged, which for bytes is concatenation.
                    case (1, 2): metadataBytes += buffer[try reader.lengthDelimited(wireType)]
                    case (2, 2): records.append(try reader.lengthDelimited(wireType))
                    default: try reader.skip(wireType, field: number)
                    }
                }
            }
        }.get()
        let metadata: Viam_App_Datasync_V1_UploadMetadata
        do {
            metadata = try Viam_App_Datasync_V1_UploadMetadata(serializedBytes: metadataBytes)
        } catch {
            throw ProtobufWireError("metadata does not decode: \(error)")
        }
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
/// before: a `Struct`'s entries override, a list's values are appended).
enum StructWire {
    /// swift-protobuf's default limit on nested messages; deeper requests are refused alike.
    static let depthLimit = 100

    static func sensorData(_ bytes: UnsafeRawBufferPointer) throws(ProtobufWireError) -> TabularRecord {
        var reader = ProtobufWireReader(bytes)
        var metadataBytes: [UInt8] = []
        // `data` is a oneof of `struct` (2) and `binary` (3): the last one sent holds it.
        var data: BSONDocument?
        while let (number, wireType) = try reader.nextField() {
            switch (number, wireType) {
            case (1, 2): metadataBytes += reader.slice(try reader.lengthDelimited(wireType))
            case (2, 2):
                let fields = try document(reader.slice(try reader.lengthDelimited(wireType)), depth: 3)
                data = data.map { merge($0, fields) } ?? fields
            case (3, 2):
                _ = try reader.lengthDelimited(wireType)
                data = nil
            default: try reader.skip(wireType, field: number)
            }
        }
        do {
            return TabularRecord(metadata: try Viam_App_Datasync_V1_SensorMetadata(serializedBytes: metadataBytes), data: data)
        } catch {
            throw ProtobufWireError("metadata does not decode: \(error)")
        }
    }

    /// A `Struct`'s fields, keys sorted (as `StructConversion` sorts them).
    static func document(_ bytes: UnsafeRawBufferPointer, depth: Int) throws(ProtobufWireError) -> BSONDocument {
        guard depth <= depthLimit else { throw ProtobufWireError("messages nested more than \(depthLimit) deep") }
        var fields: [String: BSON] = [:]
        var reader = ProtobufWireReader(bytes)
        while let (number, wireType) = try reader.nextField() {
            guard number == 1, wireType == 2 else {
                try reader.skip(wireType, field: number)
                continue
            }
            // A map entry: its key (1) and value (2); an entry for a key already seen replaces it.
            var entry = ProtobufWireReader(reader.slice(try reader.lengthDelimited(wireType)))
            var key = ""
            var value: BSON?
            while let (field, entryWireType) = try entry.nextField() {
                switch (field, entryWireType) {
                case (1, 2): key = try entry.string(try entry.lengthDelimited(entryWireType))
                case (2, 2): value = try self.value(entry.slice(try entry.lengthDelimited(entryWireType)), mergingInto: value, depth: depth + 1)
                default: try entry.skip(entryWireType, field: field)
                }
            }
            fields[key] = value ?? .null
        }
        return BSONDocument(fields.keys.sorted().map { ($0, fields[$0]!) })
    }

    /// A `Value` (nil when it sets no kind), read over `existing` (nil for a fresh one).
    static func value(_ bytes: UnsafeRawBufferPointer, mergingInto existing: BSON?, depth: Int) throws(ProtobufWireError) -> BSON? {
        guard depth <= depthLimit else { throw ProtobufWireError("messages nested more than \(depthLimit) deep") }
        var result = existing
        var reader = ProtobufWireReader(bytes)
        while let (number, wireType) = try reader.nextField() {
            switch (number, wireType) {
            case (1, 0):
                _ = try reader.varint(wireType)
                result = .null
            case (2, 1): result = .double(Double(bitPattern: try reader.fixed64(wireType)))
            case (3, 2): result = .string(try reader.string(try reader.lengthDelimited(wireType)))
            case (4, 0): result = .bool(try reader.varint(wireType) != 0)
            case (5, 2):
                let fields = try document(reader.slice(try reader.lengthDelimited(wireType)), depth: depth + 1)
                if case .document(let before)? = result { result = .document(merge(before, fields)) } else { result = .document(fields) }
            case (6, 2):
                let values = try list(reader.slice(try reader.lengthDelimited(wireType)), depth: depth + 1)
                if case .array(let before)? = result { result = .array(before + values) } else { result = .array(values) }
            default: try reader.skip(wireType, field: number)
            }
        }
        return result
    }

    /// A `ListValue`'s values.
    static func list(_ bytes: UnsafeRawBufferPointer, depth: Int) throws(ProtobufWireError) -> [BSON] {
        guard depth <= depthLimit else { throw ProtobufWireError("messages nested more than \(depthLimit) deep") }
        var values: [BSON] = []
        var reader = ProtobufWireReader(bytes)
        while let (number, wireType) = try reader.nextField() {
            guard number == 1, wireType == 2 else {
                try reader.skip(wireType, field: number)
                continue
            }
            values.append(try value(reader.slice(try reader.lengthDelimited(wireType)), mergingInto: nil, depth: depth + 1) ?? .null)
        }
        return values
    }

    /// `later`'s entries over `earlier`'s, keys sorted: a `Struct` merged into another.
    static func merge(_ earlier: BSONDocument, _ later: BSONDocument) -> BSONDocument {
        var fields = Dictionary(earlier.elements.map { ($0.key, $0.value) }, uniquingKeysWith: { $1 })
        for element in later.elements { fields[element.key] = element.value }
        return BSONDocument(fields.keys.sorted().map { ($0, fields[$0]!) })
    }
}
