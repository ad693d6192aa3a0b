import Crypto
import FerryBSON
import FerryClock
import FerryModuleSpec
import FerrySystem
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A machine's installed modules. Layout (every name under `<namespace>/<name>/`):
///
///     <version>/                 the unpacked archive, exactly as packed
///     <version>.installed.json   the receipt: written last, so its presence means "installed"
///     index.json                 the last index that verified (signature, expiry, rollback)
///     index-state.json           the highest index version seen, against rollback
///     .lock                      held while installing or recording an index
///     .partial-* .download-*     an install in progress; removed by the next one if left over
///
/// A version directory without a receipt is an interrupted install: never loaded, removed and
/// installed again from the start.
public struct ModuleCache: Sendable {
    public let root: String

    public init(root: String) { self.root = URL(fileURLWithPath: root).standardizedFileURL.path }

    public struct Receipt: Codable, Sendable, Equatable {
        public var moduleID: String
        public var version: String
        public var platform: String
        public var sha256: String
        public var size: Int64
        /// The key id that signed the index the archive was verified against.
        public var signer: String
        public var signerSource: String
        public var registry: String
        public var installedAt: Date
        public var entrypoint: String
        public var firstRun: String?

        enum CodingKeys: String, CodingKey {
            case moduleID = "module_id"
            case version, platform, sha256, size, signer
            case signerSource = "signer_source"
            case registry
            case installedAt = "installed_at"
            case entrypoint
            case firstRun = "first_run"
        }
    }

    public struct IndexState: Codable, Sendable, Equatable {
        public var indexVersion: Int
        public var indexSHA256: String
        public var expires: Date

        enum CodingKeys: String, CodingKey {
            case indexVersion = "index_version"
            case indexSHA256 = "index_sha256"
            case expires
        }
    }

    // MARK: Paths

    public func directory(_ id: ModuleID) -> String { "\(root)/\(id.relativePath)" }
    public func versionDirectory(_ id: ModuleID, _ version: String) -> String { "\(directory(id))/\(version)" }
    func receiptPath(_ id: ModuleID, _ version: String) -> String { "\(directory(id))/\(version).installed.json" }
    func statePath(_ id: ModuleID) -> String { "\(directory(id))/index-state.json" }
    func indexPath(_ id: ModuleID) -> String { "\(directory(id))/index.json" }

    public func libraryPath(_ receipt: Receipt) -> String? {
        guard let id = try? ModuleID(parsing: receipt.moduleID) else { return nil }
        return "\(versionDirectory(id, receipt.version))/\(receipt.entrypoint)"
    }

    // MARK: Reading

