import FerryConfig
import Foundation

/// What the sync engine takes from the data manager's config. Everything here may change while
/// the host runs (a config reload); the server and its credentials are fixed at start.
package struct SyncSettings: Sendable, Equatable {
    package var captureDir: String
    package var syncDisabled = false
    /// Scheduled syncs run this often; a manual sync runs at once.
    package var interval: Duration = .seconds(6)
    package var workers = SyncSettings.defaultWorkers
    /// Added to every upload, beside the tags a capture file already carries.
    package var tags: [String] = []
    /// Every upload's `part_id` (Viam's `cloud.id`); empty when the config names no part.
    package var partID = ""
    package var additionalSyncPaths: [String] = []
    /// A scheduled sync asks this component's Readings for `should_sync` first.
    package var selectiveSyncerName: String?
    package var deleteEveryNthWhenDiskFull = 5
    package var captureDirMaxBytes: Int64?
    package var archiveDir: String?
    /// Files in additional sync paths are uploaded once unmodified for this long (Viam: 10 s).
    package var quietPeriod: Duration = .seconds(10)
    /// Tabular uploads are cut into requests of at most this many bytes of records, well under
    /// gRPC's 4 MB message limit.
    package var maximumBatchBytes = 1 << 20
    /// Binary payloads above this go through StreamingDataCaptureUpload in 64 KiB chunks.
    package var streamingThreshold = 1 << 20
    /// Each captured method's retention policy, which its uploads carry to the server.
    package var retentionPolicies: [CapturedMethod: RetentionPolicyConfig] = [:]

    package static var defaultWorkers: Int { max(1, ProcessInfo.processInfo.activeProcessorCount / 2) }

    package init(captureDir: String) { self.captureDir = captureDir }

    package init(_ config: DataManagerConfig) {
        captureDir = config.captureDir
        syncDisabled = config.syncDisabled
        interval = config.syncInterval
        workers = config.maximumNumSyncThreads ?? Self.defaultWorkers
        tags = config.tags
        partID = config.partID
        additionalSyncPaths = config.additionalSyncPaths
        selectiveSyncerName = config.selectiveSyncerName
        deleteEveryNthWhenDiskFull = config.deleteEveryNthWhenDiskFull
        captureDirMaxBytes = config.ferry.captureDirMaxBytes
        archiveDir = config.ferry.archiveDir
        retentionPolicies = config.retentionPolicies
    }

    /// Ferry's own files in the capture directory: status, manual-sync trigger.
    package static func stateDirectory(captureDir: String) -> String { captureDir + "/.ferry" }
    /// Files the server refused for good, with a `.reason` beside each.
    package static func failedDirectory(captureDir: String) -> String { captureDir + "/failed" }
}
