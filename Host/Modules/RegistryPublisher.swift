import FerryBSON
import FerryModuleSpec
import FerrySystem
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Writes a registry directory: archives under `modules/<namespace>/<name>/<version>/`, each
/// module's signed `index.json`, and `modules.json` listing the module ids. Every file is
/// written beside its final name and renamed (archives before the index that names them), under
/// an flock on `<registry>/.lock`, so a registry served while it is published is never seen
/// half-written. A module's index is signed by one key: only its holder publishes that module.
public struct RegistryPublisher {
    public let root: String
    public let key: SigningKey
    public var now: () -> Date = { Date() }

    public init(root: String, key: SigningKey) {
        self.root = URL(fileURLWithPath: root).standardizedFileURL.path
        self.key = key
    }

    public static let defaultLifetimeDays = 90.0

    public struct Published: Sendable {
        public var moduleID: ModuleID
        public var version: SemanticVersion
        public var platform: Platform
        public var archivePath: String
        public var sha256: String
        public var size: Int64
        public var indexVersion: Int
        public var expires: Date
    }

    /// The module id an archive names in its `meta.json`, if it has one at its top.
    public static func meta(inArchive archive: String) throws(RegistryError) -> ModuleMeta? {
        let entries = try ModuleArchive.inspect(archive)
        guard entries.contains(where: { $0.path == ModuleMeta.fileName }) else { return nil }
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("ferry-meta-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        do {
            try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        } catch {
            throw RegistryError(.invalid, "cannot create \(scratch): \(describe(error))")
        }
        _ = try ModuleArchive.extract(archive, into: scratch)
        return try ModuleMeta.load(file: "\(scratch)/\(ModuleMeta.fileName)")
    }

    public func upload(
        archive: String, moduleID: ModuleID, version: SemanticVersion, platform: Platform, meta: ModuleMeta,
        lifetimeDays: Double = defaultLifetimeDays
    ) throws(RegistryError) -> Published {
        let entries = try ModuleArchive.inspect(archive)
        guard let entrypoint = meta.entrypoint, !entrypoint.isEmpty else {
            throw RegistryError(.invalid, "meta.json names no entrypoint; set \"entrypoint\" to the plugin library, e.g. \"lib\(moduleID.name).so\"")
        }
        try Self.requireEntry(entrypoint, in: entries, archive: archive, what: "entrypoint")
        if let firstRun = meta.firstRunProgram {
            try Self.requireEntry(firstRun, in: entries, archive: archive, what: "first_run")
            guard case .file(_, true) = entries.first(where: { $0.path == firstRun })?.kind else {
                throw RegistryError(.invalid, "\(archive): first_run \(firstRun) is not executable; chmod +x it and build again")
            }
        }
        for (field, path) in [("entrypoint", entrypoint), ("first_run", meta.firstRunProgram ?? "x")] where !RelativePath.isSafe(path) {
            throw RegistryError(.invalid, "meta.json \(field) \"\(path)\" must be a relative path of letters, digits, . _ - + and /")
        }
        return try withLock { () throws(RegistryError) -> Published in
            var index = try currentIndex(moduleID) ?? ModuleIndex(moduleID: moduleID, version: 0, expires: now())
            let relative = "modules/\(moduleID.relativePath)/\(version)/\(platform.archiveName)"
            var release: ModuleIndex.Release
            var position: Int?
            if let existing = index.releases.firstIndex(where: { (try? SemanticVersion(parsing: $0.version)) == version }) {
                release = index.releases[existing]
                position = existing
                guard release.version == version.description else {
                    throw RegistryError(.invalid, "\(version) has the precedence of the published \(release.version) (build metadata does not count); choose another version")
                }
                if release.yanked != nil { throw RegistryError(.invalid, "\(moduleID) \(version) was yanked; publish a new version") }
                if release.archives[platform.value] != nil {
                    throw RegistryError(.invalid, "\(moduleID) \(version) is already published for \(platform); published versions never change, so publish a new version (e.g. \(SemanticVersion(version.major, version.minor, version.patch + 1)))")
                }
            } else {
                release = ModuleIndex.Release(version: version.description, published: now(), yanked: nil, models: meta.models, archives: [:])
            }
            let destination = "\(root)/\(relative)"
            try copyAtomically(archive, to: destination)
            let digest = try ModuleCache.sha256(file: destination)
            let size = Files.size(destination) ?? 0
            release.archives[platform.value] = ModuleIndex.Archive(
                path: relative, sha256: digest, size: size, entrypoint: entrypoint, firstRun: meta.firstRunProgram)
            if let position { index.releases[position] = release } else { index.releases.append(release) }
            index.releases.sort { ((try? SemanticVersion(parsing: $0.version)) ?? .zero) < ((try? SemanticVersion(parsing: $1.version)) ?? .zero) }
            index.description = meta.description ?? index.description
            index.url = meta.url ?? index.url
            index.visibility = meta.visibility ?? index.visibility
            let written = try write(&index, lifetimeDays: lifetimeDays)
            return Published(
                moduleID: moduleID, version: version, platform: platform, archivePath: relative, sha256: digest, size: size,
                indexVersion: written.version, expires: written.expires)
        }
    }

