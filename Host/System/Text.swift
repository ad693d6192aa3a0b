import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

// What the host took from Foundation's NSString and formatters, on plain Strings.

/// File paths as text (what NSString's path methods did), for paths the host builds itself.
package enum FilePaths {
    /// `directory/name`; `name` alone when `directory` is empty.
    package static func join(_ directory: String, _ name: String) -> String {
        directory.isEmpty ? name : directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }

    /// The directory holding `path`: "/a/b" → "/a", "/a" → "/", "a" → "".
    package static func parent(_ path: String) -> String {
        let trimmed = trimmingTrailingSlashes(path)
        guard let slash = trimmed.lastIndex(of: "/") else { return "" }
        return slash == trimmed.startIndex ? "/" : trimmingTrailingSlashes(String(trimmed[..<slash]))
    }

    /// The last component: "/a/b.txt" → "b.txt".
    package static func name(_ path: String) -> String {
        let trimmed = trimmingTrailingSlashes(path)
        guard let slash = trimmed.lastIndex(of: "/"), trimmed != "/" else { return trimmed }
        return String(trimmed[trimmed.index(after: slash)...])
    }

    /// The last component's extension without its dot ("b.tar.gz" → "gz"; "b", ".hidden" → "").
    package static func `extension`(_ path: String) -> String {
        let name = name(path)
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return "" }
        return String(name[name.index(after: dot)...])
    }

    /// `path` without its last component's extension ("/a/b.txt" → "/a/b").
    package static func removingExtension(_ path: String) -> String {
        let ext = `extension`(path)
        let trimmed = trimmingTrailingSlashes(path)
        return ext.isEmpty ? trimmed : String(trimmed.dropLast(ext.count + 1))
    }

    private static func trimmingTrailingSlashes(_ path: String) -> String {
        var path = Substring(path)
        while path.count > 1, path.hasSuffix("/") { path = path.dropLast() }
        return String(path)
    }
}

extension StringProtocol {
    /// Without leading and trailing whitespace (spaces, tabs, newlines).
    package var trimmedWhitespace: String {
        String(drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}

/// `value` with one digit after the point ("%.1f"), for durations in messages.
package func oneDecimal(_ value: Double) -> String {
    guard value.isFinite else { return "\(value)" }
    let tenths = Int((abs(value) * 10).rounded(.toNearestOrEven))
    return "\(value < 0 && tenths > 0 ? "-" : "")\(tenths / 10).\(tenths % 10)"
}

/// An error as a sentence: a file system error as its path and the system's reason, rather than
/// the type's dump (Foundation's `localizedDescription` without Foundation).
package func describe(_ error: any Error) -> String {
    if let error = error as? CocoaError {
        let reason = (error.underlying as? POSIXError).map { String(cString: strerror($0.code.rawValue)) } ?? "error \(error.code.rawValue)"
        return error.filePath.map { "\($0): \(reason)" } ?? reason
    }
    if let error = error as? POSIXError { return String(cString: strerror(error.code.rawValue)) }
    return "\(error)"
}

/// `text` with its %XX escapes decoded as UTF-8; nil for a bad escape or bytes that are not UTF-8.
package func percentDecoded(_ text: some StringProtocol) -> String? {
    var bytes: [UInt8] = []
    var utf8 = text.utf8.makeIterator()
    while let byte = utf8.next() {
        guard byte == UInt8(ascii: "%") else {
            bytes.append(byte)
            continue
        }
        guard let high = utf8.next().flatMap(hexValue), let low = utf8.next().flatMap(hexValue) else { return nil }
        bytes.append(high << 4 | low)
    }
    return String(validating: bytes, as: UTF8.self)
}

private func hexValue(_ byte: UInt8) -> UInt8? {
    switch byte {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
    default: nil
    }
}

/// Writes `text` to stderr whole (retrying short writes), with no buffering in between.
package func writeToStandardError(_ text: String) {
    var bytes = Array(text.utf8)[...]
    while !bytes.isEmpty {
        let written = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
        if written < 0, errno == EINTR { continue }
        guard written > 0 else { return }
        bytes = bytes.dropFirst(written)
    }
}

/// Files read without Foundation's FileHandle.
package enum Files {
    /// The file's size and modification time as one string, to tell when it has changed (nil
    /// when there is none).
    package static func version(_ path: String) -> String? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return "\(info.st_size) \(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec)"
    }

    /// The size of the file at `path` (stat), or nil when there is none.
    package static func size(_ path: String) -> Int64? {
        var info = stat()
        return stat(path, &info) == 0 ? Int64(info.st_size) : nil
    }

    /// Calls `body` with each chunk of the file at `path`, in order, to its end (or to a read
    /// error). False when the file cannot be opened: errno says why.
    package static func readChunks<E: Error>(_ path: String, chunkSize: Int = 1 << 20, _ body: ([UInt8]) throws(E) -> Void) throws(E) -> Bool {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var chunk = [UInt8](repeating: 0, count: chunkSize)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { return true }
            try body(count == chunkSize ? chunk : Array(chunk[..<count]))
        }
    }
}

extension Files {
    /// One entry of `walk`: its path relative to the root, and what lstat(2) says of it.
    package struct Entry: Sendable {
        package var relative: String
        package var isDirectory: Bool
        package var isRegularFile: Bool
        package var size: Int64
        /// Last modification, in seconds since 1970.
        package var modified: Double
        /// Directories below the root: 1 for the root's own entries.
        package var level: Int
    }

    /// Every entry under `root`, depth first, a directory before what it holds (Foundation's
    /// directory enumerator without Foundation); links are not followed. `descend` says whether
    /// to go into a directory. Nil when `root` cannot be read.
    package static func walk(_ root: String, descend: (Entry) -> Bool = { _ in true }) -> [Entry]? {
        guard let top = opendir(root) else { return nil }
        var entries: [Entry] = []
        func visit(_ directory: OpaquePointer, _ prefix: String, _ level: Int) {
            defer { closedir(directory) }
            while let item = readdir(directory) {
                let name = withUnsafeBytes(of: item.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
                if name == "." || name == ".." { continue }
                let relative = prefix.isEmpty ? name : prefix + "/" + name
                var info = stat()
                guard lstat(FilePaths.join(root, relative), &info) == 0 else { continue }
                let kind = info.st_mode & S_IFMT
                let entry = Entry(
                    relative: relative, isDirectory: kind == S_IFDIR, isRegularFile: kind == S_IFREG, size: Int64(info.st_size),
                    modified: Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9, level: level)
                entries.append(entry)
                if entry.isDirectory, descend(entry), let inner = opendir(FilePaths.join(root, relative)) { visit(inner, relative, level + 1) }
            }
        }
        visit(top, "", 1)
        return entries
    }
}
