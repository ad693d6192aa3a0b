import FerryBSON
import FerryCaptureFile
import FerryClock
import FerryLoader
import FerrySystem
import Foundation
import Logging
import Synchronization

package struct CaptureWriterOptions: Sendable {
    /// Rotate tabular files at this size (Viam's maximum_capture_file_size_bytes).
    package var maximumFileSize: Int64 = 256 * 1024
    /// fsync an open file when this long has passed since its last fsync (besides on rotation);
    /// zero syncs only on rotation.
    package var fsyncInterval: Duration = .seconds(1)
    /// Readings are written in groups, one `write(2)` per file a group goes into: a group is
    /// written once it is this old (the fsync interval when that is shorter), or holds
    /// `groupBytes`. A group written for its age is synced with it (a group commit), so a killed process
    /// loses at most the readings of the last group age, and a power cut at most those of the
    /// last two (two and three while a write stuck in the disk holds the shared timer: a lane then
    /// writes its own group once it is two ages old). Zero writes every reading as it comes.
    package var writeInterval: Duration = .seconds(1)
    package var groupBytes = 64 * 1024
    package var tags: [String] = []
    /// Readings kept in memory while the disk refuses writes; past this, the oldest are dropped
    /// (and counted). Readings that arrive while a write is stuck in the disk wait apart, up to
    /// this much again.
    package var pendingLimitBytes = 16 * 1024 * 1024
    /// Backoff between retries after a write error: doubles from the first to the last.
    package var retryBackoff: (first: Duration, last: Duration) = (.milliseconds(500), .seconds(30))
    package init() {}

    /// The longest a reading waits in memory before its `write(2)`.
    var groupAge: Duration { fsyncInterval > .zero ? min(writeInterval, fsyncInterval) : writeInterval }
}

/// Health of one writer, for status and tests.
package struct CaptureWriterStats: Sendable, Equatable {
    package var recordsWritten = 0
    package var filesFinished = 0
    package var droppedRecords = 0
    package var pendingRecords = 0
    package var healthy = true
    package var lastError: String?
}

