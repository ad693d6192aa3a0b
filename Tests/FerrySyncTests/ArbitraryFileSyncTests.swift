import FerryTestSupport
import Foundation
import Testing
import ViamProtos

@testable import FerrySync

@Suite struct ArbitraryFileSyncTests {
    /// Whole seconds, so modification dates set on files compare exactly.
    let now = Date(timeIntervalSince1970: floor(Date().timeIntervalSince1970))

    @Test func readyFilesRespectTheQuietPeriodOldestFirstAndSkipHiddenOnes() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let root = dir.path + "/photos"
        try Captures.writeFile(root + "/a.txt", "a", modified: now.addingTimeInterval(-60))
        try Captures.writeFile(root + "/sub/d.txt", "d", modified: now.addingTimeInterval(-30))
        try Captures.writeFile(root + "/tag=x/e.bin", "e", modified: now.addingTimeInterval(-45))
        try Captures.writeFile(root + "/boundary.txt", "exactly quiet", modified: now.addingTimeInterval(-10))
        try Captures.writeFile(root + "/fresh.txt", "still being written", modified: now.addingTimeInterval(-9))
        try Captures.writeFile(root + "/future.txt", "clock skew", modified: now.addingTimeInterval(60))
        try Captures.writeFile(root + "/.hidden", "h", modified: now.addingTimeInterval(-600))
        try Captures.writeFile(root + "/.git/objects/x", "g", modified: now.addingTimeInterval(-600))
        try Captures.writeFile(root + "/sub/.partial.jpg", "p", modified: now.addingTimeInterval(-600))

        let ready = ArbitraryFileSync.readyFiles(roots: [root], now: now, quietPeriod: .seconds(10))
        #expect(ready == [root + "/a.txt", root + "/tag=x/e.bin", root + "/sub/d.txt", root + "/boundary.txt"])

