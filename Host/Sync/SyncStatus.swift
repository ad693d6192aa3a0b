import FerryBSON
import FerryClock
import FerrySystem
import Foundation

/// What the running host's sync engine reports, written to `<capture_dir>/.ferry/sync-status.json`
/// so `ferry sync status` can show it without talking to the process.
package struct SyncStatus: Codable, Equatable, Sendable {
    package var updatedAt: Date
    package var server: String
    package var offline = false
    package var lastError: String?
    package var lastErrorAt: Date?
    package var nextRetry: Date?
    package var syncedFiles = 0
    package var syncedRecords = 0
    package var syncedBytes = 0
    package var retries = 0
    package var thinnedFiles = 0
    package var failedFiles = 0

    enum CodingKeys: String, CodingKey {
        case updatedAt = "updated_at", server, offline, lastError = "last_error", lastErrorAt = "last_error_at"
        case nextRetry = "next_retry", syncedFiles = "synced_files", syncedRecords = "synced_records"
        case syncedBytes = "synced_bytes", retries, thinnedFiles = "thinned_files", failedFiles = "failed_files"
    }

    package init(updatedAt: Date, server: String) {
        self.updatedAt = updatedAt
        self.server = server
    }

    package static func path(captureDir: String) -> String {
        SyncSettings.stateDirectory(captureDir: captureDir) + "/sync-status.json"
    }

    /// The manual-sync trigger `ferry sync now` creates and the host consumes.
    package static func triggerPath(captureDir: String) -> String {
        SyncSettings.stateDirectory(captureDir: captureDir) + "/sync-now"
    }

    package static func load(captureDir: String) -> SyncStatus? {
        guard let data = FileManager.default.contents(atPath: path(captureDir: captureDir)) else { return nil }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .rfc3339
        return try? decoder.decode(SyncStatus.self, from: data)
    }

    /// Replaces the status file atomically (rename), so a reader never sees half of it. Not
    /// fsync'd: it is a report, rewritten every second, and nothing depends on it surviving.
    func save(captureDir: String) {
        let path = Self.path(captureDir: captureDir)
        try? FileManager.default.createDirectory(
            atPath: SyncSettings.stateDirectory(captureDir: captureDir), withIntermediateDirectories: true)
        try? Data((json + "\n").utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    /// The file's JSON, keys sorted, through FerryBSON: the host writes it every second, and
    /// Codable's encoder would keep code of its own resident for that alone.
    package var json: String {
        func date(_ date: Date) -> BSON { .string(ISODate.string(Int64(date.timeIntervalSince1970.rounded(.down)) * 1000)) }
        var fields: [(String, BSON)] = [
            ("failed_files", .int64(Int64(failedFiles))), ("offline", .bool(offline)), ("retries", .int64(Int64(retries))),
            ("server", .string(server)), ("synced_bytes", .int64(Int64(syncedBytes))), ("synced_files", .int64(Int64(syncedFiles))),
            ("synced_records", .int64(Int64(syncedRecords))), ("thinned_files", .int64(Int64(thinnedFiles))), ("updated_at", date(updatedAt)),
        ]
        if let lastError { fields.append(("last_error", .string(lastError))) }
        if let lastErrorAt { fields.append(("last_error_at", date(lastErrorAt))) }
        if let nextRetry { fields.append(("next_retry", date(nextRetry))) }
        return BSONDocument(fields.sorted { $0.0 < $1.0 }).extendedJSON(.relaxed)
    }

    /// Files refused for good, with the reason saved beside each.
    package static func failedFiles(captureDir: String) -> [(path: String, reason: String)] {
        let root = SyncSettings.failedDirectory(captureDir: captureDir)
        var failed: [(String, String)] = []
        for relative in (Files.walk(root) ?? []).map(\.relative) {
            guard FilePaths.extension(relative) == "reason" else { continue }
            let reasonPath = FilePaths.join(root, relative)
            let reason = (try? String(contentsOfFile: reasonPath, encoding: .utf8))?.trimmedWhitespace ?? ""
            failed.append((FilePaths.removingExtension(reasonPath), reason))
        }
        return failed.sorted { $0.0 < $1.0 }
    }
}
