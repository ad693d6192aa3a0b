import FerryBSON
import FerryCaptureFile
import Foundation
import SwiftProtobuf
import Testing
import ViamProtos

@testable import FerrySync

/// Sync sends a tabular upload as its metadata and the capture file's record bytes, written field
/// by field: the server must read exactly the request swift-protobuf would have sent.
@Suite struct EncodedUploadRequestTests {
    @Test func theRequestDecodesAsTheOneSwiftProtobufWouldSend() throws {
        var metadata = UploadMetadata()
        metadata.partID = "part-1"
        metadata.componentType = "rdk:component:sensor"
        metadata.componentName = "thermo"
        metadata.methodName = "Readings"
        metadata.type = .tabularSensor
        metadata.tags = ["lab", "ünï"]
        let t0 = Date(timeIntervalSince1970: 1_700_000_000.5)
        // Records of 0 to ~300 bytes: a length prefix of one byte and of two.
        let readings: [BSONDocument] = [
            [:], ["readings": ["t": 21.5]], ["readings": ["s": .string(String(repeating: "x", count: 300)), "list": [1, "a", [:]]]],
        ]
        let records = readings.map { CaptureFile.tabularRecord($0, requested: t0, received: t0.addingTimeInterval(0.25)) }
        let encoded = try records.map { Data(try $0.serializedBytes() as [UInt8]) }

        let bytes = try EncodedUploadRequest.bytes(metadata: metadata, records: encoded)
        var expected = Viam_App_Datasync_V1_DataCaptureUploadRequest()
        expected.metadata = metadata
        expected.sensorContents = records
        #expect(try Viam_App_Datasync_V1_DataCaptureUploadRequest(serializedBytes: bytes) == expected)
        #expect(bytes.count == (try expected.serializedBytes() as [UInt8]).count)

        let empty = try EncodedUploadRequest.bytes(metadata: metadata, records: [])
        #expect(try Viam_App_Datasync_V1_DataCaptureUploadRequest(serializedBytes: empty).sensorContents.isEmpty)
    }
}