        // The same files are ready later, and the fresh one joins them once quiet.
        let later = ArbitraryFileSync.readyFiles(roots: [root], now: now.addingTimeInterval(1), quietPeriod: .seconds(10))
        #expect(later == [root + "/a.txt", root + "/tag=x/e.bin", root + "/sub/d.txt", root + "/boundary.txt", root + "/fresh.txt"])
        // A longer quiet period holds more back.
        #expect(ArbitraryFileSync.readyFiles(roots: [root], now: now, quietPeriod: .seconds(40)) == [root + "/a.txt", root + "/tag=x/e.bin"])
    }

    @Test func readyFilesCoverSeveralRootsAndIgnoreMissingOnes() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try Captures.writeFile(dir.path + "/one/x", "x", modified: now.addingTimeInterval(-20))
        try Captures.writeFile(dir.path + "/two/y", "y", modified: now.addingTimeInterval(-30))
        let ready = ArbitraryFileSync.readyFiles(roots: [dir.path + "/one", dir.path + "/missing", dir.path + "/two"], now: now, quietPeriod: .seconds(10))
        #expect(ready == [dir.path + "/two/y", dir.path + "/one/x"])
    }

    /// ArbitraryFileSync.readyFiles documents: "Hidden files and Ferry's own capture-format
    /// files are left alone." A `.prog` file is one a collector is still writing.
    @Test func readyFilesLeaveFerrysOwnCaptureFormatFilesAlone() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let root = dir.path + "/extra"
        let old = now.addingTimeInterval(-600)
        try Captures.writeFile(root + "/photo.jpg", "jpg", modified: old)
        try Captures.writeFile(root + "/x/2024-01-01T00:00:00Z-1.prog", "open capture file", modified: old)
        try Captures.writeFile(root + "/x/2024-01-01T00:00:00Z-2.capture", "finished capture file", modified: old)
        try Captures.writeFile(root + "/x/2024-01-01T00:00:00Z-2.sync", "{}", modified: old)
        #expect(ArbitraryFileSync.readyFiles(roots: [root], now: now, quietPeriod: .seconds(10)) == [root + "/photo.jpg"])
    }

    @Test func labelsComeFromTagAndDatasetFolders() {
        let root = "/data/extra"
        let labels = ArbitraryFileSync.labels(
            for: root + "/tag=cats/dataset=ds1/misc/tag=indoor/tag=/dataset=/tag=x.jpg", root: root)
        #expect(labels.tags == ["cats", "indoor"])
        #expect(labels.datasets == ["ds1"])
        // The root's own folders and the file's name are not labels.
        let none = ArbitraryFileSync.labels(for: "/data/tag=root/dataset=r/file.txt", root: "/data/tag=root/dataset=r")
        #expect(none.tags.isEmpty)
        #expect(none.datasets.isEmpty)
    }

    @Test func uploadSendsTheFileWithItsLabelsThenDeletesIt() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let root = dir.path + "/extra"
        let path = root + "/tag=cats/dataset=ds1/photo.jpg"
        try Captures.writeFile(path, "jpeg bytes")
        var settings = SyncSettings(captureDir: dir.path + "/capture")
        settings.tags = ["fleet", "cats"]
        let uploader = FakeUploader()

        let bytes = try await ArbitraryFileSync.upload(path, root: root, settings: settings, uploader: uploader)

        #expect(bytes == 10)
        let call = try #require(uploader.calls.first)
        #expect(uploader.calls.count == 1)
        #expect(call.kind == .file)
        #expect(call.path == path)
        #expect(call.fileBytes == Data("jpeg bytes".utf8))
        #expect(call.metadata.type == .file)
        #expect(call.metadata.fileName == path)
        #expect(call.metadata.fileExtension == ".jpg")
        #expect(call.metadata.tags == ["fleet", "cats"])
        #expect(call.metadata.datasetIds == ["ds1"])
        #expect(call.key.fileID.hasPrefix("file-"))
        #expect(call.key.first == 0 && call.key.end == 1)
        #expect(!Captures.exists(path))
    }

    @Test func aFailedUploadKeepsTheFileAndItsIDForTheRetry() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let root = dir.path + "/extra"
        let path = root + "/notes.txt"
        let other = root + "/other.txt"
        try Captures.writeFile(path, "same contents")
        try Captures.writeFile(other, "same contents")
        let settings = SyncSettings(captureDir: dir.path + "/capture")
        let uploader = FakeUploader()
        uploader.fail(call: 1, with: .unreachable("down"))
        uploader.fail(call: 3, with: .unreachable("down"))

        do {
            _ = try await ArbitraryFileSync.upload(path, root: root, settings: settings, uploader: uploader)
            Issue.record("the upload should have failed")
        } catch {
            #expect(error == .unreachable("down"))
        }
        #expect(Captures.exists(path))
        _ = try await ArbitraryFileSync.upload(path, root: root, settings: settings, uploader: uploader)
        let calls = uploader.calls
        #expect(calls.count == 2)
        #expect(calls[0].key.fileID == calls[1].key.fileID)
        #expect(!Captures.exists(path))

        // Another file, or the same file changed, is another upload.
        do {
            _ = try await ArbitraryFileSync.upload(other, root: root, settings: settings, uploader: uploader)
            Issue.record("the upload should have failed")
        } catch {}
        let handle = try #require(FileHandle(forWritingAtPath: other))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(" and more".utf8))
        try handle.close()
        _ = try await ArbitraryFileSync.upload(other, root: root, settings: settings, uploader: uploader)
        let all = uploader.calls
        #expect(all.count == 4)
        #expect(all[2].key.fileID != calls[0].key.fileID)
        #expect(all[3].key.fileID != all[2].key.fileID)
        #expect(all[3].fileBytes == Data("same contents and more".utf8))
    }

    @Test func aFileWithoutExtensionHasNone() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.path + "/extra/README"
        try Captures.writeFile(path, "r")
        let uploader = FakeUploader()
        _ = try await ArbitraryFileSync.upload(path, root: dir.path + "/extra", settings: SyncSettings(captureDir: dir.path), uploader: uploader)
        #expect(uploader.calls.first?.metadata.fileExtension == "")
    }

    @Test func aVanishedFileIsARetry() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let uploader = FakeUploader()
        do {
            _ = try await ArbitraryFileSync.upload(dir.path + "/nope", root: dir.path, settings: SyncSettings(captureDir: dir.path), uploader: uploader)
            Issue.record("the upload should have failed")
        } catch {
            guard case .retry = error else {
                Issue.record("expected a retry, got \(error)")
                return
            }
        }
        #expect(uploader.calls.isEmpty)
    }
}
