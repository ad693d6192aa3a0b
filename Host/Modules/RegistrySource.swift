import Foundation
import NIOCore

#if canImport(Glibc)
    import Glibc
#endif

/// Where a registry is: a directory (a path or a `file://` URL) or an HTTP(S) server serving
/// the same layout. Reads only; publishing writes a directory (`RegistryPublisher`).
public struct RegistrySource: Sendable, CustomStringConvertible {
    public enum Location: Sendable, Equatable {
        case directory(String)
        case http(URL)
    }

    public let location: Location
    /// A PEM file of certificates to trust for an https:// registry (besides the system's).
    public let caFile: String?

    public init(_ text: String, caFile: String? = nil) throws(RegistryError) {
        self.caFile = caFile
        let lower = text.lowercased()
        if lower.hasPrefix("http://") || lower.hasPrefix("https://") {
            guard let url = URL(string: text.hasSuffix("/") ? String(text.dropLast()) : text), url.host != nil else {
                throw RegistryError(.invalid, "\"\(text)\" is not a registry URL; write https://HOST[:PORT][/PATH]")
            }
            location = .http(url)
        } else if lower.hasPrefix("file://") {
            guard let url = URL(string: text), url.isFileURL, !url.path.isEmpty else {
                throw RegistryError(.invalid, "\"\(text)\" is not a file:// URL; write file:///path/to/registry")
            }
            location = .directory(url.path)
        } else if lower.firstRange(of: "://") != nil {
            throw RegistryError(.invalid, "\"\(text)\": a registry is a directory, a file:// URL or an http(s):// URL")
        } else {
            guard !text.isEmpty else { throw RegistryError(.invalid, "the registry is empty; give a directory or an https:// URL") }
            location = .directory(URL(fileURLWithPath: text).standardizedFileURL.path)
        }
    }

    public var description: String {
        switch location {
        case .directory(let path): path
        case .http(let url): url.absoluteString
        }
    }

    /// The registry's directory, when it is one (publishing needs one).
    public var directory: String? {
        if case .directory(let path) = location { return path }
        return nil
    }

    func display(_ relative: String) -> String {
        switch location {
        case .directory(let path): "\(path)/\(relative)"
        case .http(let url): "\(url.absoluteString)/\(relative)"
        }
    }

    /// A small file held in memory (an index), at most `maxBytes`.
    public func data(_ relative: String, maxBytes: Int64) async throws(RegistryError) -> Data {
        var data = Data()
        try await fetch(relative, maxBytes: maxBytes) { (buffer) throws(RegistryError) in data.append(contentsOf: buffer.readableBytesView) }
        return data
    }

    /// A file copied to `destination` (created; it must not exist), at most `maxBytes`.
    public func download(_ relative: String, to destination: String, maxBytes: Int64) async throws(RegistryError) {
        let fd = open(destination, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw RegistryError(.install, "cannot create \(destination): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        try await fetch(relative, maxBytes: maxBytes) { (buffer) throws(RegistryError) in
            try buffer.withUnsafeReadableBytes { (bytes) throws(RegistryError) in
                var offset = 0
                while offset < bytes.count {
                    let written = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
                    if written < 0 {
                        if errno == EINTR { continue }
                        throw RegistryError(.install, "cannot write \(destination): \(String(cString: strerror(errno)))")
                    }
                    offset += written
                }
            }
        }
        guard fsync(fd) == 0 else { throw RegistryError(.install, "cannot fsync \(destination): \(String(cString: strerror(errno)))") }
    }

    private func fetch(_ relative: String, maxBytes: Int64, sink: (ByteBuffer) throws(RegistryError) -> Void) async throws(RegistryError) {
        guard RelativePath.isSafe(relative) else {
            throw RegistryError(.refused, "\"\(relative)\" is not a safe path inside the registry; refused")
        }
        switch location {
        case .directory(let root):
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: root, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw RegistryError(.unreachable, "the registry directory \(root) does not exist (or is not mounted)")
            }
            let path = "\(root)/\(relative)"
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else {
                let reason = String(cString: strerror(errno))
                throw RegistryError(errno == ENOENT ? .notFound : .unreachable, "cannot read \(path): \(reason)")
            }
            defer { close(fd) }
            var buffer = ByteBufferAllocator().buffer(capacity: 64 * 1024)
            var total: Int64 = 0
            while true {
                buffer.clear()
                var failed: Int32 = 0
                let count = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: 64 * 1024) { bytes in
                    let got = read(fd, bytes.baseAddress, bytes.count)
                    if got < 0 { failed = errno }
                    return max(0, got)
                }
                if failed == EINTR { continue }
                if failed != 0 { throw RegistryError(.unreachable, "cannot read \(path): \(String(cString: strerror(failed)))") }
                if count == 0 { break }
                total += Int64(count)
                if total > maxBytes { throw RegistryError(.refused, "\(path) is larger than the \(maxBytes) bytes expected; refused") }
                try sink(buffer)
            }
        case .http(let base):
            let url = base.appendingPathComponent(relative)
            let status = try await HTTPFetch.get(url, caFile: caFile, maxBytes: maxBytes, sink: sink)
            switch status {
            case 200: return
            case 404, 410: throw RegistryError(.notFound, "\(url): HTTP \(status), not in the registry")
            default: throw RegistryError(.unreachable, "\(url): HTTP \(status)")
            }
        }
    }
}
