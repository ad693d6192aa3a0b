import FerryCaptureFile
import FerrySystem
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Keeps two hosts off one capture directory: both would "recover" each other's open files.
/// An flock on `<capture_dir>/.ferry.lock`, released when the process dies (even by SIGKILL).
final class CaptureDirectoryLock {
    let fd: Int32

    struct Held: Error, CustomStringConvertible {
        var captureDir: String
        var owner: String
        var description: String {
            "capture_dir \(captureDir) is in use by another ferry run (\(owner)); stop it or give this machine its own capture_dir"
        }
    }

    init(captureDir: String) throws {
        try FileManager.default.createDirectory(atPath: captureDir, withIntermediateDirectories: true)
        let path = URL(fileURLWithPath: captureDir).appendingPathComponent(".ferry.lock").path
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw CaptureIOError(operation: "open", path: path, code: errno) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let owner = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmedWhitespace
            Glibc.close(fd)
            throw Held(captureDir: captureDir, owner: owner.map { "pid \($0)" } ?? "unknown pid")
        }
        ftruncate(fd, 0)
        let pid = "\(getpid())\n"
        _ = pid.withCString { Glibc.write(fd, $0, strlen($0)) }
    }

    deinit { Glibc.close(fd) }
}
