import FerryBSON
import FerryCaptureFile
import FerrySystem
import Foundation

/// How far a capture file has been acknowledged by the server, kept beside it as
/// `<name>.sync`. The file id is chosen once and sent with every upload of the file, so the
/// server applies each record once however often a batch is resent; `ackedRecords` is written
/// durably after each acknowledgement, so a restarted host resumes mid-file.
package struct SyncProgress: Codable, Equatable, Sendable {
    package var fileID: String
    package var ackedRecords: Int

    enum CodingKeys: String, CodingKey {
        case fileID = "file_id"
        case ackedRecords = "acked_records"
    }

    package init(fileID: String, ackedRecords: Int) {
        self.fileID = fileID
        self.ackedRecords = ackedRecords
    }

    package static let fileExtension = "sync"

    /// `…/X.capture` → `…/X.sync`
    package static func path(for capturePath: String) -> String {
        FilePaths.removingExtension(capturePath) + "." + fileExtension
    }

    /// The progress saved for `capturePath`, or nil when none was saved yet. An unreadable
    /// progress file is an error: guessing a position could skip records.
    package static func load(for capturePath: String) throws(SyncFileError) -> SyncProgress? {
        let path = path(for: capturePath)
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        // Plain JSON through FerryBSON (as the host reads everything else), not Codable.
        let document: BSONDocument
        do {
            document = try BSONDocument(extendedJSON: String(decoding: data, as: UTF8.self))
        } catch {
            throw SyncFileError(path: path, message: "the sync progress file does not parse (\(error)); delete it to upload the capture file again from its start (the server skips records it already has)")
        }
        guard let fileID = document["file_id"]?.stringValue, let acked = document["acked_records"]?.int64Value, acked >= 0 else {
            throw SyncFileError(path: path, message: "the sync progress file needs file_id (text) and acked_records (a count); delete it to upload the capture file again from its start (the server skips records it already has)")
        }
        return SyncProgress(fileID: fileID, ackedRecords: Int(acked))
    }

    /// Writes durably (temp file, fsync, rename, directory fsync): an acknowledged position must
    /// survive a power loss before anything it covers is deleted.
    package func save(for capturePath: String, fileSystem: some CaptureFileSystem = POSIXCaptureFileSystem()) throws(SyncFileError) {
        let path = Self.path(for: capturePath)
        let directory = FilePaths.parent(path)
        let temporary = "\(path).tmp"
        let bytes = Array(BSONDocument([("acked_records", .int64(Int64(ackedRecords))), ("file_id", .string(fileID))]).extendedJSON(.relaxed).utf8)
        do {
            fileSystem.remove(temporary)
            let fd = try fileSystem.create(temporary)
            defer { fileSystem.close(fd) }
            try fileSystem.write(fd, bytes, path: temporary)
            try fileSystem.sync(fd, path: temporary)
            try fileSystem.rename(temporary, path)
            fileSystem.syncDirectory(directory)
        } catch {
            fileSystem.remove(temporary)
            throw SyncFileError(path: path, message: "cannot save sync progress: \(error)")
        }
    }
}

package struct SyncFileError: Error, CustomStringConvertible, Sendable {
    package var path: String
    package var message: String
    package var description: String { "\(path): \(message)" }
}