    /// Marks a version yanked: machines stop selecting it (an exact pin to it fails, saying why).
    public func yank(_ moduleID: ModuleID, _ version: SemanticVersion, reason: String, lifetimeDays: Double = defaultLifetimeDays) throws(RegistryError) -> ModuleIndex {
        try withLock { () throws(RegistryError) -> ModuleIndex in
            guard var index = try currentIndex(moduleID) else {
                throw RegistryError(.invalid, "\(moduleID) is not in the registry \(root); nothing to yank")
            }
            guard let position = index.releases.firstIndex(where: { (try? SemanticVersion(parsing: $0.version)) == version }) else {
                let have = index.releases.map(\.version).joined(separator: ", ")
                throw RegistryError(.invalid, "\(moduleID) has no version \(version) (published: \(have))")
            }
            guard index.releases[position].yanked == nil else { throw RegistryError(.invalid, "\(moduleID) \(version) is already yanked") }
            index.releases[position].yanked = ModuleIndex.Yank(at: now(), reason: reason)
            return try write(&index, lifetimeDays: lifetimeDays)
        }
    }

    /// Signs the index again with a new expiry (and a new index version): what a publisher
    /// runs before the expiry to keep machines installing.
    public func resign(_ moduleID: ModuleID, lifetimeDays: Double = defaultLifetimeDays) throws(RegistryError) -> ModuleIndex {
        try withLock { () throws(RegistryError) -> ModuleIndex in
            guard var index = try currentIndex(moduleID) else { throw RegistryError(.invalid, "\(moduleID) is not in the registry \(root)") }
            return try write(&index, lifetimeDays: lifetimeDays)
        }
    }

    /// Every module id in a registry directory.
    public static func moduleIDs(inDirectory root: String) -> [ModuleID] {
        let fm = FileManager.default
        var ids: [ModuleID] = []
        for namespace in ((try? fm.contentsOfDirectory(atPath: "\(root)/modules")) ?? []).sorted() {
            for name in ((try? fm.contentsOfDirectory(atPath: "\(root)/modules/\(namespace)")) ?? []).sorted()
            where fm.fileExists(atPath: "\(root)/modules/\(namespace)/\(name)/index.json") {
                if let id = try? ModuleID(parsing: "\(namespace):\(name)") { ids.append(id) }
            }
        }
        return ids
    }

    // MARK: -