/// Writes one collector's readings to capture files. Thread-safe: the collector writes from its
/// tick, the sync engine finishes files, and a timer writes a waiting group, each under `lock`.
/// The collector's tick only encodes into the inbox, under a lock that no system call is ever
/// made under; the timer (or, for a group that reaches `groupBytes` first, a queue of its own)
/// moves the inbox into the group and writes it, so a capture lane neither makes a system call for
/// a reading nor waits for one (a `write(2)` can stall for tens of milliseconds while the file
/// system commits its journal), unless those queues are two group ages behind.
package final class CaptureFileWriter: ReadingSink, @unchecked Sendable {
    // @unchecked: the inbox is guarded by its own mutex, every var below by `lock` (stats and the
    // fsync flag by their own mutexes).
    let directory: URL
    let api: String
    let component: String
    let method: String
    let parameters: BSONDocument
    let options: CaptureWriterOptions
    let clock: any FerryClock
    let fileSystem: any CaptureFileSystem
    let logger: Logger
    private let lock = Lock()

    private struct OpenFile {
        let fd: Int32
        let path: String
        /// Bytes in the file (written, not buffered).
        var size: Int64
        var lastSync: Duration
        /// The metadata header's size: a file no bigger holds no reading.
        let headerSize: Int64
        var holdsRecords: Bool { size > headerSize }
    }

    /// Readings encoded by ticks and not yet taken into the group: bytes, where each record ends,
    /// when the first came, and whether grouping has begun.
    private struct Inbox {
        var bytes: [UInt8] = []
        var ends: [Int] = []
        var since: Duration?
        var grouping = false
        /// A full group's write is queued on `fullGroupQueue` and has not yet run.
        var fullGroupQueued = false

        /// Drops the oldest records until the bytes fit in `limit` (the newest always stays);
        /// returns how many went.
        mutating func dropOldest(toFit limit: Int) -> Int {
            var dropped = 0
            var cut = 0
            while bytes.count - cut > limit, dropped < ends.count - 1 {
                cut = ends[dropped]
                dropped += 1
            }
            guard dropped > 0 else { return 0 }
            bytes.removeFirst(cut)
            ends.removeFirst(dropped)
            for i in ends.indices { ends[i] -= cut }
            return dropped
        }
    }
    private let inbox = Mutex(Inbox())

    private var current: OpenFile?
    /// Encoded tabular records not yet written, in order, and where each ends.
    private var group: [UInt8] = []
    private var recordEnds: [Int] = []
    private var groupSince: Duration?
    /// Binary payloads waiting after a write error (each becomes its own file).
    private var pendingBinaries: [(mimeType: String, record: [UInt8])] = []
    private var groupTimer: (any RepeatingTimer)?
    private var retryAt: Duration?
    private var backoff: Duration
    private var closed = false
    private let statsLock = Mutex(CaptureWriterStats())
    /// At most one periodic fsync in flight per writer; a slow disk skips rounds instead of queueing.
    private let syncInFlight = Mutex(false)
    /// Runs every writer's group timer: a write(2) of at most `groupBytes`.
    static let timerQueue = DispatchQueue(label: "ferry.capture.groups", qos: .userInitiated)
    /// Writes the groups that filled before their age: fast collectors', apart from the timers.
    static let fullGroupQueue = DispatchQueue(label: "ferry.capture.full-groups", qos: .userInitiated)
    /// Finishes (fsync, rename, directory fsync) this writer's full files in order, off the
    /// collector's thread: a rotation costs the collector one `open`, not three syncs. A file
    /// waiting here is a `.prog` with every record written, which start-up recovery promotes if
    /// the process dies first, so the durability promise is the same as a synchronous finish.
    private let finishing = DispatchQueue(label: "ferry.capture.finish", qos: .utility, target: .global(qos: .utility))

    package init(
        captureDir: String, api: String, component: String, method: String, parameters: BSONDocument,
        options: CaptureWriterOptions, clock: any FerryClock, fileSystem: any CaptureFileSystem = POSIXCaptureFileSystem(),
        logger: Logger
    ) {
        self.directory = CaptureFile.directory(captureDir: captureDir, api: api, component: component, method: method)
        self.api = api
        self.component = component
        self.method = method
        self.parameters = parameters
        self.options = options
        self.clock = clock
        self.fileSystem = fileSystem
        self.logger = logger
        self.backoff = options.retryBackoff.first
    }

    /// The writer's health; while it is unhealthy, `pendingRecords` counts every reading waiting in
    /// memory for the disk (while healthy, the readings of the current group are not counted).
    package var stats: CaptureWriterStats {
        var stats = statsLock.withLock { $0 }
        if !stats.healthy {
            let waiting = lock.withLock { recordEnds.count + pendingBinaries.count }
            stats.pendingRecords = waiting + inbox.withLock { $0.ends.count }
        }
        return stats
    }

    package func write(_ value: CapturedValue, timeRequested: Date, timeReceived: Date) {
        let now = clock.uptime()
        switch value {
        case .tabular(let reading):
            var dropped = 0
            let (startGrouping, grouped, overdue, queueFullGroup) = inbox.withLock { inbox -> (Bool, Bool, Bool, Bool) in
                let starting = !inbox.grouping && options.groupAge > .zero
                if starting { inbox.grouping = true }
                if inbox.ends.isEmpty { inbox.since = now }
                SensorDataEncoder.appendDelimitedTabular(reading, requested: timeRequested, received: timeReceived, to: &inbox.bytes)
                inbox.ends.append(inbox.bytes.count)
                // The inbox outgrows the limit only while a write(2) stuck in the disk holds the
                // flush: the oldest go (down to half, so that the cut is not made at every tick).
                if inbox.bytes.count > options.pendingLimitBytes {
                    dropped = inbox.dropOldest(toFit: options.pendingLimitBytes / 2)
                }
                // The timer writes each group, and a queue of its own a full one (a fast
                // collector's lane would stall in that write(2) now and then, and skip ticks); a
                // lane writes only when the group is two ages old (the queues stuck behind a slow disk).
                let overdue = inbox.since.map { now - $0 >= options.groupAge * 2 } == true
                let queueFull = !overdue && !inbox.fullGroupQueued && inbox.bytes.count >= options.groupBytes
                if queueFull { inbox.fullGroupQueued = true }
                return (starting, inbox.grouping, overdue, queueFull)
            }
            if dropped > 0 { statsLock.withLock { $0.droppedRecords += dropped } }
            if !grouped {
                // No grouping (a group age of zero): every reading is written as it comes.
                lock.withLock { flush(now: now, force: true) }
            } else if overdue, lock.try() {
                // Written here unless a flush holds the lock (then that flush, or the timer's
                // next, takes it: the lane does not wait for the disk).
                flush(now: now, force: false)
                lock.unlock()
            } else if queueFullGroup {
                Self.fullGroupQueue.async { [weak self] in self?.fullGroupFlush() }
            }
            if startGrouping { startGroupTimer() }
        case .binary(let payloads):
            lock.lock()
            for payload in payloads {
                let record = CaptureFile.binaryRecord(
                    payload.bytes, mimeType: payload.mimeType, requested: timeRequested, received: timeReceived,
                    annotations: payload.annotations)
                do {
                    pendingBinaries.append((payload.mimeType, try CaptureFile.delimited(record)))
                } catch {
                    logger.error("capture \(component)/\(method): cannot encode a reading: \(error)")
                }
            }
            flush(now: now, force: false)
            lock.unlock()
        }
    }

    /// Starts the timer that writes and syncs the group every group age (the first time at once).
    /// Outside every lock: the timer may fire at once, on this thread (a simulated clock).
    private func startGroupTimer() {
        let timer = clock.repeatingTimer(queue: Self.timerQueue, every: options.groupAge) { [weak self] in self?.timerFlush() }
        lock.lock()
        if closed { timer.cancel() } else { groupTimer = timer }
        lock.unlock()
    }

    /// Moves the inbox's readings behind the group's (under `lock`).
    private func takeInbox() {
        let taken = inbox.withLock { inbox -> Inbox? in
            guard !inbox.ends.isEmpty else { return nil }
            defer {
                inbox.bytes.removeAll(keepingCapacity: true)
                inbox.ends.removeAll(keepingCapacity: true)
                inbox.since = nil
            }
            return inbox
        }
        guard let taken else { return }
        if recordEnds.isEmpty {
            // The usual case: the inbox becomes the group without a copy.
            group = taken.bytes
            recordEnds = taken.ends
            groupSince = taken.since
        } else {
            let base = group.count
            group += taken.bytes
            recordEnds += taken.ends.map { $0 + base }
        }
        dropOldestBeyondLimit()
    }

    /// Makes the capture directory now; a failure is left for the first write to report.
    package func prepare() {
        try? fileSystem.createDirectory(directory.path)
    }

    package func close() {
        lock.lock()
        groupTimer?.cancel()
        groupTimer = nil
        closed = true
        flush(now: clock.uptime(), force: true, ignoringBackoff: true)
        let unwritten = recordEnds.count + pendingBinaries.count
        let file = detachCurrent()
        lock.unlock()
        if unwritten > 0 {
            logger.error("capture \(component)/\(method): \(unwritten) readings could not be written before stopping: \(stats.lastError ?? "write error")")
        }
        // After the files rotated before it: once closed, every file is finished.
        finishing.sync { if let file { finishLogging(file) } }
    }

    /// Writes what waits and finishes the open file (and any rotated before it) before returning;
    /// the fsync and rename happen outside the lock, so the collector's next reading never waits
    /// for them (it starts a new file).
    package func finishFile() {
        lock.lock()
        flush(now: clock.uptime(), force: true)
        let file = detachCurrent()
        lock.unlock()
        finishing.sync { if let file { finishLogging(file) } }
    }

    /// A group that reached `groupBytes`: written off the collector's lane.
    private func fullGroupFlush() {
        inbox.withLock { $0.fullGroupQueued = false }
        lock.lock()
        defer { lock.unlock() }
        if !closed { flush(now: clock.uptime(), force: false) }
    }

    /// Every group age: write the group and sync it (the group commit).
    private func timerFlush() {
        lock.lock()
        defer { lock.unlock() }
        flush(now: clock.uptime(), force: true, commit: true)
    }

    /// While the disk refuses writes, readings wait in memory up to `pendingLimitBytes`.
    private func dropOldestBeyondLimit() {
        guard group.count > options.pendingLimitBytes, recordEnds.count > 1 else { return }
        var dropped = 0
        var cut = 0
        while group.count - cut > options.pendingLimitBytes, dropped < recordEnds.count - 1 {
            cut = recordEnds[dropped]
            dropped += 1
        }
        removeRecords(dropped, bytes: cut)
        statsLock.withLock { $0.droppedRecords += dropped }
    }

    private func removeRecords(_ count: Int, bytes: Int) {
        if count == recordEnds.count {
            group.removeAll(keepingCapacity: true)
            recordEnds.removeAll(keepingCapacity: true)
            groupSince = nil
            return
        }
        group.removeFirst(bytes)
        recordEnds.removeFirst(count)
        for i in recordEnds.indices { recordEnds[i] -= bytes }
    }

    /// Writes the waiting group when it is due (`force`: whenever it holds anything), unless a
    /// recent error says to wait (`ignoringBackoff` overrides that). `commit`, or a group written
    /// because of its age, syncs the file after the write (when there is an fsync interval).
    private func flush(now: Duration, force: Bool, ignoringBackoff: Bool = false, commit: Bool = false) {
        takeInbox()
        if let retryAt, now < retryAt, !ignoringBackoff { return }
        let aged = options.groupAge > .zero && groupSince.map { now - $0 >= options.groupAge } == true
        let due =
            force || aged || group.count >= options.groupBytes
            || (current.map { $0.size + Int64(group.count) >= options.maximumFileSize } ?? false)
        guard due || !pendingBinaries.isEmpty else { return }
        do {
            if due { try writeGroup(now: now, commit: commit || (aged && !recordEnds.isEmpty)) }
            while let binary = pendingBinaries.first {
                try writeBinaryFile(mimeType: binary.mimeType, record: binary.record)
                pendingBinaries.removeFirst()
                statsLock.withLock { $0.recordsWritten += 1 }
            }
            if retryAt != nil {
                logger.info("capture \(component)/\(method): writing again after an error")
                retryAt = nil
                backoff = options.retryBackoff.first
            }
            statsLock.withLock {
                $0.healthy = true
                $0.pendingRecords = 0
            }
        } catch {
            // Never give up for good: wait, then try again with a new file on the next reading.
            if retryAt == nil {
                logger.error("capture \(component)/\(method): \(error); keeping readings in memory and retrying")
            }
            abandonCurrent()
            retryAt = now + backoff
            backoff = min(backoff * 2, options.retryBackoff.last)
            statsLock.withLock {
                $0.healthy = false
                $0.lastError = error.description
                $0.pendingRecords = recordEnds.count + pendingBinaries.count
            }
        }
    }

    /// Writes the group, one `write(2)` per file it goes into: a file rotates after the record
    /// that brings it to the maximum size, as if each record were written alone. The open file is
    /// synced in the background afterwards when `commit` says so or the fsync interval has passed.
    private func writeGroup(now: Duration, commit: Bool) throws(CaptureIOError) {
        var wrote = false
        while !recordEnds.isEmpty {
            if current == nil { current = try openFile(tabular: true, mimeType: "") }
            guard var file = current else { return }
            // Records up to and including the one that reaches the maximum size.
            var count = recordEnds.count
            for (i, end) in recordEnds.enumerated() where file.size + Int64(end) >= options.maximumFileSize {
                count = i + 1
                break
            }
            let bytes = recordEnds[count - 1]
            do {
                try fileSystem.write(file.fd, bytes == group.count ? group : Array(group[0..<bytes]), path: file.path)
            } catch {
                // Cut a partial group off so the file stays a sequence of whole records.
                try? fileSystem.truncate(file.fd, to: file.size, path: file.path)
                throw error
            }
            file.size += Int64(bytes)
            current = file
            removeRecords(count, bytes: bytes)
            statsLock.withLock { $0.recordsWritten += count }
            wrote = true
            if file.size >= options.maximumFileSize {
                // Finishing syncs it.
                current = nil
                finishing.async { [self, file] in finishLogging(file) }
            }
        }
        if recordEnds.isEmpty { groupSince = nil }
        if wrote, let file = current, options.fsyncInterval > .zero, commit || now - file.lastSync >= options.fsyncInterval {
            current?.lastSync = now
            syncInBackground(file)
        }
    }

    private func syncInBackground(_ file: OpenFile) {
        guard syncInFlight.withLock({ inFlight in
            defer { inFlight = true }
            return !inFlight
        }) else { return }
        let logger = logger
        fileSystem.syncInBackground(file.fd, path: file.path) { [self] error in
            syncInFlight.withLock { $0 = false }
            // The data stays written; the next rotation syncs again and reports a lasting fault.
            if let error { logger.warning("capture: periodic \(error)") }
        }
    }

    private func writeBinaryFile(mimeType: String, record: [UInt8]) throws(CaptureIOError) {
        let file = try openFile(tabular: false, mimeType: mimeType)
        do {
            try fileSystem.write(file.fd, record, path: file.path)
        } catch {
            fileSystem.close(file.fd)
            fileSystem.remove(file.path)
            throw error
        }
        var written = file
        written.size += Int64(record.count)
        finishing.async { [self, written] in finishLogging(written) }
    }

    private func openFile(tabular: Bool, mimeType: String) throws(CaptureIOError) -> OpenFile {
        try fileSystem.createDirectory(directory.path)
        let path = directory.appendingPathComponent(CaptureFile.baseName(at: clock.now()) + "." + CaptureFile.inProgressExtension).path
        let fd = try fileSystem.create(path)
        let header: [UInt8]
        do {
            header = try CaptureFile.delimited(
                CaptureFile.metadata(
                    api: api, component: component, method: method, parameters: parameters, tabular: tabular,
                    tags: options.tags, mimeType: mimeType))
        } catch {
            fileSystem.close(fd)
            throw CaptureIOError(operation: "encode metadata for", path: path, code: EINVAL)
        }
        do {
            try fileSystem.write(fd, header, path: path)
        } catch {
            fileSystem.close(fd)
            fileSystem.remove(path)
            throw error
        }
        return OpenFile(fd: fd, path: path, size: Int64(header.count), lastSync: clock.uptime(), headerSize: Int64(header.count))
    }

    /// fsync, close, and promote `.prog` → `.capture` (then make the rename durable).
    private func finish(_ file: OpenFile) throws(CaptureIOError) {
        try fileSystem.sync(file.fd, path: file.path)
        fileSystem.close(file.fd)
        let finished = String(file.path.dropLast(CaptureFile.inProgressExtension.count)) + CaptureFile.finishedExtension
        try fileSystem.rename(file.path, finished)
        fileSystem.syncDirectory(directory.path)
        statsLock.withLock { $0.filesFinished += 1 }
    }

    private func detachCurrent() -> OpenFile? {
        defer { current = nil }
        return current
    }

    private func finishLogging(_ file: OpenFile) {
        if discardIfEmpty(file) { return }
        do {
            try finish(file)
        } catch {
            // The .prog stays; start-up recovery promotes it.
            logger.error("capture \(component)/\(method): cannot finish \(file.path): \(error)")
            statsLock.withLock { $0.lastError = error.description }
        }
    }

    /// A file whose first reading never got written (the disk filled, or capture stopped first)
    /// is removed rather than finished: sync would only upload its header.
    private func discardIfEmpty(_ file: OpenFile) -> Bool {
        guard !file.holdsRecords else { return false }
        fileSystem.close(file.fd)
        fileSystem.remove(file.path)
        return true
    }

    /// After an error: close the current file as it stands (whole records only) and start fresh.
    private func abandonCurrent() {
        guard let file = current else { return }
        current = nil
        if discardIfEmpty(file) { return }
        try? fileSystem.sync(file.fd, path: file.path)
        fileSystem.close(file.fd)
        let finished = String(file.path.dropLast(CaptureFile.inProgressExtension.count)) + CaptureFile.finishedExtension
        // If even the rename fails, the .prog stays and start-up recovery promotes it.
        if (try? fileSystem.rename(file.path, finished)) != nil { statsLock.withLock { $0.filesFinished += 1 } }
    }
}