    /// Installed versions of one module: a receipt and its directory both present.
    public func installed(_ id: ModuleID) -> [Receipt] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory(id))) ?? []
        return names.filter { $0.hasSuffix(".installed.json") }.sorted().compactMap { name in
            guard let data = FileManager.default.contents(atPath: "\(directory(id))/\(name)"),
                let receipt = try? Self.decoder.decode(Receipt.self, from: data), receipt.moduleID == id.description,
                "\(receipt.version).installed.json" == name
            else { return nil }
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: versionDirectory(id, receipt.version), isDirectory: &isDirectory),
                isDirectory.boolValue
            else { return nil }
            return receipt
        }
    }

    /// Every installed version of every module, by module id then version.
    public func allInstalled() -> [Receipt] {
        let fm = FileManager.default
        var receipts: [Receipt] = []
        for namespace in ((try? fm.contentsOfDirectory(atPath: root)) ?? []).sorted() where !namespace.hasPrefix(".") {
            for name in ((try? fm.contentsOfDirectory(atPath: "\(root)/\(namespace)")) ?? []).sorted() where !name.hasPrefix(".") {
                guard let id = try? ModuleID(parsing: "\(namespace):\(name)") else { continue }
                receipts += installed(id).sorted {
                    ((try? SemanticVersion(parsing: $0.version)) ?? SemanticVersion(0, 0, 0))
                        < ((try? SemanticVersion(parsing: $1.version)) ?? SemanticVersion(0, 0, 0))
                }
            }
        }
        return receipts
    }

    public func receipt(_ id: ModuleID, _ version: SemanticVersion) -> Receipt? {
        installed(id).first { (try? SemanticVersion(parsing: $0.version)) == version }
    }

    public func indexState(_ id: ModuleID) -> IndexState? {
        FileManager.default.contents(atPath: statePath(id)).flatMap { try? Self.decoder.decode(IndexState.self, from: $0) }
    }

    /// The last index that verified, checked again against `keys` (its expiry aside): what an
    /// offline machine knows of yanks.
    func lastIndex(_ id: ModuleID, trusting keys: [TrustedKey]) -> ModuleIndex? {
        guard let data = FileManager.default.contents(atPath: indexPath(id)),
            let envelope = try? SignedEnvelope.decode(data, source: indexPath(id)),
            let payload = try? envelope.verify(trusting: keys, source: indexPath(id)).payload
        else { return nil }
        return try? ModuleIndex.decode(payload, source: indexPath(id))
    }

    // MARK: Writing (callers hold the module's lock)

    /// Records an index that verified: its version (against rollback) and the envelope itself.
    func remember(_ index: ModuleIndex, envelope: Data, id: ModuleID) throws(RegistryError) {
        try makeDirectory(directory(id))
        let state = IndexState(indexVersion: index.version, indexSHA256: Self.sha256(envelope), expires: index.expires)
        try FileSync.writeAtomically(envelope, to: indexPath(id))
        try FileSync.writeAtomically(Self.encode(state), to: statePath(id))
    }

    func writeReceipt(_ receipt: Receipt, id: ModuleID) throws(RegistryError) {
        try FileSync.writeAtomically(Self.encode(receipt), to: receiptPath(id, receipt.version))
    }

    /// Removes what interrupted installs left: partial downloads and unpackings, version
    /// directories without a receipt, receipts without a directory.
    func removeInterrupted(_ id: ModuleID) -> [String] {
        let fm = FileManager.default
        let base = directory(id)
        var removed: [String] = []
        let names = (try? fm.contentsOfDirectory(atPath: base)) ?? []
        let receipts = Set(names.filter { $0.hasSuffix(".installed.json") }.map { String($0.dropLast(".installed.json".count)) })
        for name in names {
            var isDirectory: ObjCBool = false
            _ = fm.fileExists(atPath: "\(base)/\(name)", isDirectory: &isDirectory)
            let leftover =
                name.hasPrefix(".partial-") || name.hasPrefix(".download-") || name.firstRange(of: ".tmp-") != nil
                || (isDirectory.boolValue && !name.hasPrefix(".") && !receipts.contains(name))
                || (name.hasSuffix(".installed.json") && !names.contains(String(name.dropLast(".installed.json".count))))
            if leftover, (try? fm.removeItem(atPath: "\(base)/\(name)")) != nil { removed.append(name) }
        }
        if !removed.isEmpty { try? FileSync.directory(base) }
        return removed
    }

    func makeDirectory(_ path: String) throws(RegistryError) {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw RegistryError(.install, "cannot create the module cache directory \(path): \(describe(error))")
        }
    }

    /// Holds `<module>/.lock` (an flock, so other processes on this cache wait too) around `body`.
    func withLock<T>(_ id: ModuleID, _ body: () async throws(RegistryError) -> T) async throws(RegistryError) -> T {
        try makeDirectory(directory(id))
        let path = "\(directory(id))/.lock"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw RegistryError(.install, "cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR else {
                throw RegistryError(.install, "cannot lock \(path): \(String(cString: strerror(errno)))")
            }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return try await body()
    }

    // MARK: Coding

    static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .rfc3339
        return decoder
    }()

    static func encode(_ value: some Encodable) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .rfc3339
        return ((try? encoder.encode(value)) ?? Data()) + Data("\n".utf8)
    }

    static func sha256(_ data: Data) -> String { Hex.encode(SHA256.hash(data: data)) }

    /// The SHA-256 of a file, read in chunks.
    static func sha256(file path: String) throws(RegistryError) -> String {
        var hasher = SHA256()
        guard Files.readChunks(path, { hasher.update(data: $0) }) else {
            throw RegistryError(.install, "cannot read \(path): \(String(cString: strerror(errno)))")
        }
        return Hex.encode(hasher.finalize())
    }
}
