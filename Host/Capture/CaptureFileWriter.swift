import FerryBSON
import FerryCaptureFile
import FerryClock
import FerryLoader
import Foundation
import Logging
import Synchronization

package struct CaptureWriterOptions: Sendable {
    /// Rotate tabular files at this size (Viam's maximum_capture_file_size_bytes).
    package var maximumFileSize: Int64 = 256 * 1024
    /// fsync an open file when this long has passed since its last fsync (besides on rotation);
    /// zero syncs only on rotation.
    package var fsyncInterval: Duration = .seconds(1)
    package var tags: [String] = []
    /// Readings kept in memory while the disk refuses writes; past this, the oldest are dropped
    /// (and counted).
    package var pendingLimitBytes = 16 * 1024 * 1024
    /// Backoff between retries after a write error: doubles from the first to the last.
    package var retryBackoff: (first: Duration, last: Duration) = (.milliseconds(500), .seconds(30))
    package init() {}
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

/// Writes one collector's readings to capture files. Used only on its collector's queue; the
/// stats are behind a lock so anyone can read them.
package final class CaptureFileWriter: ReadingSink, @unchecked Sendable {
    // @unchecked: every field but `statsLock` is touched only on the owning collector's serial
    // queue (write/close are called there), so no two threads ever see them at once.
    let directory: URL
    let api: String
    let component: String
    let method: String
    let parameters: BSONDocument
    let options: CaptureWriterOptions
    let clock: any FerryClock
    let fileSystem: any CaptureFileSystem
    let logger: Logger

    private enum Pending {
        case record([UInt8])
        case binaryFile(mimeType: String, record: [UInt8])
        var size: Int {
            switch self {
            case .record(let bytes), .binaryFile(_, let bytes): bytes.count
            }
        }
    }

    private struct OpenFile {
        let fd: Int32
        let path: String
        var size: Int64
        var lastSync: Duration
    }

    private var current: OpenFile?
    private var pending: [Pending] = []
    private var pendingBytes = 0
    private var retryAt: Duration?
    private var backoff: Duration
    private let statsLock = Mutex(CaptureWriterStats())
    /// At most one periodic fsync in flight per writer; a slow disk skips rounds instead of queueing.
    private let syncInFlight = Mutex(false)

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

    package var stats: CaptureWriterStats { statsLock.withLock { $0 } }

    package func write(_ value: CapturedValue, timeRequested: Date, timeReceived: Date) {
        do {
            switch value {
            case .tabular(let reading):
                enqueue(.record(SensorDataEncoder.delimitedTabular(reading, requested: timeRequested, received: timeReceived)))
            case .binary(let payloads):
                for payload in payloads {
                    let record = CaptureFile.binaryRecord(
                        payload.bytes, mimeType: payload.mimeType, requested: timeRequested, received: timeReceived,
                        annotations: payload.annotations)
                    enqueue(.binaryFile(mimeType: payload.mimeType, record: try CaptureFile.delimited(record)))
                }
            }
        } catch {
            logger.error("capture \(component)/\(method): cannot encode a reading: \(error)")
        }
        flush()
    }

    package func close() {
        flush(force: true)
        if !pending.isEmpty {
            logger.error("capture \(component)/\(method): \(pending.count) readings could not be written before stopping: \(stats.lastError ?? "write error")")
        }
        finishCurrent()
    }

    package func finishFile() {
        flush()
        finishCurrent()
    }

    private func enqueue(_ item: Pending) {
        pending.append(item)
        pendingBytes += item.size
        var dropped = 0
        while pendingBytes > options.pendingLimitBytes, pending.count > 1 {
            pendingBytes -= pending.removeFirst().size
            dropped += 1
        }
        if dropped > 0 { statsLock.withLock { $0.droppedRecords += dropped } }
    }

    /// Writes what is pending, unless a recent error says to wait (`force` ignores the backoff).
    private func flush(force: Bool = false) {
        let now = clock.uptime()
        if let retryAt, now < retryAt, !force {
            statsLock.withLock { $0.pendingRecords = pending.count }
            return
        }
        do {
            while let item = pending.first {
                switch item {
                case .record(let bytes): try appendRecord(bytes, now: now)
                case .binaryFile(let mimeType, let record): try writeBinaryFile(mimeType: mimeType, record: record)
                }
                pending.removeFirst()
                pendingBytes -= item.size
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
                $0.pendingRecords = pending.count
            }
        }
    }

    private func appendRecord(_ bytes: [UInt8], now: Duration) throws(CaptureIOError) {
        if current == nil { current = try openFile(tabular: true, mimeType: "") }
        guard var file = current else { return }
        do {
            try fileSystem.write(file.fd, bytes, path: file.path)
        } catch {
            // Cut a partial record off so the file stays a sequence of whole records.
            try? fileSystem.truncate(file.fd, to: file.size, path: file.path)
            throw error
        }
        file.size += Int64(bytes.count)
        current = file
        if file.size >= options.maximumFileSize {
            try finish(file)
            current = nil
        } else if options.fsyncInterval > .zero, now - file.lastSync >= options.fsyncInterval {
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
            try finish(file)
        } catch {
            fileSystem.close(file.fd)
            fileSystem.remove(file.path)
            throw error
        }
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
        return OpenFile(fd: fd, path: path, size: Int64(header.count), lastSync: clock.uptime())
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

    private func finishCurrent() {
        guard let file = current else { return }
        current = nil
        do {
            try finish(file)
        } catch {
            // The .prog stays; start-up recovery promotes it.
            logger.error("capture \(component)/\(method): cannot finish \(file.path): \(error)")
        }
    }

    /// After an error: close the current file as it stands (whole records only) and start fresh.
    private func abandonCurrent() {
        guard let file = current else { return }
        current = nil
        try? fileSystem.sync(file.fd, path: file.path)
        fileSystem.close(file.fd)
        let finished = String(file.path.dropLast(CaptureFile.inProgressExtension.count)) + CaptureFile.finishedExtension
        // If even the rename fails, the .prog stays and start-up recovery promotes it.
        if (try? fileSystem.rename(file.path, finished)) != nil { statsLock.withLock { $0.filesFinished += 1 } }
    }
}
