import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// Files read and walked without Foundation's FileHandle and directory enumerator.
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