    private func currentIndex(_ moduleID: ModuleID) throws(RegistryError) -> ModuleIndex? {
        let path = "\(root)/\(ModuleRegistryClient.indexPath(moduleID))"
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        let envelope = try SignedEnvelope.decode(data, source: path)
        let own = key.publicKey
        let payload: Data
        do {
            payload = try envelope.verify(trusting: [TrustedKey(own.key, source: "your key")], source: path).payload
        } catch {
            let signers = envelope.signatures.map(\.keyid).joined(separator: ", ")
            if envelope.signatures.contains(where: { $0.keyid == own.id }) {
                throw RegistryError(.refused, "\(path) does not verify with your key \(own.id): it was altered after signing; restore it from a backup before publishing")
            }
            throw RegistryError(.refused, "\(moduleID) is published with key \(signers); your key is \(own.id). Only the holder of a module's key publishes it (machines trust that key)")
        }
        return try ModuleIndex.decode(payload, source: path)
    }

    private func write(_ index: inout ModuleIndex, lifetimeDays: Double) throws(RegistryError) -> ModuleIndex {
        guard lifetimeDays > 0, lifetimeDays <= 3650 else {
            throw RegistryError(.invalid, "the index lifetime must be more than 0 and at most 3650 days, not \(lifetimeDays)")
        }
        index.version += 1
        index.expires = Date(timeIntervalSince1970: (now().timeIntervalSince1970 + lifetimeDays * 86_400).rounded(.down))
        let envelope = try SignedEnvelope.sign(index.encoded(), with: key)
        let id = try! ModuleID(parsing: index.moduleID)  // checked when the index was made or decoded
        let path = "\(root)/\(ModuleRegistryClient.indexPath(id))"
        try makeDirectory(URL(fileURLWithPath: path).deletingLastPathComponent().path)
        try FileSync.writeAtomically(envelope.encoded(), to: path)
        let listing = Self.moduleIDs(inDirectory: root).map(\.description)
        try FileSync.writeAtomically(ModuleCache.encode(["modules": listing]), to: "\(root)/modules.json")
        return index
    }

    private func withLock<T>(_ body: () throws(RegistryError) -> T) throws(RegistryError) -> T {
        try makeDirectory(root)
        let path = "\(root)/.lock"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw RegistryError(.invalid, "cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        guard flock(fd, LOCK_EX) == 0 else { throw RegistryError(.invalid, "cannot lock \(path): \(String(cString: strerror(errno)))") }
        return try body()
    }

    private func makeDirectory(_ path: String) throws(RegistryError) {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw RegistryError(.invalid, "cannot create \(path): \(describe(error))")
        }
    }

    /// Copies beside the destination, fsyncs, renames: an unreferenced leftover of a failed
    /// upload is simply replaced (the lock is held and the index does not name it).
    private func copyAtomically(_ source: String, to destination: String) throws(RegistryError) {
        try makeDirectory(URL(fileURLWithPath: destination).deletingLastPathComponent().path)
        let temporary = destination + ".tmp-\(getpid())"
        unlink(temporary)
        do {
            try FileManager.default.copyItem(atPath: source, toPath: temporary)
        } catch {
            throw RegistryError(.invalid, "cannot copy \(source) into the registry: \(describe(error))")
        }
        try FileSync.file(temporary)
        guard rename(temporary, destination) == 0 else {
            unlink(temporary)
            throw RegistryError(.invalid, "cannot write \(destination): \(String(cString: strerror(errno)))")
        }
        try FileSync.directory(URL(fileURLWithPath: destination).deletingLastPathComponent().path)
    }

    static func requireEntry(_ path: String, in entries: [ModuleArchive.Entry], archive: String, what: String) throws(RegistryError) {
        guard let entry = entries.first(where: { $0.path == path }) else {
            let top = entries.map(\.path).prefix(8).joined(separator: ", ")
            throw RegistryError(.invalid, "\(archive) has no \(path), the \(what) meta.json names (it holds: \(top)); build it with `ferry module build`")
        }
        if case .directory = entry.kind { throw RegistryError(.invalid, "\(archive): the \(what) \(path) is a directory") }
    }
}

extension SemanticVersion {
    static let zero = SemanticVersion(0, 0, 0)
}
