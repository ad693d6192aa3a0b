import Dispatch
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
            throw CaptureIOError(operation: "create directory", path: path, code: Int32((error as NSError).code == 0 ? EIO : EACCES))
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

    /// One queue for every writer's periodic syncs: fsyncs of one file system serialise in the
    /// journal anyway, and writers coalesce (one in flight each), so it cannot back up.
    static let syncQueue = DispatchQueue(label: "ferry.capture.fsync", qos: .utility)

    package func syncInBackground(_ fd: Int32, path: String, completion: @escaping @Sendable (CaptureIOError?) -> Void) {
        // A duplicate descriptor stays valid even if the writer closes the original meanwhile.
        let duplicate = dup(fd)
        guard duplicate >= 0 else {
            completion(CaptureIOError(operation: "dup", path: path, code: errno))
            return
        }
        Self.syncQueue.async {
            let failed = fdatasync(duplicate) != 0 ? CaptureIOError(operation: "fsync", path: path, code: errno) : nil
            Glibc.close(duplicate)
            completion(failed)
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
