import Dispatch
import FerrySystem
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A failed file operation, with the path and the OS's reason.
package struct CaptureIOError: Error, CustomStringConvertible, Sendable {
    package var operation: String
    package var path: String
    package var code: Int32
    package init(operation: String, path: String, code: Int32) {
        self.operation = operation
        self.path = path
        self.code = code
    }
    package var description: String { "\(operation) \(path): \(String(cString: strerror(code)))" }
}

/// The file-system seam of capture: the writer does all its I/O through this, so tests can make
/// writes fail (disk full, read-only) without a full disk — and without relying on permissions,
/// which root ignores.
package protocol CaptureFileSystem: Sendable {
    func createDirectory(_ path: String) throws(CaptureIOError)
    /// Creates a new file for writing; fails if it exists.
    func create(_ path: String) throws(CaptureIOError) -> Int32
    /// Writes all of `bytes` or throws (a partial write is reported as an error; the caller
    /// truncates back to the last whole record).
    func write(_ fd: Int32, _ bytes: [UInt8], path: String) throws(CaptureIOError)
    func sync(_ fd: Int32, path: String) throws(CaptureIOError)
    /// fsyncs in the background and calls `completion` when done, so a collector's queue never
    /// waits on the disk for a periodic sync. The caller may close `fd` right away.
    func syncInBackground(_ fd: Int32, path: String, completion: @escaping @Sendable (CaptureIOError?) -> Void)
    func truncate(_ fd: Int32, to length: Int64, path: String) throws(CaptureIOError)
    func close(_ fd: Int32)
    func rename(_ from: String, _ to: String) throws(CaptureIOError)
    /// Removes a file that holds no reading (a header cut short by a write error).
    func remove(_ path: String)
    /// Makes a rename durable (fsync of the directory); best effort.
    func syncDirectory(_ path: String)
}

package struct POSIXCaptureFileSystem: CaptureFileSystem {
    package init() {}

    package func createDirectory(_ path: String) throws(CaptureIOError) {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw CaptureIOError(operation: "create directory", path: path, code: ((error as? CocoaError)?.underlying as? POSIXError).map { $0.code.rawValue } ?? EIO)
        }
    }

    package func create(_ path: String) throws(CaptureIOError) -> Int32 {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw CaptureIOError(operation: "create", path: path, code: errno) }
        return fd
    }

    package func write(_ fd: Int32, _ bytes: [UInt8], path: String) throws(CaptureIOError) {
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + written, $0.count - written) }
            if n < 0 {
                if errno == EINTR { continue }
                throw CaptureIOError(operation: "write", path: path, code: errno)
            }
            written += n
        }
    }

    package func sync(_ fd: Int32, path: String) throws(CaptureIOError) {
        guard fdatasync(fd) == 0 else { throw CaptureIOError(operation: "fsync", path: path, code: errno) }
    }

    /// Every writer's periodic syncs, gathered into rounds (one `syncfs` for many files).
    static let batcher = SyncBatcher()

    package func syncInBackground(_ fd: Int32, path: String, completion: @escaping @Sendable (CaptureIOError?) -> Void) {
        // A duplicate descriptor stays valid even if the writer closes the original meanwhile.
        let duplicate = dup(fd)
        guard duplicate >= 0 else {
            completion(CaptureIOError(operation: "dup", path: path, code: errno))
            return
        }
        Self.batcher.submit(fd: duplicate, path: path) { error in
            Glibc.close(duplicate)
            completion(error)
        }
    }

    package func truncate(_ fd: Int32, to length: Int64, path: String) throws(CaptureIOError) {
        guard ftruncate(fd, off_t(length)) == 0 else { throw CaptureIOError(operation: "truncate", path: path, code: errno) }
        lseek(fd, off_t(length), SEEK_SET)
    }

    package func close(_ fd: Int32) { _ = Glibc.close(fd) }

    package func rename(_ from: String, _ to: String) throws(CaptureIOError) {
        guard Glibc.rename(from, to) == 0 else { throw CaptureIOError(operation: "rename", path: from, code: errno) }
    }

    package func remove(_ path: String) { unlink(path) }

    package func syncDirectory(_ path: String) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        fsync(fd)
        Glibc.close(fd)
    }
}

