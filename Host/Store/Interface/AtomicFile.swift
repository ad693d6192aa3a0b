import Crypto
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Writes a file so that it is either absent or complete and durable: a temp file in the same
/// directory, fsync, rename over the final name, then fsync of the directory so the rename itself
/// survives a power loss. With `replacing: false` an existing file is kept (a hard link instead of
/// a rename, which fails if the name exists), so concurrent first writers agree on one content.
package enum AtomicFile {
    package static func write(_ bytes: [UInt8], to path: String, permissions: mode_t = 0o644, replacing: Bool = true) throws {
        let directory = (path as NSString).deletingLastPathComponent
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw StoreError(.storage, "cannot create the directory \(directory): \(error.localizedDescription)")
        }
        let temporary = "\(directory)/.tmp-\(UUID().uuidString)"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, permissions)
        guard fd >= 0 else { throw ioError("create", temporary) }
        var closed = false
        defer {
            if !closed { close(fd) }
        }
        do {
            try bytes.withUnsafeBytes { buffer in
                var offset = 0
                while offset < buffer.count {
                    let written = posixWrite(fd, buffer.baseAddress! + offset, buffer.count - offset)
                    if written < 0 {
                        if errno == EINTR { continue }
                        throw ioError("write", temporary)
                    }
                    offset += written
                }
            }
            guard fsync(fd) == 0 else { throw ioError("fsync", temporary) }
            closed = true
            guard close(fd) == 0 else { throw ioError("close", temporary) }
            if replacing {
                guard rename(temporary, path) == 0 else { throw ioError("rename to \(path)", temporary) }
            } else {
                guard link(temporary, path) == 0 || errno == EEXIST else { throw ioError("link to \(path)", temporary) }
                unlink(temporary)
            }
        } catch {
            unlink(temporary)
            throw error
        }
        syncDirectory(directory)
    }

    /// Makes a rename durable. Best effort: some file systems refuse fsync on a directory.
    package static func syncDirectory(_ path: String) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = fsync(fd)
        close(fd)
    }

    private static func ioError(_ operation: String, _ path: String) -> StoreError {
        StoreError(
            .storage,
            "cannot \(operation) \(path): \(String(cString: strerror(errno))). Check that the data directory is writable and the disk is not full.")
    }
}

/// The C `write`, which `AtomicFile.write` would shadow inside the enum.
private func posixWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    write(fd, buffer, count)
}

/// A 32-byte secret in a file of its own (0600), made on first use: token signing keys. Two
/// processes making it at once agree on one (the first link wins and both read it back).
package enum SecretFile {
    package static func loadOrCreate(_ path: String) throws -> [UInt8] {
        if let data = FileManager.default.contents(atPath: path), data.count == 32 { return [UInt8](data) }
        let fresh = SymmetricKey(size: .bits256).withUnsafeBytes { [UInt8]($0) }
        try AtomicFile.write(fresh, to: path, permissions: 0o600, replacing: false)
        guard let data = FileManager.default.contents(atPath: path), data.count == 32 else {
            throw StoreError(.storage, "the secret \(path) is not 32 bytes; delete it to make a new one (tokens signed with it stop working)")
        }
        return [UInt8](data)
    }
}
