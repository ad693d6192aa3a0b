import FerryCaptureFile
import FerryTestSupport
import Foundation
import Logging
import Testing
import ViamProtos

@testable import FerrySync

@Suite struct CaptureFileSyncTests {
    let logger = Logger(label: "test")

    func syncer(_ uploader: FakeUploader, _ settings: SyncSettings) -> CaptureFileSync {
        CaptureFileSync(uploader: uploader, settings: settings, logger: logger)
    }

    func settings(_ dir: TemporaryDirectory, batchBytes: Int = 2048) -> SyncSettings {
        var settings = SyncSettings(captureDir: dir.path)
        settings.maximumBatchBytes = batchBytes
        settings.tags = ["lab", "fleet"]
        settings.partID = "part-7"
        return settings
    }

    /// The failure `sync(path)` throws; nil, recorded as an issue, when it succeeds instead.
    func failure(of sync: CaptureFileSync, _ path: String, sourceLocation: SourceLocation = #_sourceLocation) async
        -> UploadFailure?
    {
        do {
            _ = try await sync.sync(path)
            Issue.record("expected the sync to fail", sourceLocation: sourceLocation)
            return nil
        } catch {
            return error
        }
    }

    @Test func uploadsTabularRecordsInByteBoundedContiguousBatchesThenRemovesTheFile() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let records = Captures.tabularRecords(100)
        let path = try Captures.write(dir.path, name: "2024-01-01T00:00:00.000Z-aa", records: records)
        let uploader = FakeUploader()
        let settings = self.settings(dir)

        let outcome = try await syncer(uploader, settings).sync(path)

        let calls = uploader.calls
        #expect(calls.count > 3, "2 KB batches of ~180-byte records should take several requests; got \(calls.count)")
        #expect(calls.allSatisfy { $0.kind == .tabular && $0.failure == nil })
        // Contiguous ranges from 0 to the record count, one file id throughout.
        let fileID = calls.first?.key.fileID ?? ""
        #expect(!fileID.isEmpty)
        var expectedFirst = 0
        for (index, call) in calls.enumerated() {
            #expect(call.key.fileID == fileID)
            #expect(call.key.first == expectedFirst, "batch \(index)")
            #expect(call.key.end - call.key.first == call.records.count, "batch \(index)")
            #expect(call.records.count >= 1)
            expectedFirst = call.key.end
            // Bounded by the byte limit, and greedy: the next record would not have fitted.
            let bytes = call.records.reduce(0) { $0 + $1.serializedSizeEstimate }
            #expect(bytes <= settings.maximumBatchBytes, "batch \(index): \(bytes) bytes")
            if index + 1 < calls.count {
                let next = records[call.key.end].serializedSizeEstimate
                #expect(bytes + next > settings.maximumBatchBytes, "batch \(index) stopped early")
            }
        }
        #expect(expectedFirst == 100)
        // Every record once, in order, as written.
        #expect(calls.flatMap(\.records) == records)
        #expect(outcome.records == 100)
        #expect(outcome.requests == calls.count)
        #expect(outcome.bytes == records.reduce(0) { $0 + $1.serializedSizeEstimate })
        // The capture header, with the service's tags added once.
        let metadata = try #require(calls.first?.metadata)
        #expect(metadata.componentType == "rdk:component:sensor")
        #expect(metadata.componentName == "temp")
        #expect(metadata.methodName == "Readings")
        #expect(metadata.type == .tabularSensor)
        #expect(metadata.tags == ["lab", "fleet"])
        #expect(metadata.partID == "part-7", "every upload names the machine part (Viam's cloud.id)")
        #expect(metadata.methodParameters["unit"] != nil)
        // Confirmed: the file and its progress are gone.
        #expect(!Captures.exists(path))
        #expect(!Captures.exists(SyncProgress.path(for: path)))
    }

    @Test func oneRecordLargerThanTheLimitGoesAlone() {
        let records = Captures.tabularRecords(3, padding: 50) + Captures.tabularRecords(1, padding: 5000)
            + Captures.tabularRecords(3, padding: 50)
        let sizes = records.map(\.serializedSizeEstimate)
        #expect(CaptureFileSync.batches(sizes: sizes, from: 0, maximumBytes: 1000) == [0..<3, 3..<4, 4..<7])
        #expect(CaptureFileSync.batches(sizes: sizes, from: 5, maximumBytes: 1000) == [5..<7])
        #expect(CaptureFileSync.batches(sizes: sizes, from: 7, maximumBytes: 1000).isEmpty)
    }