/// Gathers periodic syncs of many capture files into rounds on one background queue: a round
/// starts `window` after the first request of it, and when it holds at least `fileSystemThreshold`
/// files of one file system it makes them all durable with one `syncfs(2)` of it (every file was
/// written before it was submitted, so the one call covers each) instead of an `fdatasync` each.
/// A thousand collectors cost a few dozen syncs a second, not a thousand; a few files keep their
/// own `fdatasync`, which does not touch the rest of the file system. Files are grouped by the
/// device `fstat` reports (capture directories can sit on different disks); one whose device is
/// unknown, and every file of a group whose `syncfs` fails, get an `fdatasync` each, so each
/// request still gets its own answer.
package final class SyncBatcher: @unchecked Sendable {
    // @unchecked: `pending` and `scheduled` are guarded by `lock`; the rest is immutable.
    package typealias Completion = @Sendable (CaptureIOError?) -> Void
    struct Request {
        let fd: Int32
        let path: String
        let completion: Completion
    }

    let window: Duration
    let fileSystemThreshold: Int
    /// fdatasync of one file, and syncfs of the file system holding an open file: the system
    /// calls, or a test's recorder. Each returns an errno, or 0.
    let syncFile: @Sendable (Int32) -> Int32
    let syncFileSystem: @Sendable (Int32) -> Int32
    /// The device an open file lives on (nil when unknown): `fstat`'s, or a test's.
    let device: @Sendable (Int32) -> UInt64?
    let queue = DispatchQueue(label: "ferry.capture.fsync", qos: .utility)
    private let lock = Lock()
    private var pending: [Request] = []
    private var scheduled = false

    package init(
        window: Duration = .milliseconds(20), fileSystemThreshold: Int = 8,
        syncFile: @escaping @Sendable (Int32) -> Int32 = { fdatasync($0) == 0 ? 0 : errno },
        syncFileSystem: @escaping @Sendable (Int32) -> Int32 = SyncBatcher.syncfs,
        device: @escaping @Sendable (Int32) -> UInt64? = SyncBatcher.device
    ) {
        self.window = window
        self.fileSystemThreshold = fileSystemThreshold
        self.syncFile = syncFile
        self.syncFileSystem = syncFileSystem
        self.device = device
    }

    /// Syncs `fd` in a coming round and then calls `completion` (on the batcher's queue); `fd`
    /// must stay open until then.
    package func submit(fd: Int32, path: String, completion: @escaping Completion) {
        let startRound = lock.withLock {
            pending.append(Request(fd: fd, path: path, completion: completion))
            defer { scheduled = true }
            return !scheduled
        }
        guard startRound else { return }
        let (seconds, attoseconds) = window.components
        queue.asyncAfter(deadline: .now() + .nanoseconds(Int(seconds) * 1_000_000_000 + Int(attoseconds / 1_000_000_000))) { [self] in round() }
    }

    /// Syncs everything submitted so far (the queue's next round, or a test's direct call).
    func round() {
        let batch = lock.withLock {
            defer {
                pending.removeAll()
                scheduled = false
            }
            return pending
        }
        guard !batch.isEmpty else { return }
        var byDevice: [UInt64: [Request]] = [:]
        var alone: [Request] = []
        for request in batch {
            if let device = device(request.fd) { byDevice[device, default: []].append(request) } else { alone.append(request) }
        }
        for group in byDevice.values.sorted(by: { $0[0].fd < $1[0].fd }) {
            if group.count >= fileSystemThreshold, syncFileSystem(group[0].fd) == 0 {
                for request in group { request.completion(nil) }
            } else {
                alone += group
            }
        }
        for request in alone {
            let code = syncFile(request.fd)
            request.completion(code == 0 ? nil : CaptureIOError(operation: "fsync", path: request.path, code: code))
        }
    }

    package static let device: @Sendable (Int32) -> UInt64? = { fd in
        var status = stat()
        return fstat(fd, &status) == 0 ? UInt64(status.st_dev) : nil
    }

    /// `syncfs(2)`, which the Glibc module does not export: looked up once in the C library.
    /// ENOSYS where it is missing, which sends a round to per-file syncs.
    package static let syncfs: @Sendable (Int32) -> Int32 = {
        typealias SyncFS = @convention(c) (Int32) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "syncfs") else { return { _ in ENOSYS } }
        let function = unsafeBitCast(symbol, to: SyncFS.self)
        return { function($0) == 0 ? 0 : errno }
    }()
}
