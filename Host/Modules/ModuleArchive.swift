import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Module archives: gzip-compressed tar, as Viam's `module.tar.gz`. Ferry reads and writes the
/// format itself (no `tar` process), so the rules below are checked by the same code that
/// writes the files, with nothing for a second parser to read differently:
///
/// - regular files, directories and symbolic links only (no hard links, devices or FIFOs);
/// - no absolute path and no `..` segment; a link's target is relative and stays inside;
/// - nothing is written through a link, no path appears twice (directories aside);
/// - at most `Limits.maxEntries` entries and `Limits.maxBytes` unpacked.
public enum ModuleArchive {
    public enum Limits {
        public static let maxEntries = 10_000
        public static let maxBytes: Int64 = 1 << 30
    }

    public struct Entry: Sendable, Equatable {
        public enum Kind: Sendable, Equatable {
            case file(size: Int64, executable: Bool)
            case directory
            case symlink(target: String)
        }
        /// Normalised: relative, `/`-separated, no `.` segments, no trailing `/`.
        public var path: String
        public var kind: Kind
    }

    /// Checks every entry of the archive at `path` and lists them; writes nothing.
    public static func inspect(_ path: String) throws(RegistryError) -> [Entry] {
        let reader = TarReader(try GzipReader(path: path))
        var checker = EntryChecker(source: path)
        var entries: [Entry] = []
        while let raw = try reader.next() {
            if let entry = try checker.check(raw) { entries.append(entry) }
        }
        try reader.finish()
        return entries
    }

    /// Unpacks the archive into `directory` (new and empty), fsyncing every file and directory.
    public static func extract(_ path: String, into directory: String) throws(RegistryError) -> [Entry] {
        let reader = TarReader(try GzipReader(path: path))
        var checker = EntryChecker(source: path)
        var entries: [Entry] = []
        var directories: Set<String> = [""]
        func target(_ relative: String) -> String { relative.isEmpty ? directory : directory + "/" + relative }
        func fail(_ what: String, _ relative: String) -> RegistryError {
            RegistryError(.install, "cannot \(what) \(target(relative)): \(String(cString: strerror(errno)))")
        }
        func makeParents(of relative: String) throws(RegistryError) {
            var prefix = ""
            for segment in relative.split(separator: "/").dropLast() {
                prefix = prefix.isEmpty ? String(segment) : prefix + "/" + segment
                if directories.insert(prefix).inserted, mkdir(target(prefix), 0o755) != 0, errno != EEXIST {
                    throw fail("create the directory", prefix)
                }
            }
        }
        while let raw = try reader.next() {
            guard let entry = try checker.check(raw) else { continue }
            try makeParents(of: entry.path)
            switch entry.kind {
            case .directory:
                if directories.insert(entry.path).inserted, mkdir(target(entry.path), 0o755) != 0, errno != EEXIST {
                    throw fail("create the directory", entry.path)
                }
            case .symlink(let destination):
                guard symlink(destination, target(entry.path)) == 0 else { throw fail("create the link", entry.path) }
            case .file(_, let executable):
                let fd = open(target(entry.path), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, executable ? 0o755 : 0o644)
                guard fd >= 0 else { throw fail("create", entry.path) }
                defer { close(fd) }
                try reader.readContents { (bytes) throws(RegistryError) in
                    var offset = 0
                    while offset < bytes.count {
                        let written = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
                        if written < 0 {
                            if errno == EINTR { continue }
                            throw fail("write", entry.path)
                        }
                        offset += written
                    }
                }
                guard fsync(fd) == 0 else { throw fail("fsync", entry.path) }
            }
            entries.append(entry)
        }
        try reader.finish()
        // Directories last, deepest first, so every name they hold is durable too.
        for relative in directories.sorted(by: { $0.count > $1.count }) {
            try FileSync.directory(target(relative))
        }
        return entries
    }

    /// Packs `files` (archive path → file on disk) into a new archive at `destination`, written
    /// beside it first and renamed, so a half-written archive never carries the final name.
    public static func pack(_ files: [(path: String, source: String)], to destination: String) throws(RegistryError) {
        let partial = destination + ".partial"
        defer { unlink(partial) }
        let writer = TarWriter(try GzipWriter(path: partial))
        var written: Set<String> = []
        for (path, source) in files.sorted(by: { $0.path < $1.path }) {
            let segments = path.split(separator: "/", omittingEmptySubsequences: false)
            guard !path.hasPrefix("/"), !segments.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }) else {
                throw RegistryError(.invalid, "cannot pack \"\(path)\": archive paths are relative, without empty, `.` or `..` segments")
            }
            var prefix = ""
            for segment in path.split(separator: "/").dropLast() {
                prefix = prefix.isEmpty ? String(segment) : prefix + "/" + segment
                if written.insert(prefix).inserted { try writer.addDirectory(prefix) }
            }
            var info = stat()
            guard stat(source, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
                throw RegistryError(.invalid, "cannot pack \(source): not a regular file (\(String(cString: strerror(errno))))")
            }
            guard written.insert(path).inserted else { throw RegistryError(.invalid, "\(path) is listed twice") }
            try writer.addFile(path, mode: info.st_mode & 0o111 != 0 ? 0o755 : 0o644, contentsOf: source)
        }
        try writer.finish()
        guard rename(partial, destination) == 0 else {
            throw RegistryError(.invalid, "cannot write \(destination): \(String(cString: strerror(errno)))")
        }
    }
}

