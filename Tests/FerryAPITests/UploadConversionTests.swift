import FerryIngest
import FerryStore
import Foundation
import SwiftProtobuf
import Testing
import ViamProtos

/// What the server makes of an upload's messages. A timestamp no date can hold is refused with
/// the field that holds it (the fuzzer's upload target once crashed the server with one:
/// `seconds * 1000` overflowed; the input is kept in Fuzz/Regressions/upload).
@Suite struct UploadConversionTests {
    let caller = APIKeyIdentity(keyID: "k", organizationID: "org", role: .operator, scope: MachineScope(locationID: "l", robotID: "r"))
    let now = Date(timeIntervalSince1970: 1_767_225_600)

    func request(received: Google_Protobuf_Timestamp) -> Viam_App_Datasync_V1_DataCaptureUploadRequest {
        var request = Viam_App_Datasync_V1_DataCaptureUploadRequest()
        request.metadata.componentName = "s"
        var record = Viam_App_Datasync_V1_SensorData()
        record.metadata.timeReceived = received
        record.struct = Google_Protobuf_Struct(fields: ["t": Google_Protobuf_Value(numberValue: 21.5)])
        request.sensorContents = [record]
        return request
    }

    @Test func aTimestampBeyondAnyDateIsRefusedNamingItsField() throws {
        for seconds in [Int64.max, Int64.min, Int64.max / 1000, Int64.min / 1000] {
            #expect(throws: UploadRefusal.self) { try UploadConversion.readings(request(received: .init(seconds: seconds, nanos: 0)), caller: caller, now: now) }
            do {
                _ = try UploadConversion.readings(request(received: .init(seconds: seconds, nanos: 0)), caller: caller, now: now)
            } catch {
                #expect(error.description.hasPrefix("sensor_contents[0].metadata.time_received.seconds \(seconds) is outside the range of a date"))
            }
        }
        var file = Viam_App_Datasync_V1_UploadMetadata()
        file.fileCreateTime = .init(seconds: .min, nanos: 0)
        #expect(throws: UploadRefusal("metadata.file_create_time.seconds \(Int64.min) is outside the range of a date (±292 million years)")) {
            try UploadConversion.fileMetadata(file, caller: caller, fileID: nil, now: now)
        }
    }

    @Test func theWidestDatesStillConvertExactly() throws {
        let latest = Int64.max / 1000 - 3
        let reading = try #require(try UploadConversion.readings(request(received: .init(seconds: latest, nanos: 999_999_999)), caller: caller, now: now).first)
        #expect(reading.timeReceived == latest * 1000 + 999)
        #expect(reading.timeRequested == reading.timeReceived)
        let earliest = Int64.min / 1000 + 3
        let early = try #require(try UploadConversion.readings(request(received: .init(seconds: earliest, nanos: 0)), caller: caller, now: now).first)
        #expect(early.timeReceived == earliest * 1000)
    }

    @Test func anUploadKeepsItsDatasetIDs() throws {
        var file = Viam_App_Datasync_V1_UploadMetadata()
        file.datasetIds = ["d2", "", "d1", "d2"]
        #expect(try UploadConversion.fileMetadata(file, caller: caller, fileID: nil, now: now).datasetIDs == ["d1", "d2"])
        #expect(try UploadConversion.binaryMetadata(file, Viam_App_Datasync_V1_SensorMetadata(), caller: caller, fileID: nil, now: now).datasetIDs == ["d1", "d2"])
        #expect(try UploadConversion.fileMetadata(Viam_App_Datasync_V1_UploadMetadata(), caller: caller, fileID: nil, now: now).datasetIDs.isEmpty)
    }

    @Test func aTabularUploadBecomesReadingsOfTheCallersOrganisation() throws {
        let readings = try UploadConversion.readings(request(received: .init(seconds: 1_767_225_600, nanos: 250_000_000)), caller: caller, now: now)
        #expect(readings.count == 1)
        #expect(readings[0].organizationID == "org" && readings[0].locationID == "l" && readings[0].robotID == "r")
        #expect(readings[0].timeReceived == 1_767_225_600_250)
        #expect(readings[0].data == ["t": .double(21.5)])
        var binary = request(received: .init(seconds: 1, nanos: 0))
        binary.sensorContents[0].binary = Data([1, 2])
        #expect(throws: UploadRefusal("sensor_contents[0] has no struct data, but the upload's type is tabular")) {
            try UploadConversion.readings(binary, caller: caller, now: now)
        }
    }

    /// The request as the server reads it off the wire.
    func wire(_ request: Viam_App_Datasync_V1_DataCaptureUploadRequest) throws -> TabularUpload {
        guard case .tabular(let upload) = try CaptureUpload(serializedBytes: request.serializedBytes()) else {
            throw UploadRefusal("not read as a tabular upload")
        }
        return upload
    }

    /// A large upload made as a batch in slices gives the same readings, in order, as one pass; a
    /// refusal is the first bad record's, as one pass gives it (here in the first slice, another in the last).
    @Test func slicesGiveWhatOnePassGives() async throws {
        var upload = request(received: .init(seconds: 1_767_225_600, nanos: 0))
        upload.metadata.tags = ["lab"]
        upload.metadata.methodParameters = ["unit": try Google_Protobuf_Any(message: Google_Protobuf_StringValue("celsius"))]
        upload.sensorContents = (0..<2_345).map { i in
            var record = Viam_App_Datasync_V1_SensorData()
            record.metadata.timeReceived = .init(seconds: 1_767_225_600 + Int64(i), nanos: 0)
            record.struct = Google_Protobuf_Struct(fields: [
                "i": Google_Protobuf_Value(numberValue: Double(i)), "s": Google_Protobuf_Value(stringValue: "r\(i)"),
            ])
            return record
        }
        let whole = try UploadConversion.readings(upload, caller: caller, now: now)
        let batch = UploadConversion.batch(try wire(upload), caller: caller, now: now)
        #expect(batch.count == 2_345 && batch.organizationID == "org")
        let sliced = try await batch.readings()
        #expect(try stride(from: 0, to: 2_345, by: 100).flatMap { try batch.make($0..<min(2_345, $0 + 100)) } == whole)
        #expect(whole.count == 2_345)
        #expect(sliced == whole)
        #expect(whole[1_000].additionalParameters == ["unit": "celsius"] && whole[2_344].tags == ["lab"])

        upload.sensorContents[2_000].binary = Data([1])
        upload.sensorContents[1_000].metadata.timeReceived = .init(seconds: Int64.max, nanos: 0)
        let oneFails = #expect(throws: UploadRefusal.self) { try UploadConversion.readings(upload, caller: caller, now: now) }
        let refusal = try #require(oneFails)
        #expect(refusal.description.contains("sensor_contents[1000].metadata.time_received"))
        await #expect(throws: refusal) { try await UploadConversion.batch(try wire(upload), caller: caller, now: now).readings() }
    }
}
