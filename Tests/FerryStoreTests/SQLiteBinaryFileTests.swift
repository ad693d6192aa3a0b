import FerryStore
import Foundation
import StoreTestSupport
import Testing

/// SQLite keeps payloads as files in the data directory: what only that layout needs checking.
@Suite struct SQLiteBinaryFileTests {
    func payloadFiles(_ f: StoreFixture) -> [String] {
        let root = URL(fileURLWithPath: f.testStore.dataDirectory!).appendingPathComponent("binary").path
        return (FileManager.default.enumerator(atPath: root)?.allObjects as? [String] ?? [])
            .filter { !$0.contains(".tmp-") && FileManager.default.fileExists(atPath: "\(root)/\($0)/.") == false }
    }

    @Test func aPayloadIsAFileInTheDataDirectory() async throws {
        let f = try await StoreFixture.make(.sqlite)
        defer { f.remove() }
        let record = try await f.store.storeBinary(BinaryTests.metadata(f.orgA, fileID: "upload-1"), bytes: [1, 2, 3])
        let path = try #require(record.path)
        #expect(path.hasPrefix(f.testStore.dataDirectory! + "/binary/\(f.orgA)/") && path.hasSuffix(".jpeg"))
        #expect(FileManager.default.contents(atPath: path) == Data([1, 2, 3]))
        var odd = BinaryTests.metadata(f.orgA, fileID: nil)
        odd.fileExtension = "../../x"
        #expect(try await f.store.storeBinary(odd, bytes: [1]).path?.contains("..") == false)
        _ = try await f.store.storeBinary(BinaryTests.metadata(f.orgA, fileID: "upload-1"), bytes: [1, 2, 3])
        #expect(payloadFiles(f).count == 2, "one file per stored payload: \(payloadFiles(f))")
    }

    @Test func payloadsLeftByAnInterruptedUploadAreRemovedAtStartUp() async throws {
        let f = try await StoreFixture.make(.sqlite)
        defer { f.remove() }
        let kept = try await f.store.storeBinary(BinaryTests.metadata(f.orgA, fileID: "upload-1"), bytes: [1, 2, 3])
        // What a crash between the payload's write and its row leaves: a payload, and a temp file.
        let directory = f.testStore.dataDirectory! + "/binary/\(f.orgA)"
        try Data([9]).write(to: URL(fileURLWithPath: "\(directory)/0b3c-orphan.jpeg"))
        try Data([9]).write(to: URL(fileURLWithPath: "\(directory)/.tmp-1234"))
        #expect(try await f.store.removeOrphanedBinaries() == 2)
        #expect(payloadFiles(f) == ["\(f.orgA)/\((kept.path! as NSString).lastPathComponent)"])
        #expect(try await f.store.binaryData(organizationID: f.orgA, id: kept.id) == [1, 2, 3])
        #expect(try await f.store.removeOrphanedBinaries() == 0)
    }

    @Test func aRefusedUploadLeavesNoFile() async throws {
        let f = try await StoreFixture.make(.sqlite)
        defer { f.remove() }
        _ = await storeError { _ = try await f.store.storeBinary(BinaryTests.metadata("ghost", fileID: nil), bytes: [1]) }
        #expect(payloadFiles(f).isEmpty, "\(payloadFiles(f))")
    }
}
