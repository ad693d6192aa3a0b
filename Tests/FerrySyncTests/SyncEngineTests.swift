import FerryCaptureFile
import FerryTestSupport
import Foundation
import Synchronization
import Testing

@testable import FerrySync

@Suite struct SyncEngineTests {
    let clock = ManualClock(now: Date(timeIntervalSince1970: 1_800_000_000))

    func environment(disk: FakeDisk = FakeDisk(used: 1, total: 100), shouldSync: @escaping @Sendable () async -> Bool = { true })
        -> SyncEngine.Environment
    {
        var environment = SyncEngine.Environment()
        environment.clock = clock
        environment.disk = disk
        environment.shouldSync = shouldSync
        environment.random = { 0.5 }
        environment.tick = .milliseconds(10)
        return environment
    }

    func settings(_ dir: TemporaryDirectory) -> SyncSettings {
        var settings = SyncSettings(captureDir: dir.path)
        settings.workers = 2
        settings.interval = .seconds(60)
        return settings
    }

    /// `count` finished files in the collector `component`, oldest first.
    func captureFiles(_ dir: TemporaryDirectory, component: String = "temp", count: Int, records: Int = 3) throws -> [String] {
        try (0..<count).map { i in
            try Captures.write(
                dir.path, name: "2024-01-01T00:00:0\(i).000Z-\(component)", metadata: Captures.tabularMetadata(component: component),
                records: Captures.tabularRecords(records))
        }
    }

    /// What one worker does once: take the next file and upload it.
    @discardableResult
    func step(_ engine: SyncEngine) async -> String? {
        let next = engine.state.withLock { state -> (String, String?, SyncSettings)? in
            guard let path = state.schedule.take(now: clock.now()) else { return nil }
            return (path, state.arbitraryRoots[path], state.settings)
        }
        guard let (path, root, settings) = next else { return nil }
        await engine.upload(path, root: root, settings: settings)
        return path
    }

    final class Flag: Sendable {
        let value = Mutex(false)
    }

    final class Counter: Sendable {
        let value = Mutex(0)
        func increment() { value.withLock { $0 += 1 } }
        var count: Int { value.withLock { $0 } }
    }

    // MARK: Queuing

    @Test func aManualTriggerIsConsumedAndQueuesFilesDespiteTheSelectiveSyncer() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let files = try captureFiles(dir, count: 3)
        var settings = self.settings(dir)
        settings.selectiveSyncerName = "gate"
        let asked = Counter()
        let engine = SyncEngine(
            settings: settings, server: "test", uploader: FakeUploader(),
            environment: environment(shouldSync: {
                asked.increment()
                return false
            }))

        await engine.coordinate()
        #expect(asked.count == 1)
        #expect(engine.pendingFiles == 0)

        let trigger = SyncStatus.triggerPath(captureDir: dir.path)
        try Captures.writeFile(trigger, "")
        clock.advance(by: .seconds(1))
        await engine.coordinate()
        #expect(!Captures.exists(trigger))
        #expect(engine.pendingFiles == 3)
        #expect(asked.count == 1, "a manual sync does not ask the selective syncer")
        #expect(engine.state.withLock { Set($0.schedule.entries.keys) } == Set(files))

