import FerryBSON
import FerrySystem
import Foundation
import SwiftProtobuf
import ViamProtos

package typealias DataCaptureMetadata = Viam_App_Datasync_V1_DataCaptureMetadata
package typealias SensorData = Viam_App_Datasync_V1_SensorData

/// Viam's capture file format and layout: a varint-length-delimited `DataCaptureMetadata`, then
/// varint-length-delimited `SensorData` records. Open files end in `.prog`, finished ones in
/// `.capture`, under `<capture_dir>/<api with : as _>/<name>/<Method>/`.
package enum CaptureFile {
    package static let inProgressExtension = "prog"
    package static let finishedExtension = "capture"

    /// `<capture_dir>/rdk_component_sensor/<name>/<Method>`
    package static func directory(captureDir: String, api: String, component: String, method: String) -> URL {
        URL(fileURLWithPath: captureDir)
            .appendingPathComponent(api.replacing(":", with: "_"))
            .appendingPathComponent(component)
            .appendingPathComponent(method)
    }

    /// `<UTC timestamp>-<unique>`: sorts by creation time; unique across collectors and restarts.
    package static func baseName(at date: Date) -> String {
        // Not ISO8601DateFormatter: on Linux it formats through ICU, whose data then stays resident (~6 MiB).
        let milliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        let unique = String(UInt64.random(in: 0...UInt64.max) & 0xFFFF_FFFF_FFFF, radix: 16)
        return "\(ISODate.string(milliseconds, alwaysMilliseconds: true))-\(unique)"
    }

    package static func metadata(
        api: String, component: String, method: String, parameters: BSONDocument, tabular: Bool, tags: [String],
        mimeType: String = ""
    ) -> DataCaptureMetadata {
        var metadata = DataCaptureMetadata()
        metadata.componentType = api
        metadata.componentName = component
        metadata.methodName = method
        metadata.type = tabular ? .tabularSensor : .binarySensor
        metadata.tags = tags
        metadata.mimeType = mimeType
        metadata.fileExtension = tabular ? ".dat" : fileExtension(mimeType: mimeType)
        for element in parameters {
            metadata.methodParameters[element.key] = packParameter(element.value)
        }
        return metadata
    }

    static func fileExtension(mimeType: String) -> String {
        switch mimeType {
        case "image/jpeg": ".jpeg"
        case "image/png": ".png"
        case "pointcloud/pcd": ".pcd"
        default: ""
        }
    }

    static func sensorMimeType(_ mimeType: String) -> Viam_App_Datasync_V1_MimeType {
        switch mimeType {
        case "image/jpeg": .imageJpeg
        case "image/png": .imagePng
        case "pointcloud/pcd": .applicationPcd
        case "video/mp4": .videoMp4
        default: .unspecified
        }
    }

    /// Viam packs method parameters as Any: strings as StringValue, everything else as Value.
    static func packParameter(_ value: BSON) -> Google_Protobuf_Any {
        if let string = value.stringValue, let any = try? Google_Protobuf_Any(message: Google_Protobuf_StringValue(string)) {
            return any
        }
        return (try? Google_Protobuf_Any(message: StructConversion.value(from: value))) ?? Google_Protobuf_Any()
    }

    package static func unpackParameters(_ parameters: [String: Google_Protobuf_Any]) -> BSONDocument {
        BSONDocument(
            parameters.keys.sorted().map { key in
                let any = parameters[key]!
                if any.isA(Google_Protobuf_StringValue.self), let string = try? Google_Protobuf_StringValue(unpackingAny: any) {
                    return (key, .string(string.value))
                }
                if let value = try? Google_Protobuf_Value(unpackingAny: any) { return (key, StructConversion.bson(from: value)) }
                return (key, .null)
            })
    }

    package static func tabularRecord(_ reading: BSONDocument, requested: Date, received: Date) -> SensorData {
        var record = SensorData()
        record.metadata.timeRequested = Google_Protobuf_Timestamp(date: requested)
        record.metadata.timeReceived = Google_Protobuf_Timestamp(date: received)
        record.struct = StructConversion.struct(from: reading)
        return record
    }

    /// `annotations` (a vision service's detections on an image) ride in the record's metadata, so
    /// they are uploaded with the payload, as Viam's capture does.
    package static func binaryRecord(
        _ bytes: [UInt8], mimeType: String, requested: Date, received: Date, annotations: BSONDocument? = nil
    ) -> SensorData {
        var record = SensorData()
        record.metadata.timeRequested = Google_Protobuf_Timestamp(date: requested)
        record.metadata.timeReceived = Google_Protobuf_Timestamp(date: received)
        record.metadata.mimeType = sensorMimeType(mimeType)
        if let annotations { record.metadata.annotations = AnnotationConversion.annotations(from: annotations) }
        record.binary = Data(bytes)
        return record
    }

    /// One message with its varint length prefix, as Go's protoutil delimited writer does.
    package static func delimited(_ message: some SwiftProtobuf.Message) throws -> [UInt8] {
        // Deterministic: Struct fields are a map, and the same reading should give the same bytes.
        var options = BinaryEncodingOptions()
        options.useDeterministicOrdering = true
        let body: [UInt8] = try message.serializedBytes(options: options)
        var out = Varint.encode(UInt64(body.count))
        out.append(contentsOf: body)
        return out
    }
}

