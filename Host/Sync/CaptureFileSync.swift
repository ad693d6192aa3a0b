import FerryCaptureFile
import FerryConfig
import FerrySystem
import Foundation
import Logging
import SwiftProtobuf

/// Uploads one finished capture file from its acknowledged position, recording each
/// acknowledgement durably before going on, then removes the file (or archives it) and its
/// progress. A crash anywhere in between loses nothing and duplicates nothing: a restart resumes
/// at the last saved position, and the server skips records of the file id it already has.
struct CaptureFileSync {
    let uploader: any DataUploader
    let settings: SyncSettings
    let logger: Logger
    /// Called after each acknowledged request with its records and bytes.
    var acknowledged: (_ records: Int, _ bytes: Int) -> Void = { _, _ in }

    /// What one call sent (a resumed file counts only the rest).
    struct Outcome: Equatable {
        var records = 0
        var bytes = 0
        var requests = 0
    }

    @discardableResult
    func sync(_ path: String) async throws(UploadFailure) -> Outcome {
        // Tabular records go to the server as the file holds them (each a serialized SensorData);
        // only a binary file's records are decoded, for their payloads.
        let file: CaptureFileFrames
        do {
            file = try CaptureFileReader.readFrames(path: path)
        } catch {
            if !FileManager.default.fileExists(atPath: path) { throw .retry("\(path) vanished before upload") }
            throw .rejected("the capture file cannot be read: \(error)")
        }
        var progress: SyncProgress
        do {
            progress = try SyncProgress.load(for: path) ?? SyncProgress(fileID: UUID().uuidString.lowercased(), ackedRecords: 0)
            // The file id must be on disk before the first upload uses it.
            if progress.ackedRecords == 0 { try progress.save(for: path) }
        } catch {
            throw .retry("\(error)")
        }
        guard progress.ackedRecords <= file.records.count else {
            throw .rejected("its sync progress says \(progress.ackedRecords) records were acknowledged but it has \(file.records.count); the file changed after capture")
        }
        let metadata = UploadMetadata.capture(file.metadata, partID: settings.partID, extraTags: settings.tags)
        // The method's policy as configured now (a file captured before a change carries the new
        // one: the server keeps the latest); a method no longer configured leaves the server's alone.
        let retention = settings.retentionPolicies[
            CapturedMethod(component: file.metadata.componentName, method: file.metadata.methodName)]?.headerValue
        var outcome = Outcome()
        if file.metadata.type == .binarySensor {
            while progress.ackedRecords < file.records.count {
                let index = progress.ackedRecords
                let record: SensorData
                do {
                    record = try file.decode(index, path: path)
                } catch {
                    throw .rejected("the capture file cannot be read: \(error)")
                }
                // Each payload is stored under its own id, so a file holding several stays exact.
                let key = UploadKey(fileID: "\(progress.fileID)-\(index)", first: 0, end: 1, retentionPolicy: retention)
                try await uploader.uploadBinary(metadata, record: record, key: key, streamingThreshold: settings.streamingThreshold)
                try acknowledge(&progress, to: index + 1, bytes: record.binary.count, path: path, outcome: &outcome)
            }
        } else {
            // A record's size in a request: its bytes and at most 8 of framing.
            let sizes = file.records.map { $0.count + 8 }
            for batch in Self.batches(sizes: sizes, from: progress.ackedRecords, maximumBytes: settings.maximumBatchBytes) {
                let key = UploadKey(fileID: progress.fileID, first: batch.lowerBound, end: batch.upperBound, retentionPolicy: retention)
                let records = batch.map(file.record)
                try await uploader.uploadTabular(metadata, records: records, key: key)
                let bytes = sizes[batch].reduce(0, +)
                try acknowledge(&progress, to: batch.upperBound, bytes: bytes, path: path, outcome: &outcome)
            }
        }
        try finish(path)
        return outcome
    }

    private func acknowledge(_ progress: inout SyncProgress, to end: Int, bytes: Int, path: String, outcome: inout Outcome)
        throws(UploadFailure)
    {
        acknowledged(end - progress.ackedRecords, bytes)
        outcome.records += end - progress.ackedRecords
        outcome.bytes += bytes
        outcome.requests += 1
        progress.ackedRecords = end
        do {
            try progress.save(for: path)
        } catch {
            // The server has the records; a resend after a restart is skipped by its file id.
            throw .retry("\(error)")
        }
    }

    /// Removes (or archives) the confirmed file, then its progress: in that order, so a crash
    /// between the two leaves only a progress file, which the next scan clears.
    private func finish(_ path: String) throws(UploadFailure) {
        if let archive = settings.archiveDir {
            let relative = String(path.dropFirst(settings.captureDir.count)).trimmingPrefix("/")
            let destination = FilePaths.join(archive, String(relative))
            do {
                try FileManager.default.createDirectory(
                    atPath: FilePaths.parent(destination), withIntermediateDirectories: true)
                guard rename(path, destination) == 0 else {
                    throw SyncFileError(path: path, message: "cannot move to the archive \(destination): \(String(cString: strerror(errno)))")
                }
            } catch {
                throw .retry("\(error)")
            }
        } else {
            guard unlink(path) == 0 || errno == ENOENT else {
                throw .retry("\(path): uploaded, but cannot be deleted: \(String(cString: strerror(errno)))")
            }
        }
        POSIXCaptureFileSystem().syncDirectory(FilePaths.parent(path))
        unlink(SyncProgress.path(for: path))
    }

    /// Consecutive record ranges from `start`, each at most `maximumBytes` of records (given their
    /// `sizes`; one record alone may exceed it: it is sent by itself).
    static func batches(sizes: [Int], from start: Int, maximumBytes: Int) -> [Range<Int>] {
        var ranges: [Range<Int>] = []
        var first = start
        var bytes = 0
        for index in start..<sizes.count {
            let size = sizes[index]
            if index > first, bytes + size > maximumBytes {
                ranges.append(first..<index)
                first = index
                bytes = 0
            }
            bytes += size
        }
        if first < sizes.count { ranges.append(first..<sizes.count) }
        return ranges
    }
}
