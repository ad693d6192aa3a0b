import FerryBSON
import FerryCaptureFile
import FerryClock
import FerryStore
import Foundation
import SwiftProtobuf
import ViamProtos

/// A refused upload: what in the request was wrong, for an INVALID_ARGUMENT status.
package struct UploadRefusal: Error, CustomStringConvertible, Sendable, Equatable {
    package var description: String
    package init(_ description: String) { self.description = description }
}

/// What the data server makes of an upload's protobuf messages: readings and binary metadata in
/// the store's terms. Pure (no gRPC, no store), so it is fuzzed on its own with untrusted bytes.
package enum UploadConversion {
    /// Timestamps outside BSON dates' ±292-million-year range are refused, not wrapped (the margin
    /// of 3 s leaves room for any `nanos`, whose milliseconds are added after).
    static let timestampSeconds: ClosedRange<Int64> = (Int64.min / 1000 + 3)...(Int64.max / 1000 - 3)

    package static func milliseconds(_ timestamp: Google_Protobuf_Timestamp, field: @autoclosure () -> String) throws(UploadRefusal) -> Int64 {
        guard timestampSeconds.contains(timestamp.seconds) else {
            throw UploadRefusal("\(field()).seconds \(timestamp.seconds) is outside the range of a date (±292 million years)")
        }
        // nanos is below one second for a valid Timestamp; a larger or negative one still stays in range.
        return timestamp.seconds * 1000 + Int64(timestamp.nanos / 1_000_000)
    }

    /// The readings of a tabular `DataCaptureUpload` decoded by swift-protobuf, each record's Struct
    /// as a BSON document: what the server's reading off the wire (`CaptureUpload`) must equal.
    package static func readings(
        _ request: Viam_App_Datasync_V1_DataCaptureUploadRequest, caller: APIKeyIdentity, now: Date = Date()
    ) throws(UploadRefusal) -> [Reading] {
        var readings: [Reading] = []
        readings.reserveCapacity(request.sensorContents.count)
        // The upload's metadata is every reading's: its parameters are unpacked once.
        let parameters = CaptureFile.unpackParameters(request.metadata.methodParameters)
        for index in request.sensorContents.indices {
            let record = request.sensorContents[index]
            guard case .struct(let value)? = record.data else {
                throw UploadRefusal("sensor_contents[\(index)] has no struct data, but the upload's type is tabular")
            }
            readings.append(
                try reading(
                    request.metadata, record.metadata, data: StructConversion.document(from: value), caller: caller,
                    at: "sensor_contents[\(index)].metadata", now: now, parameters: parameters))
        }
        return readings
    }

    /// The readings of a tabular upload read off the wire (`CaptureUpload`), the same as
    /// `readings(_:caller:now:)` gives for the decoded request, as a batch the store makes in
    /// slices on all cores while it writes the ones made (the uploader waits for this). A refusal
    /// is the `UploadRefusal` the first bad record in order gives, as one pass would give it.
    package static func batch(_ upload: TabularUpload, caller: APIKeyIdentity, now: Date = Date()) -> ReadingBatch {
        ReadingBatch(count: upload.count, organizationID: caller.organizationID) { range in
            try readings(upload, records: range, caller: caller, now: now)
        }
    }

    package static func readings(_ upload: TabularUpload, caller: APIKeyIdentity, now: Date = Date()) throws(UploadRefusal) -> [Reading] {
        try readings(upload, records: 0..<upload.count, caller: caller, now: now)
    }

    static func readings(_ upload: TabularUpload, records: Range<Int>, caller: APIKeyIdentity, now: Date) throws(UploadRefusal) -> [Reading] {
        var readings: [Reading] = []
        readings.reserveCapacity(records.count)
        let parameters = CaptureFile.unpackParameters(upload.metadata.methodParameters)
        for index in records {
            let record: TabularRecord
            do {
                record = try upload.record(index)
            } catch {
                throw UploadRefusal("sensor_contents[\(index)] does not decode: \(error)")
            }
            guard let data = record.data else {
                throw UploadRefusal("sensor_contents[\(index)] has no struct data, but the upload's type is tabular")
            }
            readings.append(
                try reading(
                    upload.metadata, record.metadata, data: data, caller: caller, at: "sensor_contents[\(index)].metadata", now: now,
                    parameters: parameters))
        }
        return readings
    }

    package static func reading(
        _ upload: Viam_App_Datasync_V1_UploadMetadata, _ sensor: Viam_App_Datasync_V1_SensorMetadata, data: BSONDocument,
        caller: APIKeyIdentity, at path: @autoclosure () -> String = "sensor_metadata", now: Date = Date(), parameters: BSONDocument? = nil
    ) throws(UploadRefusal) -> Reading {
        let received = sensor.hasTimeReceived ? try milliseconds(sensor.timeReceived, field: "\(path()).time_received") : now.unixMilliseconds
        return Reading(
            organizationID: caller.organizationID, locationID: caller.scope.locationID, robotID: caller.scope.robotID,
            partID: upload.partID,
            componentType: upload.componentType, componentName: upload.componentName, methodName: upload.methodName,
            timeRequested: sensor.hasTimeRequested ? try milliseconds(sensor.timeRequested, field: "\(path()).time_requested") : received,
            timeReceived: received, tags: upload.tags,
            additionalParameters: parameters ?? CaptureFile.unpackParameters(upload.methodParameters),
            data: data)
    }

    package static func binaryMetadata(
        _ upload: Viam_App_Datasync_V1_UploadMetadata, _ sensor: Viam_App_Datasync_V1_SensorMetadata, caller: APIKeyIdentity,
        fileID: String?, now: Date = Date()
    ) throws(UploadRefusal) -> BinaryMetadata {
        let received = sensor.hasTimeReceived ? try milliseconds(sensor.timeReceived, field: "sensor_metadata.time_received") : now.unixMilliseconds
        return BinaryMetadata(
            organizationID: caller.organizationID, locationID: caller.scope.locationID, robotID: caller.scope.robotID,
            partID: upload.partID, componentType: upload.componentType,
            componentName: upload.componentName, methodName: upload.methodName, fileName: upload.fileName,
            fileExtension: upload.fileExtension, mimeType: upload.mimeType.isEmpty ? "application/octet-stream" : upload.mimeType,
            timeRequested: sensor.hasTimeRequested ? try milliseconds(sensor.timeRequested, field: "sensor_metadata.time_requested") : received,
            timeReceived: received, tags: upload.tags, fileID: fileID,
            annotations: sensor.hasAnnotations ? AnnotationConversion.document(from: sensor.annotations) : nil,
            datasetIDs: Array(Set(upload.datasetIds.filter { !$0.isEmpty })).sorted())
    }

    /// A `FileUpload`'s metadata: its create and modify times stand for requested and received.
    package static func fileMetadata(
        _ upload: Viam_App_Datasync_V1_UploadMetadata, caller: APIKeyIdentity, fileID: String?, now: Date = Date()
    ) throws(UploadRefusal) -> BinaryMetadata {
        var binary = try binaryMetadata(upload, Viam_App_Datasync_V1_SensorMetadata(), caller: caller, fileID: fileID, now: now)
        let stamp = now.unixMilliseconds
        binary.timeRequested = upload.hasFileCreateTime ? try milliseconds(upload.fileCreateTime, field: "metadata.file_create_time") : stamp
        binary.timeReceived = upload.hasFileModifyTime ? try milliseconds(upload.fileModifyTime, field: "metadata.file_modify_time") : stamp
        return binary
    }
}
