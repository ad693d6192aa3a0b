import FerryConfig
import Foundation

/// What the sync engine takes from the data manager's config. Everything here may change while
/// the host runs (a config reload); the server and its credentials are fixed at start.
public struct SyncSettings: Sendable, Equatable {
    public var captureDir: String
    public var syncDisabled = false
    /// Scheduled syncs run this often; a manual sync runs at once.
    public var interval: Double = 6
    public var workers = SyncSettings.defaultWorkers
    /// Added to every upload, beside the tags a capture file already carries.
    public var tags: [String] = []
    /// Every upload's `part_id` (Viam's `cloud.id`); empty when the config names no part.
    public var partID = ""
    public var additionalSyncPaths: [String] = []
    /// A scheduled sync asks this component's Readings for `should_sync` first.
    public var selectiveSyncerName: String?
    public var deleteEveryNthWhenDiskFull = 5
    public var captureDirMaxBytes: Int64?
    public var archiveDir: String?
    /// Files in additional sync paths are uploaded once unmodified for this long (Viam: 10 s).
    public var quietPeriod: Double = 10
    /// Tabular uploads are cut into requests of at most this many bytes of records, well under
    /// gRPC's 4 MB message limit.
    public var maximumBatchBytes = 1 << 20
    /// Binary payloads above this go through StreamingDataCaptureUpload in 64 KiB chunks.
    public var streamingThreshold = 1 << 20

    public static var defaultWorkers: Int { max(1, ProcessInfo.processInfo.activeProcessorCount / 2) }

    public init(captureDir: String) { self.captureDir = captureDir }

    public init(_ config: DataManagerConfig) {
        captureDir = config.captureDir
        syncDisabled = config.syncDisabled
        interval = config.syncIntervalMins * 60
        workers = config.maximumNumSyncThreads ?? Self.defaultWorkers
        tags = config.tags
        partID = config.partID
        additionalSyncPaths = config.additionalSyncPaths
        selectiveSyncerName = config.selectiveSyncerName
        deleteEveryNthWhenDiskFull = config.deleteEveryNthWhenDiskFull
        captureDirMaxBytes = config.ferry.captureDirMaxBytes
        archiveDir = config.ferry.archiveDir
    }

    /// Ferry's own files in the capture directory: status, manual-sync trigger.
    public static func stateDirectory(captureDir: String) -> String { captureDir + "/.ferry" }
    /// Files the server refused for good, with a `.reason` beside each.
    public static func failedDirectory(captureDir: String) -> String { captureDir + "/failed" }
}