package enum Varint {
    package static func encode(_ value: UInt64) -> [UInt8] {
        var value = value
        var out: [UInt8] = []
        while value >= 0x80 {
            out.append(UInt8(value & 0x7F) | 0x80)
            value >>= 7
        }
        out.append(UInt8(value))
        return out
    }

    /// Decodes at `offset`; nil when the bytes end inside the varint or it is longer than 10 bytes.
    package static func decode(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> (value: UInt64, length: Int)? {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        var index = offset
        while index < bytes.count, shift < 64 {
            let byte = bytes[index]
            value |= UInt64(byte & 0x7F) << shift
            index += 1
            if byte & 0x80 == 0 { return (value, index - offset) }
            shift += 7
        }
        return nil
    }
}

extension CaptureFile {
    /// One record as a document, as `ferry capture cat` prints it: the file, the collector, the
    /// times, and the reading (or the binary payload's type and size, with its bytes if asked).
    package static func document(file: String, metadata: DataCaptureMetadata, record: SensorData, withBytes: Bool) -> BSONDocument {
        var document: BSONDocument = [
            "file": .string(file),
            "component_type": .string(metadata.componentType),
            "component_name": .string(metadata.componentName),
            "method_name": .string(metadata.methodName),
        ]
        let parameters = unpackParameters(metadata.methodParameters)
        if !parameters.isEmpty { document["method_parameters"] = .document(parameters) }
        if !metadata.tags.isEmpty { document["tags"] = .array(metadata.tags.map(BSON.string)) }
        document["time_requested"] = .datetime(milliseconds(record.metadata.timeRequested))
        document["time_received"] = .datetime(milliseconds(record.metadata.timeReceived))
        switch record.data {
        case .struct(let value):
            document["data"] = .document(StructConversion.document(from: value))
        case .binary(let bytes):
            var payload: BSONDocument = [
                "mime_type": .string(metadata.mimeType.isEmpty ? "application/octet-stream" : metadata.mimeType),
                "size": .int64(Int64(bytes.count)),
            ]
            if withBytes { payload["bytes"] = .binary(BSONBinary(data: Array(bytes))) }
            document["binary"] = .document(payload)
            if record.metadata.hasAnnotations {
                document["annotations"] = .document(AnnotationConversion.document(from: record.metadata.annotations))
            }
        case nil:
            document["data"] = .null
        }
        return document
    }

    /// A timestamp in milliseconds, held to what a BSON date can say (a damaged file's may not fit).
    package static func milliseconds(_ timestamp: Google_Protobuf_Timestamp) -> Int64 {
        let seconds = min(max(timestamp.seconds, Int64.min / 1000 + 3), Int64.max / 1000 - 3)
        return seconds * 1000 + Int64(timestamp.nanos / 1_000_000)
    }
}
