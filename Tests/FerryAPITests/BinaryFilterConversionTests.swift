import FerryStore
import Foundation
import GRPCCore
import SwiftProtobuf
import Testing
import ViamProtos

@testable import FerryAPI

/// Viam's `Filter` in the store's terms, and what is refused with which status.
@Suite struct BinaryFilterConversionTests {
    func status(_ body: () throws -> Void) -> RPCError.Code? {
        do {
            try body()
            return nil
        } catch let error as RPCError {
            return error.code
        } catch {
            Issue.record("expected an RPCError, got \(error)")
            return nil
        }
    }

    @Test func everyFieldBecomesACondition() throws {
        var f = Viam_App_Data_V1_Filter()
        f.organizationIds = ["org-a"]
        f.locationIds = ["loc-1", "loc-2"]
        f.robotID = "robot"
        f.partID = "part"
        f.componentName = "cam"
        f.componentType = "rdk:component:camera"
        f.method = "ReadImage"
        f.mimeType = ["image/png"]
        f.interval.start = Google_Protobuf_Timestamp(seconds: 1_700_000_000, nanos: 250_000_000)
        f.interval.end = Google_Protobuf_Timestamp(seconds: 1_700_000_060)
        f.tagsFilter.tags = ["a", "b"]
        f.bboxLabels = ["ball"]
        let filter = try BinaryFilterConversion.filter(f)
        #expect(filter.columns.allowed[.organizationID] == ["org-a"])
        #expect(filter.columns.allowed[.locationID] == ["loc-1", "loc-2"])
        #expect(filter.columns.allowed[.robotID] == ["robot"] && filter.columns.allowed[.partID] == ["part"])
        #expect(filter.columns.allowed[.componentName] == ["cam"] && filter.columns.allowed[.componentType] == ["rdk:component:camera"])
        #expect(filter.columns.allowed[.methodName] == ["ReadImage"])
        #expect(filter.mimeTypes == ["image/png"] && filter.boundingBoxLabels == ["ball"])
        #expect(filter.columns.timeRequested == TimeBounds(from: 1_700_000_000_250, through: 1_700_000_059_999), "[start, end)")
        #expect(filter.tags == .matchAny(["a", "b"]), "create_filter(tags=…) leaves the type unspecified: match any")
        #expect(filter.admits(organizationID: "org-a") && !filter.admits(organizationID: "org-b"))
    }

    @Test func anEmptyFilterMatchesEverything() throws {
        var f = Viam_App_Data_V1_Filter()
        f.tagsFilter = Viam_App_Data_V1_TagsFilter()  // what create_filter() sends
        #expect(try BinaryFilterConversion.filter(f) == BinaryFilter.all)
    }

    @Test func tagFilterTypes() throws {
        var f = Viam_App_Data_V1_Filter()
        f.tagsFilter.type = .tagged
        #expect(try BinaryFilterConversion.filter(f).tags == .tagged)
        f.tagsFilter.type = .untagged
        #expect(try BinaryFilterConversion.filter(f).tags == .untagged)
        f.tagsFilter.type = .matchByOr
        #expect(status { _ = try BinaryFilterConversion.filter(f) } == .invalidArgument, "match-by-or without tags")
        f.tagsFilter.tags = ["x"]
        #expect(try BinaryFilterConversion.filter(f).tags == .matchAny(["x"]))
    }

    @Test func whatIsNotServedIsRefusedWithItsStatus() throws {
        var f = Viam_App_Data_V1_Filter()
        f.robotName = "rover"
        #expect(status { _ = try BinaryFilterConversion.filter(f) } == .invalidArgument)
        f = Viam_App_Data_V1_Filter()
        f.datasetID = "d"
        #expect(try BinaryFilterConversion.filter(f).datasetID == "d")
        #expect(status { _ = try DataServiceImpl.readingFilter(f) } == .invalidArgument, "datasets hold binary data only")
        f = Viam_App_Data_V1_Filter()
        f.interval.start = Google_Protobuf_Timestamp(seconds: .max, nanos: 0)
        #expect(status { _ = try BinaryFilterConversion.filter(f) } == .invalidArgument)
        #expect(status { _ = try BinaryFilterConversion.ids([], []) } == .invalidArgument)
        #expect(status { _ = try BinaryFilterConversion.ids(["a", ""], []) } == .invalidArgument)
        var legacy = Viam_App_Data_V1_BinaryID()
        legacy.fileID = "b"
        #expect(try BinaryFilterConversion.ids(["a"], [legacy]) == ["a", "b"])
    }

    @Test func aRecordBecomesViamMetadata() {
        let record = BinaryRecord(
            id: "id-1",
            metadata: BinaryMetadata(
                organizationID: "org", locationID: "loc", robotID: "r", partID: "p", componentType: "t", componentName: "c",
                methodName: "m", fileName: "f", fileExtension: ".jpg", mimeType: "image/jpeg", timeRequested: -1,
                timeReceived: 1_700_000_000_123, tags: ["x"], fileID: "file",
                annotations: ["bboxes": [["label": "ball", "x_min_normalized": 0.1, "y_min_normalized": 0.2, "x_max_normalized": 0.3, "y_max_normalized": 0.4]]]),
            size: 42, sha256: "", path: nil, isNew: false)
        var m = BinaryFilterConversion.metadata(record)
        #expect(m.datasetIds.isEmpty)
        var inDatasets = record
        inDatasets.metadata.datasetIDs = ["d1", "d2"]
        #expect(BinaryFilterConversion.metadata(inDatasets).datasetIds == ["d1", "d2"])
        m = BinaryFilterConversion.metadata(record)
        #expect(m.binaryDataID == "id-1" && m.fileSizeBytes == 42 && m.fileExt == ".jpg" && m.fileName == "f")
        #expect(m.captureMetadata.tags == ["x"] && m.captureMetadata.mimeType == "image/jpeg" && m.captureMetadata.partID == "p")
        #expect(m.timeRequested == Google_Protobuf_Timestamp(seconds: -1, nanos: 999_000_000), "a time before 1970 floors")
        #expect(m.timeReceived == Google_Protobuf_Timestamp(seconds: 1_700_000_000, nanos: 123_000_000))
        #expect(m.annotations.bboxes.map(\.label) == ["ball"])
    }
}
