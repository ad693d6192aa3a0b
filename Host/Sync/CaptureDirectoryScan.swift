import FerryCaptureFile
import FerrySystem
import Foundation

/// What is waiting in a capture directory: finished files to upload, files still being written,
/// and leftovers of interrupted syncs. Ferry's own state (`.ferry/`) and refused files
/// (`failed/`) are not part of the backlog.
package struct CaptureDirectoryScan: Sendable {
    package struct File: Sendable, Equatable {
        package var path: String
        package var bytes: Int64
    }

    package var finished: [File] = []
    package var inProgress: [File] = []
    /// Progress files whose capture file is gone (deleted after upload; the crash came between).
    package var orphanedProgress: [String] = []

    package var finishedBytes: Int64 { finished.reduce(0) { $0 + $1.bytes } }
    package var totalBytes: Int64 { finishedBytes + inProgress.reduce(0) { $0 + $1.bytes } }

    /// `skipping`: directories inside the capture directory that are not backlog (an archive).
    package static func scan(_ captureDir: String, skipping: [String] = []) -> CaptureDirectoryScan {
        var scan = CaptureDirectoryScan()
        let skipped = Set(skipping.map { URL(fileURLWithPath: $0).standardizedFileURL.path })
        let entries = Files.walk(captureDir) { directory in
            !(directory.level == 1 && (directory.relative == ".ferry" || directory.relative == "failed"))
                && !skipped.contains(URL(fileURLWithPath: FilePaths.join(captureDir, directory.relative)).standardizedFileURL.path)
        }
        guard let entries else { return scan }
        var progressFiles: [String] = []
        var captureBases = Set<String>()
        for entry in entries where !entry.isDirectory {
            let relative = entry.relative
            let path = FilePaths.join(captureDir, relative)
            let bytes = entry.size
            switch FilePaths.extension(relative) {
            case CaptureFile.finishedExtension:
                scan.finished.append(File(path: path, bytes: bytes))
                captureBases.insert(FilePaths.removingExtension(path))
            case CaptureFile.inProgressExtension:
                scan.inProgress.append(File(path: path, bytes: bytes))
            case SyncProgress.fileExtension:
                progressFiles.append(path)
            default: continue
            }
        }
        scan.finished.sort { $0.path < $1.path }
        scan.orphanedProgress = progressFiles.filter { !captureBases.contains(FilePaths.removingExtension($0)) }
        return scan
    }

    /// The earliest `time_requested` among the finished files (their names sort by the time they
    /// were opened, so the first record of the smallest name in each directory bounds it).
    package func oldestReading() -> Date? {
        var firstPerDirectory: [String: String] = [:]
        for file in finished {
            let directory = FilePaths.parent(file.path)
            if let current = firstPerDirectory[directory], current <= file.path { continue }
            firstPerDirectory[directory] = file.path
        }
        return firstPerDirectory.values.compactMap { path -> Date? in
            guard let contents = try? CaptureFileReader.read(path: path, strict: false),
                let first = contents.records.first
            else { return nil }
            return first.metadata.timeRequested.date
        }.min()
    }
}
