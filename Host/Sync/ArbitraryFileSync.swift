import Crypto
import FerryBSON
import FerryCaptureFile
import FerrySystem
import Foundation
import ViamProtos

/// Files under `additional_sync_paths`: each is uploaded whole with FileUpload once it has not
/// been modified for the quiet period (Viam: 10 s), then deleted. No progress file is written
/// into the user's folders; instead the file id is derived from the file's identity (path,
/// inode, size, modification time), so a resend after a crash is recognised by the server.
enum ArbitraryFileSync {
    /// Files ready to upload under `roots`, oldest first. Hidden files and Ferry's own
    /// capture-format files are left alone.
    static func readyFiles(roots: [String], now: Date, quietPeriod: Duration) -> [String] {
        // A capture file dropped here may still be written by a collector: never take it.
        let ownExtensions = [CaptureFile.inProgressExtension, CaptureFile.finishedExtension, SyncProgress.fileExtension]
        var ready: [(Date, String)] = []
        for root in roots {
            // Hidden files are skipped, and hidden directories with all they hold.
            for entry in Files.walk(root, descend: { !FilePaths.name($0.relative).hasPrefix(".") }) ?? [] {
                let name = FilePaths.name(entry.relative)
                let modified = Date(timeIntervalSince1970: entry.modified)
                guard !name.hasPrefix("."), !ownExtensions.contains(FilePaths.extension(name)), entry.isRegularFile,
                    now.timeIntervalSince(modified) >= quietPeriod.inSeconds
                else { continue }
                ready.append((modified, FilePaths.join(root, entry.relative)))
            }
        }
        return ready.sorted { ($0.0, $0.1) < ($1.0, $1.1) }.map(\.1)
    }

    static func upload(_ path: String, root: String, settings: SyncSettings, uploader: any DataUploader) async throws(UploadFailure)
        -> Int
    {
        var info = stat()
        guard stat(path, &info) == 0 else { throw .retry("\(path) vanished before upload") }
        let identity = "\(path)\n\(info.st_ino)\n\(info.st_size)\n\(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec)"
        let fileID = "file-" + Hex.encode(SHA256.hash(data: Data(identity.utf8)))
        let labels = labels(for: path, root: root)
        var metadata = UploadMetadata()
        metadata.partID = settings.partID
        metadata.type = .file
        metadata.fileName = path
        metadata.fileExtension = FilePaths.extension(path).isEmpty ? "" : "." + FilePaths.extension(path)
        metadata.tags = settings.tags + labels.tags.filter { !settings.tags.contains($0) }
        metadata.datasetIds = labels.datasets
        try await uploader.uploadFile(metadata, path: path, key: UploadKey(fileID: fileID, first: 0, end: 1))
        guard unlink(path) == 0 || errno == ENOENT else {
            throw .retry("\(path): uploaded, but cannot be deleted: \(String(cString: strerror(errno)))")
        }
        return Int(info.st_size)
    }

    /// Tags and dataset ids from the folders between the sync path and the file: a folder named
    /// `tag=NAME` tags the file NAME, and `dataset=ID` adds it to dataset ID, so a user sorts
    /// files into datasets by where they drop them.
    static func labels(for path: String, root: String) -> (tags: [String], datasets: [String]) {
        let relative = path.dropFirst(root.count).split(separator: "/").dropLast()
        var tags: [String] = []
        var datasets: [String] = []
        for segment in relative {
            if segment.hasPrefix("tag="), segment.count > 4 { tags.append(String(segment.dropFirst(4))) }
            if segment.hasPrefix("dataset="), segment.count > 8 { datasets.append(String(segment.dropFirst(8))) }
        }
        return (tags, datasets)
    }
}
