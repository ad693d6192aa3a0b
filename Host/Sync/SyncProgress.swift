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
        do {
            return try JSONDecoder().decode(SyncProgress.self, from: data)
        } catch {
            throw SyncFileError(path: path, message: "the sync progress file does not parse (\(error)); delete it to upload the capture file again from its start (the server skips records it already has)")
        }
    }

    /// Writes durably (temp file, fsync, rename, directory fsync): an acknowledged position must
    /// survive a power loss before anything it covers is deleted.
    package func save(for capturePath: String, fileSystem: some CaptureFileSystem = POSIXCaptureFileSystem()) throws(SyncFileError) {
        let path = Self.path(for: capturePath)
        let directory = FilePaths.parent(path)
        let temporary = "\(path).tmp"
        let bytes: [UInt8]
        do {
            bytes = Array(try JSONEncoder().encode(self))
        } catch {
            throw SyncFileError(path: path, message: "cannot encode sync progress: \(error)")
        }
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
