import FerryCaptureFile
import FerryConfig
import FerryTestSupport
import Foundation
import Testing

@testable import FerrySync

@Suite struct DiskSpacePolicyTests {
    let policy = DiskSpacePolicy(deleteEveryNth: 5, captureDirMaxBytes: nil)

    @Test func thinsOnlyWhenTheDiskIsNinetyPercentUsedAndCaptureHoldsHalf() {
        // 89% used, all of it capture data: not yet.
        #expect(policy.reason(captureDirBytes: 89, usage: (used: 89, total: 100)) == nil)
        // 90% used, capture holds half of it.
        #expect(policy.reason(captureDirBytes: 45, usage: (used: 90, total: 100)) == .diskFull(usedFraction: 0.9, captureShare: 0.5))
        // 95% used but mostly by something else.
        #expect(policy.reason(captureDirBytes: 38, usage: (used: 95, total: 100)) == nil)
        #expect(policy.reason(captureDirBytes: 47, usage: (used: 95, total: 100)) == nil)
        if case .diskFull(let used, let share) = policy.reason(captureDirBytes: 95, usage: (used: 95, total: 100)) {
            #expect(abs(used - 0.95) < 1e-9)
            #expect(share == 1)
        } else {
            Issue.record("a full disk of capture data must be thinned")
        }
        // Nothing known about the disk: nothing to go on.
        #expect(policy.reason(captureDirBytes: 1 << 40, usage: nil) == nil)
        #expect(policy.reason(captureDirBytes: 10, usage: (used: 0, total: 0)) == nil)
    }

    @Test func thinsWhenTheCaptureDirectoryIsOverItsCap() {
        let capped = DiskSpacePolicy(deleteEveryNth: 5, captureDirMaxBytes: 1000)
        #expect(capped.reason(captureDirBytes: 1000, usage: (used: 10, total: 100)) == nil)
        #expect(capped.reason(captureDirBytes: 1001, usage: (used: 10, total: 100)) == .overCap(bytes: 1001, cap: 1000))
        #expect(capped.reason(captureDirBytes: 1001, usage: nil) == .overCap(bytes: 1001, cap: 1000))
        #expect(capped.reason(captureDirBytes: 1001, usage: nil)?.description.contains("capture_dir_max_bytes") == true)
    }

    @Test func deletesEveryNthFileOfEachCollectorOldestFirstNeverBusyOnes() {
        let policy = DiskSpacePolicy(deleteEveryNth: 3, captureDirMaxBytes: nil)
        let a = (0..<7).map { "/c/rdk_component_sensor/a/Readings/2024-01-0\($0 + 1).capture" }
        let b = (0..<3).map { "/c/rdk_component_camera/b/GetImages/2024-01-0\($0 + 1).capture" }
        let files = [a[4], b[2], a[0], a[6], b[0], a[2], a[1], b[1], a[3], a[5]]

        // Without busy files: the 1st, 4th, 7th of a; the 1st of b.
        #expect(Set(policy.filesToDelete(files, excluding: [])) == Set([a[0], a[3], a[6], b[0]]))
        // The file being uploaded is never deleted; the spacing counts the others.
        let doomed = policy.filesToDelete(files, excluding: [a[0], b[1]])
        #expect(Set(doomed) == Set([a[1], a[4], b[0]]))
        #expect(!doomed.contains(a[0]))
        #expect(doomed.count == Set(doomed).count)
        #expect(policy.filesToDelete([], excluding: []).isEmpty)
    }

    @Test func neverDeletesEveryFile() {
        #expect(DiskSpacePolicy(deleteEveryNth: 1, captureDirMaxBytes: nil).deleteEveryNth == 2)
        #expect(DiskSpacePolicy(deleteEveryNth: 0, captureDirMaxBytes: nil).deleteEveryNth == 2)
        let files = (0..<4).map { "/c/x/\($0)" }
        #expect(DiskSpacePolicy(deleteEveryNth: 1, captureDirMaxBytes: nil).filesToDelete(files, excluding: []) == ["/c/x/0", "/c/x/2"])
    }
}