        // Consumed: the next look does not sync again by itself.
        try Captures.writeFile(dir.path + "/rdk_component_sensor/temp/Readings/2024-02-01.capture", "")
        clock.advance(by: .seconds(1))
        await engine.coordinate()
        #expect(engine.pendingFiles == 3)
    }

    @Test func aManualSyncRunsEvenWhenSyncIsDisabled() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        _ = try captureFiles(dir, count: 2)
        var settings = self.settings(dir)
        settings.syncDisabled = true
        let engine = SyncEngine(settings: settings, server: "test", uploader: FakeUploader(), environment: environment())
        await engine.coordinate()
        #expect(engine.pendingFiles == 0)
        clock.advance(by: .seconds(3600))
        await engine.coordinate()
        #expect(engine.pendingFiles == 0)
        engine.requestSync()
        await engine.coordinate()
        #expect(engine.pendingFiles == 2)
    }

    @Test func aScheduledSyncWaitsForTheSelectiveSyncer() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        _ = try captureFiles(dir, count: 3)
        var settings = self.settings(dir)
        settings.selectiveSyncerName = "gate"
        let verdict = Flag()
        let asked = Counter()
        let engine = SyncEngine(
            settings: settings, server: "test", uploader: FakeUploader(),
            environment: environment(shouldSync: {
                asked.increment()
                return verdict.value.withLock { $0 }
            }))

        await engine.coordinate()
        #expect(asked.count == 1)
        #expect(engine.pendingFiles == 0)
        // Not asked again before the interval.
        clock.advance(by: .seconds(30))
        await engine.coordinate()
        #expect(asked.count == 1)
        // The next scheduled sync asks again; now the answer is yes.
        verdict.value.withLock { $0 = true }
        clock.advance(by: .seconds(30))
        await engine.coordinate()
        #expect(asked.count == 2)
        #expect(engine.pendingFiles == 3)
    }

    @Test func scheduledSyncsQueueNewFilesEveryInterval() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        _ = try captureFiles(dir, component: "a", count: 2)
        let engine = SyncEngine(settings: settings(dir), server: "test", uploader: FakeUploader(), environment: environment())
        await engine.coordinate()
        #expect(engine.pendingFiles == 2)
        _ = try captureFiles(dir, component: "b", count: 1)
        clock.advance(by: .seconds(59))
        await engine.coordinate()
        #expect(engine.pendingFiles == 2)
        clock.advance(by: .seconds(1))
        await engine.coordinate()
        #expect(engine.pendingFiles == 3)
    }

    @Test func queuingClearsProgressFilesWhoseCaptureFileIsGone() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let files = try captureFiles(dir, count: 1)
        let orphan = (files[0] as NSString).deletingLastPathComponent + "/2023-01-01.capture"
        try SyncProgress(fileID: "x", ackedRecords: 3).save(for: orphan)
        try SyncProgress(fileID: "y", ackedRecords: 1).save(for: files[0])
        let engine = SyncEngine(settings: settings(dir), server: "test", uploader: FakeUploader(), environment: environment())
        await engine.coordinate()
        #expect(!Captures.exists(SyncProgress.path(for: orphan)))
        #expect(Captures.exists(SyncProgress.path(for: files[0])))
    }

    @Test func additionalPathFilesAreQueuedOnceQuietAndUploadedAsFiles() async throws {
        let dir = try TemporaryDirectory()
        let extra = try TemporaryDirectory("ferry-extra")
        defer {
            dir.remove()
            extra.remove()
        }
        let quiet = extra.path + "/dataset=d1/old.txt"
        let fresh = extra.path + "/new.txt"
        try Captures.writeFile(quiet, "old", modified: clock.now().addingTimeInterval(-60))
        try Captures.writeFile(fresh, "new", modified: clock.now().addingTimeInterval(-1))
        var settings = self.settings(dir)
        settings.additionalSyncPaths = [extra.path]
        let uploader = FakeUploader()
        let engine = SyncEngine(settings: settings, server: "test", uploader: uploader, environment: environment())
        await engine.coordinate()
        #expect(engine.pendingFiles == 1)
        #expect(await step(engine) == quiet)
        #expect(uploader.calls.first?.kind == .file)
        #expect(uploader.calls.first?.metadata.datasetIds == ["d1"])
        #expect(!Captures.exists(quiet))
        #expect(engine.status.syncedFiles == 1)
        #expect(engine.status.syncedBytes == 3)
        #expect(engine.pendingFiles == 0)
    }

    // MARK: Disk space

    @Test func aFullDiskThinsEveryNthFileOfEachCollectorAndCountsThem() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let a = try captureFiles(dir, component: "a", count: 5)
        let b = try captureFiles(dir, component: "b", count: 5)
        try SyncProgress(fileID: "p", ackedRecords: 1).save(for: a[0])
        let captureBytes = CaptureDirectoryScan.scan(dir.path).totalBytes
        let disk = FakeDisk(used: captureBytes, total: captureBytes * 100 / 95)
        var settings = self.settings(dir)
        settings.deleteEveryNthWhenDiskFull = 2
        let engine = SyncEngine(settings: settings, server: "test", uploader: FakeUploader(), environment: environment(disk: disk))

        await engine.coordinate()

        let doomed = [a[0], a[2], a[4], b[0], b[2], b[4]]
        let kept = [a[1], a[3], b[1], b[3]]
        #expect(doomed.allSatisfy { !Captures.exists($0) })
        #expect(kept.allSatisfy { Captures.exists($0) })
        #expect(!Captures.exists(SyncProgress.path(for: a[0])))
        #expect(engine.status.thinnedFiles == 6)
        #expect(engine.pendingFiles == 4)
        #expect(engine.state.withLock { Set($0.schedule.entries.keys) } == Set(kept))
        #expect(SyncStatus.load(captureDir: dir.path)?.thinnedFiles == 6)
    }

    @Test func thinningSparesTheFileBeingUploadedAndWaitsForTheNextDiskCheck() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let a = try captureFiles(dir, component: "a", count: 4)
        let disk = FakeDisk(used: 10, total: 100)
        var settings = self.settings(dir)
        settings.deleteEveryNthWhenDiskFull = 2
        var environment = self.environment(disk: disk)
        environment.diskCheckInterval = .seconds(30)
        let engine = SyncEngine(settings: settings, server: "test", uploader: FakeUploader(), environment: environment)
        await engine.coordinate()
        #expect(engine.pendingFiles == 4)
        // A worker is uploading the oldest file when the disk fills up.
        let busy = engine.state.withLock { $0.schedule.take(now: clock.now()) }
        #expect(busy == a[0])
        disk.set(used: 95, total: 100)
        clock.advance(by: .seconds(29))
        await engine.coordinate()
        #expect(engine.status.thinnedFiles == 0)
        #expect(a.allSatisfy { Captures.exists($0) })

        clock.advance(by: .seconds(1))
        await engine.coordinate()
        #expect(Captures.exists(a[0]))
        #expect(!Captures.exists(a[1]))
        #expect(Captures.exists(a[2]))
        #expect(!Captures.exists(a[3]))
        #expect(engine.status.thinnedFiles == 2)
    }

    @Test func theCaptureDirectoryCapThinsToo() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let a = try captureFiles(dir, count: 3)
        var settings = self.settings(dir)
        settings.captureDirMaxBytes = 10
        settings.deleteEveryNthWhenDiskFull = 2
        let engine = SyncEngine(settings: settings, server: "test", uploader: FakeUploader(), environment: environment())
        await engine.coordinate()
        #expect(!Captures.exists(a[0]) && Captures.exists(a[1]) && !Captures.exists(a[2]))
        #expect(engine.status.thinnedFiles == 2)
    }

    // MARK: Failures

    @Test func aRejectedFileMovesToFailedWithItsReason() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let files = try captureFiles(dir, count: 2)
        let uploader = FakeUploader()
        uploader.fail(call: 1, with: .rejected("records are malformed"))
        let engine = SyncEngine(settings: settings(dir), server: "test", uploader: uploader, environment: environment())
        await engine.coordinate()

        #expect(await step(engine) == files[0])

        let relative = String(files[0].dropFirst(dir.path.count + 1))
        let failed = SyncSettings.failedDirectory(captureDir: dir.path) + "/" + relative
        #expect(!Captures.exists(files[0]))
        #expect(Captures.exists(failed))
        #expect(Captures.exists(SyncProgress.path(for: failed)), "the progress (file id) goes with the file")
        #expect(!Captures.exists(SyncProgress.path(for: files[0])))
        let listed = SyncStatus.failedFiles(captureDir: dir.path)
        #expect(listed.count == 1)
        #expect(listed.first?.path == failed)
        #expect(listed.first?.reason.contains("records are malformed") == true)
        #expect(engine.status.failedFiles == 1)
        #expect(engine.status.retries == 0)
        #expect(engine.pendingFiles == 1)

        // The other file goes on; a later sync does not pick up the refused one.
        #expect(await step(engine) == files[1])
        engine.requestSync()
        await engine.coordinate()
        #expect(engine.pendingFiles == 0)
        #expect(SyncStatus.load(captureDir: dir.path)?.failedFiles == 1)
        #expect(SyncStatus.load(captureDir: dir.path)?.syncedFiles == 1)
    }

    @Test func aCorruptCaptureFileMovesToFailed() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.path + "/rdk_component_sensor/temp/Readings/2024-01-01.capture"
        try Captures.writeFile(path, String(repeating: "\u{7f}", count: 300))
        let engine = SyncEngine(settings: settings(dir), server: "test", uploader: FakeUploader(), environment: environment())
        await engine.coordinate()
        #expect(await step(engine) == path)
        #expect(Captures.exists(dir.path + "/failed/rdk_component_sensor/temp/Readings/2024-01-01.capture"))
        #expect(SyncStatus.failedFiles(captureDir: dir.path).count == 1)
    }

    @Test func anUnreachableServerShowsOfflineInTheStatusUntilAnUploadSucceeds() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let files = try captureFiles(dir, count: 2)
        let uploader = FakeUploader()
        uploader.fail(call: 1, with: .unreachable("connection refused"))
        let engine = SyncEngine(settings: settings(dir), server: "host:8080", uploader: uploader, environment: environment())
        await engine.coordinate()

        #expect(await step(engine) == files[0])
        #expect(Captures.exists(files[0]))
        #expect(await step(engine) == nil, "offline: nothing is taken before the wait ends")
        await engine.coordinate()
        let offline = try #require(SyncStatus.load(captureDir: dir.path))
        #expect(offline.offline)
        #expect(offline.server == "host:8080")
        #expect(offline.lastError?.contains("connection refused") == true)
        #expect(offline.retries == 1)
        let nextRetry = try #require(engine.status.nextRetry)
        #expect(abs(nextRetry.timeIntervalSince(clock.now()) - 0.2) < 1e-3)

        clock.advance(by: .seconds(1))
        #expect(await step(engine) != nil)
        await engine.coordinate()
        let online = try #require(SyncStatus.load(captureDir: dir.path))
        #expect(!online.offline)
        #expect(online.lastError == nil)
        #expect(online.nextRetry == nil)
        #expect(online.syncedFiles == 1)
        #expect(await step(engine) != nil)
        #expect(files.allSatisfy { !Captures.exists($0) })
    }

    /// SyncStatus.syncedRecords/syncedBytes (and the ferry_sync_records_total/bytes metrics)
    /// count what the server acknowledged; batches acknowledged before a failure count too.
    @Test func recordsAcknowledgedBeforeAFailureAreCountedOnce() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let files = try captureFiles(dir, count: 1, records: 6)
        var settings = self.settings(dir)
        settings.maximumBatchBytes = 400
        let uploader = FakeUploader()
        uploader.fail(call: 2, with: .retry("store busy"))
        let engine = SyncEngine(settings: settings, server: "test", uploader: uploader, environment: self.environment())
        await engine.coordinate()
        #expect(await step(engine) == files[0])
        #expect(engine.status.retries == 1)
        #expect(try SyncProgress.load(for: files[0])?.ackedRecords ?? 0 > 0, "the first batch was acknowledged")
        clock.advance(by: .seconds(1))
        #expect(await step(engine) == files[0])
        #expect(!Captures.exists(files[0]))
        let records = uploader.succeeded.flatMap(\.records)
        #expect(records.count == 6)
        #expect(engine.status.syncedFiles == 1)
        #expect(engine.status.syncedRecords == 6)
        #expect(engine.status.syncedBytes == records.reduce(0) { $0 + $1.serializedSizeEstimate })
    }

    /// A file removed by hand while it is the one probe sent to an offline server: the engine
    /// forgets it (SyncEngine.upload → schedule.remove), and must still go on with the others.
    @Test func aProbeFileRemovedByHandDoesNotStallTheEngine() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let files = try captureFiles(dir, count: 3)
        let uploader = FakeUploader()
        uploader.fail(call: 1, with: .unreachable("connection refused"))
        let engine = SyncEngine(settings: settings(dir), server: "test", uploader: uploader, environment: environment())
        await engine.coordinate()
        #expect(await step(engine) == files[0])
        clock.advance(by: .seconds(1))

        let probe = try #require(engine.state.withLock { $0.schedule.take(now: clock.now()) })
        try FileManager.default.removeItem(atPath: probe)
        await engine.upload(probe, root: nil, settings: settings(dir))
        #expect(engine.pendingFiles == 2)

        clock.advance(by: .seconds(3600))
        #expect(await step(engine) != nil, "the engine is stuck offline waiting for a probe that was removed")
        #expect(await step(engine) != nil)
        #expect(uploader.succeeded.count == 2)
    }

    /// archive_dir may be inside capture_dir (nothing in the config forbids it); archived files
    /// must not be scanned, uploaded again (under a new file id) and archived again.
    @Test func archivedFilesInsideTheCaptureDirectoryAreNotUploadedAgain() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let files = try captureFiles(dir, count: 1)
        var settings = self.settings(dir)
        settings.archiveDir = dir.path + "/archive"
        let uploader = FakeUploader()
        let engine = SyncEngine(settings: settings, server: "test", uploader: uploader, environment: environment())
        await engine.coordinate()
        #expect(await step(engine) == files[0])
        #expect(Captures.exists(dir.path + "/archive/" + String(files[0].dropFirst(dir.path.count + 1))))

        engine.requestSync()
        await engine.coordinate()
        #expect(engine.pendingFiles == 0)
        #expect(await step(engine) == nil)
        #expect(uploader.calls.count == 1)
    }

    // MARK: Running

    @Test func runDrainsTheDirectoryAndReportsItInTheStatusFile() async throws {
        let dir = try TemporaryDirectory()
        let extra = try TemporaryDirectory("ferry-extra")
        defer {
            dir.remove()
            extra.remove()
        }
        let files = try captureFiles(dir, component: "a", count: 4, records: 5) + captureFiles(dir, component: "b", count: 3, records: 2)
        let binary = try Captures.write(
            dir.path, name: "2024-01-01T00:00:00.000Z-cam", metadata: Captures.binaryMetadata(),
            records: Captures.binaryRecords([Captures.payload(100), Captures.payload(50)]))
        let arbitrary = extra.path + "/tag=t/readme.txt"
        try Captures.writeFile(arbitrary, "hello", modified: clock.now().addingTimeInterval(-60))
        var settings = self.settings(dir)
        settings.additionalSyncPaths = [extra.path]
        settings.maximumBatchBytes = 400
        let uploader = FakeUploader()
        let engine = SyncEngine(settings: settings, server: "test", uploader: uploader, environment: environment())

        let task = Task { await engine.run() }
        let drained = await eventuallyAsync {
            clock.advance(by: .milliseconds(100))
            return SyncStatus.load(captureDir: dir.path)?.syncedFiles == 9
        }
        task.cancel()
        await task.value

        #expect(drained, "status: \(String(describing: SyncStatus.load(captureDir: dir.path)))")
        #expect((files + [binary, arbitrary]).allSatisfy { !Captures.exists($0) })
        let status = try #require(SyncStatus.load(captureDir: dir.path))
        #expect(status.syncedFiles == 9)
        #expect(status.syncedRecords == 4 * 5 + 3 * 2 + 2)
        #expect(status.retries == 0)
        #expect(status.failedFiles == 0)
        #expect(!status.offline)
        #expect(engine.pendingFiles == 0)
        // Each record reached the server once.
        let succeeded = uploader.succeeded
        #expect(succeeded.filter { $0.kind == .tabular }.reduce(0) { $0 + $1.records.count } == 26)
        #expect(succeeded.filter { $0.kind == .binary }.count == 2)
        #expect(succeeded.filter { $0.kind == .file }.map(\.path) == [arbitrary])
        let tabularBytes = succeeded.filter { $0.kind == .tabular }.flatMap(\.records).reduce(0) { $0 + $1.serializedSizeEstimate }
        #expect(status.syncedBytes == tabularBytes + 150 + 5)
    }
}
