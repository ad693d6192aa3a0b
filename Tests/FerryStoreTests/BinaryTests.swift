import FerryBSON
import FerryStore
import Foundation
import StoreTestSupport
import Testing

@Suite struct BinaryTests {
    static func metadata(_ org: String, fileID: String?) -> BinaryMetadata {
        BinaryMetadata(
            organizationID: org, robotID: "robot-1", componentType: "rdk:component:camera", componentName: "cam",
            methodName: "GetImages", fileName: "frame", fileExtension: ".jpeg", mimeType: "image/jpeg",
            timeRequested: StoreFixture.t0, timeReceived: StoreFixture.t0 + 3, tags: ["lab"], fileID: fileID)
    }

    @Test(arguments: StoreBackend.all) func storesAPayloadAndItsMetadata(_ backend: StoreBackend) async throws {
        let f = try await StoreFixture.make(backend)
        defer { f.remove() }
        let bytes: [UInt8] = Array("abc".utf8)
        let record = try await f.store.storeBinary(Self.metadata(f.orgA, fileID: "upload-1"), bytes: bytes)
        #expect(record.isNew)
        #expect(record.size == bytes.count)
        #expect(record.sha256 == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(record.metadata == Self.metadata(f.orgA, fileID: "upload-1"))
        let fetched = try await f.store.binary(organizationID: f.orgA, id: record.id)
        var expected = record
        expected.isNew = false
        #expect(fetched == expected)
        #expect(try await f.store.binaryData(organizationID: f.orgA, id: record.id) == bytes)
        #expect(try await f.store.binary(organizationID: f.orgB, id: record.id) == nil, "other organisations cannot see it")
        #expect(try await f.store.binaryData(organizationID: f.orgB, id: record.id) == nil)
        // A payload survives a new connection (another process, another replica).
        #expect(try await f.testStore.reopen().binaryData(organizationID: f.orgA, id: record.id) == bytes)
    }

    /// A vision service's detections stay with the image they are about.
    @Test(arguments: StoreBackend.all) func annotationsAreKeptWithThePayload(_ backend: StoreBackend) async throws {
        let f = try await StoreFixture.make(backend)
        defer { f.remove() }
        let annotations: BSONDocument = [
            "bboxes": [["label": "ball", "confidence": 0.83, "x_min_normalized": 0.1, "y_min_normalized": 0.2,
                        "x_max_normalized": 0.3, "y_max_normalized": 0.4]],
            "classifications": [["label": "test-scene", "confidence": 0.99]],
        ]
        var annotated = Self.metadata(f.orgA, fileID: "vision-1")
        annotated.annotations = annotations
        let record = try await f.store.storeBinary(annotated, bytes: [1, 2, 3])
        #expect(try await f.store.binary(organizationID: f.orgA, id: record.id)?.metadata.annotations == annotations)
        let plain = try await f.store.storeBinary(Self.metadata(f.orgA, fileID: "plain"), bytes: [4])
        #expect(try await f.store.binary(organizationID: f.orgA, id: plain.id)?.metadata.annotations == nil)
    }

    @Test(arguments: StoreBackend.all) func theSameFileIdIsStoredOnce(_ backend: StoreBackend) async throws {
        let f = try await StoreFixture.make(backend)
        defer { f.remove() }
        let first = try await f.store.storeBinary(Self.metadata(f.orgA, fileID: "upload-1"), bytes: [1, 2, 3])
        let again = try await f.store.storeBinary(Self.metadata(f.orgA, fileID: "upload-1"), bytes: [1, 2, 3])
        #expect(!again.isNew && again.id == first.id)
        let store = f.store
        let org = f.orgA
        let concurrent = try await withThrowingTaskGroup(of: BinaryRecord.self) { group in
            for _ in 0..<6 {
                group.addTask { try await store.storeBinary(Self.metadata(org, fileID: "upload-2"), bytes: [4, 5]) }
            }
            return try await group.reduce(into: [BinaryRecord]()) { $0.append($1) }
        }
        #expect(Set(concurrent.map(\.id)).count == 1)
        #expect(concurrent.filter(\.isNew).count <= 1)
        // Without a file id every upload is new.
        let one = try await f.store.storeBinary(Self.metadata(f.orgA, fileID: nil), bytes: [9])
        let two = try await f.store.storeBinary(Self.metadata(f.orgA, fileID: nil), bytes: [9])
        #expect(one.id != two.id && one.isNew && two.isNew)
        #expect(one.metadata.fileID == one.id, "the id stands in for a missing file id")
    }

    @Test(arguments: StoreBackend.all) func badInputIsRefused(_ backend: StoreBackend) async throws {
        let f = try await StoreFixture.make(backend)
        defer { f.remove() }
        var error = await storeError { _ = try await f.store.storeBinary(Self.metadata("../../etc", fileID: nil), bytes: [1]) }
        #expect(error?.kind == .invalidArgument)
        error = await storeError { _ = try await f.store.storeBinary(Self.metadata("ghost", fileID: nil), bytes: [1]) }
        #expect(error?.kind == .notFound)
        error = await storeError { _ = try await f.store.storeBinary(Self.metadata(f.orgA, fileID: ""), bytes: [1]) }
        #expect(error?.kind == .invalidArgument)
        #expect(try await f.store.removeOrphanedBinaries() == 0, "a refused upload leaves nothing behind")
    }
}