@Suite struct CaptureDirectoryScanTests {
    @Test func findsFinishedInProgressAndOrphanedProgressButNotFerrysOwnFolders() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let c = dir.path
        let temp1 = try Captures.write(c, name: "2024-01-02", records: Captures.tabularRecords(2, start: Captures.t0.addingTimeInterval(100)))
        let temp0 = try Captures.write(c, name: "2024-01-01", records: Captures.tabularRecords(2, start: Captures.t0.addingTimeInterval(50)))
        let other = try Captures.write(
            c, name: "2024-01-03", metadata: Captures.tabularMetadata(component: "humidity"),
            records: Captures.tabularRecords(1, start: Captures.t0.addingTimeInterval(10)))
        // A component called "failed" is a collector like any other.
        let named = try Captures.write(c, name: "2024-01-04", metadata: Captures.tabularMetadata(component: "failed"), records: [])
        let directory = Captures.directory(c, metadata: Captures.tabularMetadata())
        try Captures.writeFile(directory + "/2024-01-05.prog", "open")
        try SyncProgress(fileID: "x", ackedRecords: 1).save(for: temp0)
        try SyncProgress(fileID: "y", ackedRecords: 1).save(for: directory + "/2023-12-31.capture")
        try Captures.writeFile(c + "/.ferry/sync-status.json", "{}")
        try Captures.writeFile(c + "/.ferry/old.capture", "x")
        try Captures.writeFile(c + "/failed/rdk_component_sensor/temp/Readings/2023-01-01.capture", "refused")
        try Captures.writeFile(c + "/failed/rdk_component_sensor/temp/Readings/2023-01-01.sync", "{}")

        let scan = CaptureDirectoryScan.scan(c)
        #expect(scan.finished.map(\.path) == [temp0, temp1, named, other].sorted())
        #expect(scan.inProgress.map(\.path) == [directory + "/2024-01-05.prog"])
        #expect(scan.orphanedProgress == [directory + "/2023-12-31.sync"])
        let sizes = try [temp0, temp1, named, other].map { try #require(FileManager.default.attributesOfItem(atPath: $0)[.size] as? Int) }
        #expect(scan.finishedBytes == Int64(sizes.reduce(0, +)))
        #expect(scan.totalBytes == scan.finishedBytes + 4)
        // The first reading of each collector's oldest file; the earliest of those.
        #expect(scan.oldestReading() == Captures.t0.addingTimeInterval(10))
    }

    @Test func anEmptyOrMissingDirectoryHasNothing() throws {
        let scan = CaptureDirectoryScan.scan("/nonexistent/\(UUID().uuidString)")
        #expect(scan.finished.isEmpty && scan.inProgress.isEmpty && scan.orphanedProgress.isEmpty)
        #expect(scan.oldestReading() == nil)
    }
}

@Suite struct SyncSettingsTests {
    @Test func takesTheDataManagerConfig() {
        var config = DataManagerConfig(captureDir: "/var/capture")
        config.syncInterval = .seconds(120)
        config.tags = ["a"]
        config.additionalSyncPaths = ["/extra"]
        config.selectiveSyncerName = "gate"
        config.deleteEveryNthWhenDiskFull = 7
        config.maximumNumSyncThreads = 3
        config.ferry.captureDirMaxBytes = 5_000_000
        config.ferry.archiveDir = "/var/archive"
        let settings = SyncSettings(config)
        #expect(settings.captureDir == "/var/capture")
        #expect(settings.interval == .seconds(120))
        #expect(settings.tags == ["a"])
        #expect(settings.additionalSyncPaths == ["/extra"])
        #expect(settings.selectiveSyncerName == "gate")
        #expect(settings.deleteEveryNthWhenDiskFull == 7)
        #expect(settings.workers == 3)
        #expect(settings.captureDirMaxBytes == 5_000_000)
        #expect(settings.archiveDir == "/var/archive")
        #expect(SyncStatus.triggerPath(captureDir: "/var/capture") == "/var/capture/.ferry/sync-now")
        #expect(SyncSettings.failedDirectory(captureDir: "/var/capture") == "/var/capture/failed")
    }
}