/// The rules every entry must pass, in stream order (a link must be known before anything is
/// placed under its name).
struct EntryChecker {
    let source: String
    private var kinds: [String: ModuleArchive.Entry.Kind] = [:]
    private var count = 0
    private var bytes: Int64 = 0

    init(source: String) { self.source = source }

    private func refuse(_ raw: String, _ why: String) -> RegistryError {
        RegistryError(
            .refused,
            "\(source): entry \"\(raw)\" \(why); the archive is refused and nothing from it is installed. Ask the publisher to rebuild it with `ferry module build`")
    }

    mutating func check(_ raw: TarHeaderEntry) throws(RegistryError) -> ModuleArchive.Entry? {
        count += 1
        guard count <= ModuleArchive.Limits.maxEntries else {
            throw refuse(raw.path, "is past the limit of \(ModuleArchive.Limits.maxEntries) entries")
        }
        if raw.path.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) { throw refuse(raw.path, "has a control character in its name") }
        if raw.path.hasPrefix("/") { throw refuse(raw.path, "is an absolute path, which would be written outside the module's directory") }
        var segments: [Substring] = []
        for segment in raw.path.split(separator: "/") where segment != "." {
            if segment == ".." { throw refuse(raw.path, "escapes the module's directory (a \"..\" segment)") }
            segments.append(segment)
        }
        guard !segments.isEmpty else { return nil }  // "./": the module's directory itself
        let path = segments.joined(separator: "/")
        var prefix = ""
        for segment in segments.dropLast() {
            prefix = prefix.isEmpty ? String(segment) : prefix + "/" + segment
            switch kinds[prefix] {
            case .symlink?: throw refuse(raw.path, "lies under the symbolic link \(prefix); nothing is written through a link")
            case .file?: throw refuse(raw.path, "lies under the file \(prefix)")
            case .directory?: break
            case nil: kinds[prefix] = .directory
            }
        }
        let kind: ModuleArchive.Entry.Kind
        switch raw.kind {
        case .file:
            bytes += raw.size
            guard bytes <= ModuleArchive.Limits.maxBytes else {
                throw refuse(raw.path, "takes the unpacked size past \(ModuleArchive.Limits.maxBytes >> 20) MiB")
            }
            kind = .file(size: raw.size, executable: raw.mode & 0o111 != 0)
        case .directory:
            kind = .directory
        case .symlink(let target):
            if target.isEmpty || target.hasPrefix("/") {
                throw refuse(raw.path, "is a symbolic link to \"\(target)\"; links must be relative and stay inside the module")
            }
            var resolved = Array(segments.dropLast())
            for part in target.split(separator: "/") where part != "." {
                if part == ".." {
                    if resolved.isEmpty {
                        throw refuse(raw.path, "is a symbolic link to \"\(target)\", which points outside the module's directory")
                    }
                    resolved.removeLast()
                } else {
                    resolved.append(part)
                }
            }
            kind = .symlink(target: target)
        case .hardLink(let target):
            throw refuse(raw.path, "is a hard link (to \"\(target)\"); pack the file itself")
        case .other(let typeflag):
            throw refuse(raw.path, "is of tar type '\(Character(Unicode.Scalar(typeflag)))' (a device, FIFO or other special file), which a module may not hold")
        }
        if let existing = kinds[path] {
            guard existing == .directory, kind == .directory else { throw refuse(raw.path, "appears twice") }
            return nil
        }
        kinds[path] = kind
        return ModuleArchive.Entry(path: path, kind: kind)
    }
}

/// fsync helpers: a rename is durable only once its directory is synced.
enum FileSync {
    static func directory(_ path: String) throws(RegistryError) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw RegistryError(.install, "cannot open \(path) to fsync it: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw RegistryError(.install, "cannot fsync \(path): \(String(cString: strerror(errno)))") }
    }

    static func file(_ path: String) throws(RegistryError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw RegistryError(.install, "cannot open \(path) to fsync it: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw RegistryError(.install, "cannot fsync \(path): \(String(cString: strerror(errno)))") }
    }

    /// Writes `data` to `path` atomically: a temporary file beside it, fsync, rename, fsync the
    /// directory. Readers see the old contents or the new, never a mix.
    static func writeAtomically(_ data: Data, to path: String, mode: mode_t = 0o644) throws(RegistryError) {
        let temporary = path + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw RegistryError(.install, "cannot write \(path): \(String(cString: strerror(errno)))") }
        var failure: RegistryError?
        data.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    failure = RegistryError(.install, "cannot write \(path): \(String(cString: strerror(errno)))")
                    return
                }
                offset += written
            }
        }
        if failure == nil, fsync(fd) != 0 { failure = RegistryError(.install, "cannot fsync \(path): \(String(cString: strerror(errno)))") }
        close(fd)
        if failure == nil, rename(temporary, path) != 0 {
            failure = RegistryError(.install, "cannot write \(path): \(String(cString: strerror(errno)))")
        }
        if let failure {
            unlink(temporary)
            throw failure
        }
        try directory(URL(fileURLWithPath: path).deletingLastPathComponent().path)
    }
}