    @Test func resumesFromTheAcknowledgedPositionWithTheSameFileID() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let records = Captures.tabularRecords(100)
        let path = try Captures.write(dir.path, name: "2024-01-01T00:00:00.000Z-aa", records: records)
        let uploader = FakeUploader()
        uploader.fail(call: 3, with: .unreachable("connection reset"))
        let sync = syncer(uploader, settings(dir))

        #expect(await failure(of: sync, path) == .unreachable("connection reset"))

        let first = uploader.calls
        #expect(first.count == 3)
        #expect(first[2].failure != nil)
        let fileID = first[0].key.fileID
        let progress = try #require(try SyncProgress.load(for: path))
        #expect(progress.fileID == fileID)
        #expect(progress.ackedRecords == first[1].key.end)
        #expect(progress.ackedRecords > 0 && progress.ackedRecords < 100)
        #expect(Captures.exists(path))

        // A second sync (a retry, or a restarted host) sends only what was not acknowledged.
        let outcome = try await sync.sync(path)
        let resumed = Array(uploader.calls.dropFirst(3))
        #expect(!resumed.isEmpty)
        #expect(resumed.allSatisfy { $0.key.fileID == fileID && $0.failure == nil })
        #expect(resumed.first?.key.first == first[1].key.end)
        #expect(resumed.last?.key.end == 100)
        #expect(resumed.flatMap(\.records) == Array(records[first[1].key.end...]))
        // Across both syncs the server acknowledged each record exactly once.
        #expect(uploader.succeeded.flatMap(\.records) == records)
        #expect(outcome.records == 100 - first[1].key.end)
        #expect(!Captures.exists(path))
        #expect(!Captures.exists(SyncProgress.path(for: path)))
    }

    @Test func theFileIDIsSavedBeforeTheFirstUpload() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = try Captures.write(dir.path, name: "a", records: Captures.tabularRecords(5))
        let uploader = FakeUploader()
        uploader.fail(call: 1, with: .retry("busy"))
        let sync = syncer(uploader, settings(dir))
        #expect(await failure(of: sync, path) == .retry("busy"))
        let progress = try #require(try SyncProgress.load(for: path))
        #expect(progress.ackedRecords == 0)
        #expect(progress.fileID == uploader.calls[0].key.fileID)
        _ = try await sync.sync(path)
        #expect(uploader.calls[1].key == UploadKey(fileID: progress.fileID, first: 0, end: 5))
    }

    @Test func aFileAcknowledgedToItsEndIsOnlyRemoved() async throws {
        // A crash after the last acknowledgement, before the file was deleted.
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = try Captures.write(dir.path, name: "a", records: Captures.tabularRecords(7))
        try SyncProgress(fileID: "f", ackedRecords: 7).save(for: path)
        let uploader = FakeUploader()
        let outcome = try await syncer(uploader, settings(dir)).sync(path)
        #expect(uploader.calls.isEmpty)
        #expect(outcome.records == 0)
        #expect(!Captures.exists(path))
        #expect(!Captures.exists(SyncProgress.path(for: path)))
    }

    @Test func archivesUnderTheArchiveDirectoryWithTheRelativePath() async throws {
        let dir = try TemporaryDirectory()
        let archiveRoot = try TemporaryDirectory("ferry-archive")
        defer {
            dir.remove()
            archiveRoot.remove()
        }
        let path = try Captures.write(dir.path, name: "2024-01-01T00:00:00.000Z-aa", records: Captures.tabularRecords(10))
        let original = try #require(FileManager.default.contents(atPath: path))
        var settings = self.settings(dir)
        settings.archiveDir = archiveRoot.path + "/archive"
        _ = try await syncer(FakeUploader(), settings).sync(path)

        let archived = archiveRoot.path + "/archive/rdk_component_sensor/temp/Readings/2024-01-01T00:00:00.000Z-aa.capture"
        #expect(FileManager.default.contents(atPath: archived) == original)
        #expect(!Captures.exists(path))
        #expect(!Captures.exists(SyncProgress.path(for: path)))
        #expect(!Captures.exists(SyncProgress.path(for: archived)))
    }

    @Test func aLargeBinaryPayloadIsHandedOverForStreamingIntact() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let payload = Captures.payload(5000)
        let path = try Captures.write(
            dir.path, name: "img", metadata: Captures.binaryMetadata(), records: Captures.binaryRecords([payload]))
        var settings = self.settings(dir)
        settings.streamingThreshold = 1024
        let uploader = FakeUploader()
        uploader.fail(call: 1, with: .retry("busy"))
        let sync = syncer(uploader, settings)
        #expect(await failure(of: sync, path) == .retry("busy"))
        let fileID = try #require(try SyncProgress.load(for: path)).fileID

        let outcome = try await sync.sync(path)
        let calls = uploader.succeeded
        #expect(calls.count == 1)
        let call = try #require(calls.first)
        #expect(call.kind == .binary)
        #expect(call.streamingThreshold == 1024)
        #expect(call.records.first?.binary == Data(payload))
        #expect(call.key == UploadKey(fileID: fileID + "-0", first: 0, end: 1))
        #expect(call.metadata.type == .binarySensor)
        #expect(call.metadata.mimeType == "image/jpeg")
        #expect(call.metadata.componentName == "cam")
        #expect(outcome.bytes == 5000)
        #expect(outcome.records == 1)
        #expect(!Captures.exists(path))
        #expect(!Captures.exists(SyncProgress.path(for: path)))
    }

    @Test func binaryRecordsGoOneByOneEachUnderItsOwnIDAndResume() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let payloads = [Captures.payload(300, seed: 1), Captures.payload(400, seed: 2), Captures.payload(500, seed: 3)]
        let path = try Captures.write(
            dir.path, name: "imgs", metadata: Captures.binaryMetadata(), records: Captures.binaryRecords(payloads))
        let uploader = FakeUploader()
        uploader.fail(call: 2, with: .unreachable("down"))
        let sync = syncer(uploader, settings(dir))
        #expect(await failure(of: sync, path) == .unreachable("down"))
        let progress = try #require(try SyncProgress.load(for: path))
        #expect(progress.ackedRecords == 1)

        _ = try await sync.sync(path)
        let calls = uploader.succeeded
        #expect(calls.map(\.key) == [
            UploadKey(fileID: progress.fileID + "-0", first: 0, end: 1),
            UploadKey(fileID: progress.fileID + "-1", first: 0, end: 1),
            UploadKey(fileID: progress.fileID + "-2", first: 0, end: 1),
        ])
        #expect(calls.map { $0.records.first?.binary } == payloads.map { Data($0) })
        #expect(!Captures.exists(path))
    }

    @Test func aCorruptFileIsRejected() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let directory = dir.path + "/rdk_component_sensor/temp/Readings"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/garbage.capture"
        // An over-long varint where the header's length should be.
        try Data([UInt8](repeating: 0xFF, count: 64)).write(to: URL(fileURLWithPath: path))
        let uploader = FakeUploader()
        let sync = syncer(uploader, settings(dir))
        #expect(await failure(of: sync, path)?.isRejected == true)
        #expect(uploader.calls.isEmpty)
        #expect(Captures.exists(path))
    }

    @Test func aVanishedFileIsRetriedNotRejected() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let sync = syncer(FakeUploader(), settings(dir))
        #expect(await failure(of: sync, dir.path + "/gone.capture")?.isRetry == true)
    }

    @Test func progressBeyondTheRecordCountIsRejected() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = try Captures.write(dir.path, name: "a", records: Captures.tabularRecords(4))
        try SyncProgress(fileID: "f", ackedRecords: 5).save(for: path)
        let uploader = FakeUploader()
        let sync = syncer(uploader, settings(dir))
        #expect(await failure(of: sync, path)?.isRejected == true)
        #expect(uploader.calls.isEmpty)
        #expect(Captures.exists(path))
    }
}

