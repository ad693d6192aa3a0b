import FerryModuleSpec
import FerrySystem
import Foundation
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// Installs one archive into the cache, atomically: download to a temporary file, check size
/// and SHA-256 against the signed index, unpack (refusing unsafe entries) into a temporary
/// directory, fsync, rename to `<version>/`, run `first_run` once, check the plugin loads,
/// then write the receipt. Until the receipt exists the version is not installed; whatever an
/// interruption leaves is removed by the next install, which starts over.
public struct ModuleInstaller: Sendable {
    public let cache: ModuleCache
    /// Runs after unpacking, before the receipt: a message when the plugin does not load (ferry
    /// passes `ferry plugin inspect` in a child process, so a crashing plugin never takes the
    /// host down while installing).
    public var loadCheck: (@Sendable (String) async -> String?)?
    /// How long `first_run` may take.
    public var firstRunTimeout: Duration = .seconds(600)
    let logger: Logger

    public init(cache: ModuleCache, loadCheck: (@Sendable (String) async -> String?)? = nil, logger: Logger = Logger(label: "ferry.modules")) {
        self.cache = cache
        self.loadCheck = loadCheck
        self.logger = logger
    }

    public struct Verified: Sendable {
        public var id: ModuleID
        public var version: SemanticVersion
        public var platform: Platform
        public var archive: ModuleIndex.Archive
        public var signer: TrustedKey
    }

    public func install(_ item: Verified, from source: RegistrySource) async throws(RegistryError) -> ModuleCache.Receipt {
        let id = item.id
        return try await cache.withLock(id) { () async throws(RegistryError) -> ModuleCache.Receipt in
            let leftovers = cache.removeInterrupted(id)
            if !leftovers.isEmpty {
                logger.warning("\(id): removed what an interrupted install left in \(cache.directory(id)): \(leftovers.joined(separator: ", ")); installing again from the start")
            }
            if let existing = cache.receipt(id, item.version) { return existing }
            let token = "\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            let download = "\(cache.directory(id))/.download-\(token).tar.gz"
            let partial = "\(cache.directory(id))/.partial-\(item.version)-\(token)"
            let final = cache.versionDirectory(id, item.version.description)
            defer {
                unlink(download)
                try? FileManager.default.removeItem(atPath: partial)
            }
            let location = source.display(item.archive.path)
            try await source.download(item.archive.path, to: download, maxBytes: item.archive.size)
            let size = Files.size(download) ?? -1
            guard size == item.archive.size else {
                throw RegistryError(.refused, "\(location): \(size) bytes, but the signed index says \(item.archive.size); the archive was altered or cut short, nothing was installed. Ask the publisher to check the registry (`ferry module verify`)")
            }
            let digest = try ModuleCache.sha256(file: download)
            guard digest == item.archive.sha256 else {
                throw RegistryError(.refused, "\(location): SHA-256 \(digest) does not match \(item.archive.sha256) in the index signed by \(item.signer.id); the archive was altered or damaged, nothing was installed. Ask the publisher to check the registry (`ferry module verify`)")
            }
            try cache.makeDirectory(partial)
            let entries = try ModuleArchive.extract(download, into: partial)
            try Self.requireFile(item.archive.entrypoint, in: entries, what: "entrypoint", source: location)
            if let firstRun = item.archive.firstRun { try Self.requireFile(firstRun, in: entries, what: "first_run", source: location) }
            guard rename(partial, final) == 0 else {
                throw RegistryError(.install, "cannot move \(partial) to \(final): \(String(cString: strerror(errno)))")
            }
            try FileSync.directory(cache.directory(id))
            do throws(RegistryError) {
                if let firstRun = item.archive.firstRun { try await runFirstRun(firstRun, in: final, id: id, version: item.version) }
                if let loadCheck, let problem = await loadCheck("\(final)/\(item.archive.entrypoint)") {
                    throw RegistryError(.install, "\(id) \(item.version): the plugin does not load: \(problem)")
                }
            } catch {
                try? FileManager.default.removeItem(atPath: final)
                throw error
            }
            let receipt = ModuleCache.Receipt(
                moduleID: id.description, version: item.version.description, platform: item.platform.value, sha256: digest,
                size: size, signer: item.signer.id, signerSource: item.signer.source, registry: source.description,
                installedAt: Date(), entrypoint: item.archive.entrypoint, firstRun: item.archive.firstRun)
            try cache.writeReceipt(receipt, id: id)
            return receipt
        }
    }

    static func requireFile(_ path: String, in entries: [ModuleArchive.Entry], what: String, source: String) throws(RegistryError) {
        guard let entry = entries.first(where: { $0.path == path }) else {
            throw RegistryError(.refused, "\(source): the \(what) \(path) named by the index is not in the archive; nothing was installed")
        }
        if case .directory = entry.kind {
            throw RegistryError(.refused, "\(source): the \(what) \(path) is a directory; nothing was installed")
        }
    }

    /// Viam's `first_run`: a setup program from the archive, run once in the module's directory
    /// before its first start. Its output goes to the log; a failure undoes the install.
    func runFirstRun(_ program: String, in directory: String, id: ModuleID, version: SemanticVersion) async throws(RegistryError) {
        var environment = ProcessInfo.processInfo.environment
        environment["FERRY_MODULE_ID"] = id.description
        environment["FERRY_MODULE_VERSION"] = version.description
        environment["FERRY_MODULE_DIR"] = directory
        logger.info("\(id) \(version): running first_run \(program)")
        let outcome: ChildProcess.Outcome
        do {
            outcome = try await ChildProcess.run(
                "\(directory)/\(program)", directory: directory, environment: environment, timeout: firstRunTimeout)
        } catch {
            throw RegistryError(.install, "\(id) \(version): cannot run first_run \(program): \(error) (is it executable?)")
        }
        let text = String(decoding: outcome.output, as: UTF8.self)
        let tail = text.split(separator: "\n").suffix(5).joined(separator: " | ")
        if !text.isEmpty { logger.info("\(id) \(version): first_run said: \(tail)") }
        let how: String
        switch outcome.termination {
        case .exited(0): return
        case .exited(let status): how = "exited with \(status)"
        case .signalled(let signal): how = "was killed by signal \(signal)"
        case .timedOut:
            throw RegistryError(.install, "\(id) \(version): first_run \(program) ran past \(firstRunTimeout) and was stopped; the install is undone")
        }
        throw RegistryError(.install, "\(id) \(version): first_run \(program) \(how)\(tail.isEmpty ? "" : ": \(tail)"); the install is undone and retried later")
    }
}
