import FerryCaptureFile
import FerryClock
import FerrySystem
import Foundation
import Logging
import Metrics
import Synchronization
import Tracing

/// The host's data manager sync: every `sync_interval_mins` (or at once on `ferry sync now`) it
/// queues the finished capture files and ready additional-path files, and a pool of workers
/// uploads them, oldest first, with per-file backoff and a shared offline state. It also applies
/// the disk-space policy and writes the status `ferry sync status` shows.
package final class SyncEngine: Sendable {
    package struct Environment: Sendable {
        /// The time the engine decides by (due syncs, backoff, disk checks) and waits on.
        package var clock: any FerryClock = SystemClock()
        package var disk: any DiskUsageProbe = StatvfsDiskUsage()
        /// The selective syncer's verdict; only asked when one is configured.
        package var shouldSync: @Sendable () async -> Bool = { true }
        package var random: @Sendable () -> Double = { Double.random(in: 0..<1) }
        /// Closes the collectors' open files before a sync scans, as Viam flushes its collectors.
        package var finishOpenFiles: @Sendable () -> Void = {}
        /// How often the engine looks for work, the trigger file and disk space.
        package var tick: Duration = .milliseconds(500)
        package var diskCheckInterval: Duration = .seconds(30)
        package init() {}
    }

    struct State {
        var settings: SyncSettings
        var schedule = SyncSchedule()
        var status: SyncStatus
        /// Roots of queued additional-path files (capture files have none).
        var arbitraryRoots: [String: String] = [:]
        var manualRequested = false
        var nextScheduledSync: Date
        var nextDiskCheck: Date
        var lastSaved: SyncStatus?
        /// Set by `finish()`: no new uploads; `run` returns once those in flight are done.
        var finishing = false
    }

    let uploader: any DataUploader
    let environment: Environment
    let logger: Logger
    let state: Mutex<State>

    package init(
        settings: SyncSettings, server: String, uploader: any DataUploader, environment: Environment = Environment(),
        logger: Logger = Logger(label: "ferry.sync")
    ) {
        self.uploader = uploader
        self.environment = environment
        self.logger = logger
        let now = environment.clock.now()
        state = Mutex(
            State(
                settings: settings, status: SyncStatus(updatedAt: now, server: server), nextScheduledSync: now,
                nextDiskCheck: now))
    }

    /// Applies a reloaded config (intervals, tags, paths, workers, policy).
    package func update(_ settings: SyncSettings) {
        state.withLock { $0.settings = settings }
    }

    /// A manual sync: runs now, ignoring the selective syncer and `sync_disabled`.
    package func requestSync() {
        state.withLock { $0.manualRequested = true }
    }

    package var status: SyncStatus { state.withLock { $0.status } }
    package var pendingFiles: Int { state.withLock { $0.schedule.pendingCount } }

    /// Ends `run` gracefully: no new uploads start, and it returns once those in flight are done
    /// (cancelling its task cuts them instead; the server then keeps no partial file).
    package func finish() {
        state.withLock { $0.finishing = true }
    }

    var finishing: Bool { state.withLock { $0.finishing } }

    /// Runs until `finish()` is called or the task is cancelled.
    package func run() async {
        await withDiscardingTaskGroup { group in
            var spawned = 0
            while !Task.isCancelled && !finishing {
                let wanted = state.withLock { $0.settings.workers }
                while spawned < wanted {
                    let index = spawned
                    group.addTask { await self.work(index) }
                    spawned += 1
                }
                await coordinate()
                await environment.clock.sleep(for: environment.tick)
            }
            // Finishing, the workers return after their uploads in flight; cancelled, they are cut.
        }
        saveStatus(now: environment.clock.now(), settings: state.withLock { $0.settings }, scan: nil)
    }

    // MARK: Coordinator

    /// One look at the world: queue files when a sync is due, thin for disk space, save status.
    func coordinate() async {
        let now = environment.clock.now()
        let trigger = SyncStatus.triggerPath(captureDir: state.withLock { $0.settings.captureDir })
        if FileManager.default.fileExists(atPath: trigger) {
            unlink(trigger)
            requestSync()
        }
        let (settings, manual, due, diskDue) = state.withLock { state in
            let manual = state.manualRequested
            state.manualRequested = false
            return (state.settings, manual, now >= state.nextScheduledSync, now >= state.nextDiskCheck)
        }
        var scan: CaptureDirectoryScan?
        if manual || (due && !settings.syncDisabled) {
            state.withLock { $0.nextScheduledSync = now.adding(settings.interval) }
            var allowed = manual || settings.selectiveSyncerName == nil
            if !allowed { allowed = await environment.shouldSync() }
            if allowed {
                environment.finishOpenFiles()
                scan = Self.scan(settings)
                enqueue(scan!, settings: settings, now: now)
            } else {
                logger.debug("scheduled sync skipped: selective syncer \(settings.selectiveSyncerName ?? "") says should_sync is not true")
            }
        }
        if diskDue {
            state.withLock { $0.nextDiskCheck = now.adding(environment.diskCheckInterval) }
            enforceDiskSpace(scan ?? Self.scan(settings), settings: settings)
        }
        saveStatus(now: now, settings: settings, scan: scan)
    }

    static func scan(_ settings: SyncSettings) -> CaptureDirectoryScan {
        CaptureDirectoryScan.scan(settings.captureDir, skipping: settings.archiveDir.map { [$0] } ?? [])
    }

    func enqueue(_ scan: CaptureDirectoryScan, settings: SyncSettings, now: Date) {
        for orphan in scan.orphanedProgress { unlink(orphan) }
        var arbitrary: [(String, String)] = []
        for root in settings.additionalSyncPaths {
            for file in ArbitraryFileSync.readyFiles(roots: [root], now: now, quietPeriod: settings.quietPeriod) {
                arbitrary.append((file, root))
            }
        }
        state.withLock { state in
            state.schedule.add(scan.finished.map(\.path), now: now)
            for (file, root) in arbitrary where state.arbitraryRoots[file] == nil {
                state.arbitraryRoots[file] = root
                state.schedule.add([file], now: now)
            }
        }
    }

    func enforceDiskSpace(_ scan: CaptureDirectoryScan, settings: SyncSettings) {
        let policy = DiskSpacePolicy(deleteEveryNth: settings.deleteEveryNthWhenDiskFull, captureDirMaxBytes: settings.captureDirMaxBytes)
        guard let reason = policy.reason(captureDirBytes: scan.totalBytes, usage: environment.disk.usage(of: settings.captureDir)) else {
            return
        }
        let busy = state.withLock { Set($0.schedule.entries.values.filter(\.inFlight).map(\.path)) }
        let doomed = policy.filesToDelete(scan.finished.map(\.path), excluding: busy)
        var deleted = 0
        for file in doomed where unlink(file) == 0 {
            unlink(SyncProgress.path(for: file))
            deleted += 1
        }
        state.withLock { state in
            for file in doomed { state.schedule.remove(file) }
            state.status.thinnedFiles += deleted
        }
        SyncMetrics.thinned(deleted)
        logger.warning("\(reason): deleted \(deleted) of \(scan.finished.count) capture files (every \(policy.deleteEveryNth)th of each collector)")
    }

    func saveStatus(now: Date, settings: SyncSettings, scan: CaptureDirectoryScan?) {
        let status = state.withLock { state -> SyncStatus? in
            state.status.offline = state.schedule.isOffline
            state.status.lastError = state.schedule.lastError
            state.status.lastErrorAt = state.schedule.lastErrorAt
            state.status.nextRetry = state.schedule.nextRetry(now: now)
            var comparable = state.status
            comparable.updatedAt = state.lastSaved?.updatedAt ?? now
            // Rewrite when something changed, and at least every 10 s as a sign of life.
            if let last = state.lastSaved, last == comparable, now.timeIntervalSince(last.updatedAt) < 10 { return nil }
            state.status.updatedAt = now
            state.lastSaved = state.status
            return state.status
        }
        status?.save(captureDir: settings.captureDir)
        if let scan {
            SyncMetrics.backlog(files: scan.finished.count, bytes: scan.finishedBytes)
            SyncMetrics.oldestUnsynced(scan.oldestReading(), now: now)
        }
    }

    // MARK: Workers

    func work(_ index: Int) async {
        while !Task.isCancelled && !finishing {
            let next = state.withLock { state -> (String, String?, SyncSettings)? in
                guard index < state.settings.workers, let path = state.schedule.take(now: environment.clock.now()) else { return nil }
                return (path, state.arbitraryRoots[path], state.settings)
            }
            guard let (path, root, settings) = next else {
                await environment.clock.sleep(for: .milliseconds(50))
                continue
            }
            await upload(path, root: root, settings: settings)
        }
    }

    /// Uploads one file in a span of its own (each upload call is a child), so its logs carry the trace.
    func upload(_ path: String, root: String?, settings: SyncSettings) async {
        let span = InstrumentationSystem.tracer.startSpan("sync file", context: .topLevel)
        span.attributes["ferry.path"] = path
        defer { span.end() }
        await ServiceContext.$current.withValue(span.context) {
            do throws(UploadFailure) {
                try await transfer(path, root: root, settings: settings)
                finished(path)
            } catch {
                span.setStatus(SpanStatus(code: .error, message: "\(error)"))
                failed(path, error, settings: settings)
            }
        }
    }

    func transfer(_ path: String, root: String?, settings: SyncSettings) async throws(UploadFailure) {
        if let root {
            let bytes = try await ArbitraryFileSync.upload(path, root: root, settings: settings, uploader: uploader)
            acknowledged(records: 0, bytes: bytes)
        } else {
            // Counted per acknowledgement, so a file that fails halfway still counts what went up.
            let sync = CaptureFileSync(uploader: uploader, settings: settings, logger: logger) { records, bytes in
                self.acknowledged(records: records, bytes: bytes)
            }
            try await sync.sync(path)
        }
    }

    /// Refused for good: to `failed/`; vanished: forgotten; else: retried with backoff.
    func failed(_ path: String, _ error: UploadFailure, settings: SyncSettings) {
        if case .rejected(let reason) = error {
            moveToFailed(path, reason: reason, settings: settings)
            return
        }
        if !FileManager.default.fileExists(atPath: path) {
            state.withLock { state in
                state.schedule.remove(path)
                state.arbitraryRoots[path] = nil
            }
            return
        }
        let retry = state.withLock { state in
            state.status.retries += 1
            return state.schedule.failed(path, error, now: environment.clock.now(), random: environment.random())
        }
        SyncMetrics.retry()
        logger.warning("sync of \(path) failed: \(error); next try at \(retry)")
    }

    private func acknowledged(records: Int, bytes: Int) {
        state.withLock { state in
            state.status.syncedRecords += records
            state.status.syncedBytes += bytes
        }
        SyncMetrics.uploaded(records: records, bytes: bytes)
    }

    private func finished(_ path: String) {
        state.withLock { state in
            state.schedule.finished(path)
            state.arbitraryRoots[path] = nil
            state.status.syncedFiles += 1
        }
        SyncMetrics.fileSynced()
        logger.debug("synced \(path)")
    }

    /// The server refused the file for good: keep it (and its progress) in `failed/` with the
    /// reason beside it, and go on with the others.
    private func moveToFailed(_ path: String, reason: String, settings: SyncSettings) {
        let failedRoot = SyncSettings.failedDirectory(captureDir: settings.captureDir)
        let relative =
            path.hasPrefix(settings.captureDir + "/")
            ? String(path.dropFirst(settings.captureDir.count + 1)) : "additional/" + FilePaths.name(path)
        let destination = FilePaths.join(failedRoot, relative)
        do {
            try FileManager.default.createDirectory(
                atPath: FilePaths.parent(destination), withIntermediateDirectories: true)
            try (reason + "\n").write(toFile: destination + ".reason", atomically: true, encoding: .utf8)
            guard rename(path, destination) == 0 else { throw SyncFileError(path: path, message: String(cString: strerror(errno))) }
            let progress = SyncProgress.path(for: path)
            if FileManager.default.fileExists(atPath: progress) {
                rename(progress, SyncProgress.path(for: destination))
            }
        } catch {
            logger.error("cannot move \(path) to \(failedRoot): \(error)")
        }
        state.withLock { state in
            state.schedule.finished(path)
            state.arbitraryRoots[path] = nil
            state.status.failedFiles += 1
        }
        logger.error("sync refused \(path) for good; moved to \(destination): \(reason)")
    }
}

/// The engine's metrics, for a Prometheus endpoint when one is installed.
enum SyncMetrics {
    static func uploaded(records: Int, bytes: Int) {
        Counter(label: "ferry_sync_records_total").increment(by: records)
        Counter(label: "ferry_sync_bytes_total").increment(by: bytes)
        Counter(label: "ferry_sync_uploads_total").increment()
    }
    static func fileSynced() { Counter(label: "ferry_sync_files_total").increment() }
    static func retry() { Counter(label: "ferry_sync_retries_total").increment() }
    static func thinned(_ count: Int) { Counter(label: "ferry_sync_thinned_files_total").increment(by: count) }
    /// Seconds since the oldest reading still waiting to be uploaded was captured; 0 when none waits.
    static func oldestUnsynced(_ oldest: Date?, now: Date) {
        Gauge(label: "ferry_sync_oldest_unsynced_reading_age_seconds").record(oldest.map { max(0, now.timeIntervalSince($0)) } ?? 0)
    }
    static func backlog(files: Int, bytes: Int64) {
        Gauge(label: "ferry_sync_backlog_files").record(files)
        Gauge(label: "ferry_sync_backlog_bytes").record(bytes)
    }
}