@Suite struct SyncProgressTests {
    @Test func roundTripsBesideTheCaptureFile() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.path + "/x.capture"
        #expect(SyncProgress.path(for: path) == dir.path + "/x.sync")
        #expect(try SyncProgress.load(for: path) == nil)
        try SyncProgress(fileID: "abc", ackedRecords: 12).save(for: path)
        #expect(try SyncProgress.load(for: path) == SyncProgress(fileID: "abc", ackedRecords: 12))
        try SyncProgress(fileID: "abc", ackedRecords: 20).save(for: path)
        #expect(try SyncProgress.load(for: path)?.ackedRecords == 20)
        #expect(!Captures.exists(dir.path + "/x.sync.tmp"))
        let json = try #require(FileManager.default.contents(atPath: dir.path + "/x.sync"))
        let object = try JSONSerialization.jsonObject(with: json) as? [String: Any]
        #expect(object?["file_id"] as? String == "abc")
        #expect(object?["acked_records"] as? Int == 20)
    }

    @Test func anUnparseableProgressFileIsAnError() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.path + "/x.capture"
        try Data("{not json".utf8).write(to: URL(fileURLWithPath: dir.path + "/x.sync"))
        #expect(throws: SyncFileError.self) { try SyncProgress.load(for: path) }
    }
}

extension UploadFailure {
    var isRejected: Bool { if case .rejected = self { true } else { false } }
    var isRetry: Bool { if case .retry = self { true } else { false } }
}
