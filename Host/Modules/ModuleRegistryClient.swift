import FerryBSON
import FerryModuleSpec
import Foundation
import Logging

/// What a machine does with a registry: fetch and verify a module's index (signature by a
/// trusted key, expiry, no rollback), resolve a pin for this platform, install what is missing,
/// and, when the registry cannot be had, fall back to the newest cached version the pin accepts.
public struct ModuleRegistryClient: Sendable {
    public let source: RegistrySource?
    public let trust: [TrustedKey]
    public let installer: ModuleInstaller
    public var platform: Platform = .host
    /// The wall clock, for index expiry (tests inject one).
    public var now: @Sendable () -> Date = { Date() }
    let logger: Logger

    /// The largest index accepted: a module with thousands of versions stays far below it.
    public static let maxIndexBytes: Int64 = 8 << 20

    public var cache: ModuleCache { installer.cache }

    public init(source: RegistrySource?, trust: [TrustedKey], installer: ModuleInstaller, logger: Logger = Logger(label: "ferry.modules")) {
        self.source = source
        self.trust = trust
        self.installer = installer
        self.logger = logger
    }

    public struct Acquired: Sendable {
        public var receipt: ModuleCache.Receipt
        public var library: String
        /// Set when the registry was not used and a cached version runs: why.
        public var offlineReason: String?
    }

    public static func indexPath(_ id: ModuleID) -> String { "modules/\(id.relativePath)/index.json" }

    /// The module's index from the registry, verified, and recorded as seen.
    public func fetchIndex(_ id: ModuleID) async throws(RegistryError) -> (index: ModuleIndex, signer: TrustedKey) {
        guard let source else {
            throw RegistryError(.unreachable, "no registry is configured (--registry, FERRY_REGISTRY or the config's ferry.registry)")
        }
        guard !trust.isEmpty else {
            throw RegistryError(.refused, "no trusted key is configured, and registry modules are never used unsigned; give the publisher's public key with --trust KEY.pub (or FERRY_REGISTRY_TRUST, or the config's ferry.registry_trust)")
        }
        let path = Self.indexPath(id)
        let display = source.display(path)
        let data = try await source.data(path, maxBytes: Self.maxIndexBytes)
        let envelope = try SignedEnvelope.decode(data, source: display)
        let (payload, signer) = try envelope.verify(trusting: trust, source: display)
        let index = try ModuleIndex.decode(payload, source: display)
        guard index.moduleID == id.description else {
            throw RegistryError(.refused, "\(display): this is the index of \(index.moduleID), not \(id); the registry serves the wrong file, nothing from it is used")
        }
        let now = now()
        guard index.expires > now else {
            throw RegistryError(
                .refused,
                "\(display): the index expired at \(ISODate.text(index.expires)) (now \(ISODate.text(now))); an index nobody refreshes could hide newer versions (a freeze), so it is refused. The publisher re-signs it with `ferry module sign`")
        }
        try await cache.withLock(id) { () async throws(RegistryError) in
            if let seen = cache.indexState(id) {
                if index.version < seen.indexVersion {
                    throw RegistryError(
                        .refused,
                        "\(display): index version \(index.version) is older than version \(seen.indexVersion) this machine has already seen; an old index replayed (a rollback) is refused. If the registry was rebuilt on purpose, remove \(cache.statePath(id))")
                }
                if index.version == seen.indexVersion, ModuleCache.sha256(data) != seen.indexSHA256 {
                    throw RegistryError(
                        .refused,
                        "\(display): index version \(index.version) differs from the version \(index.version) seen before; a changed index must carry a new version, so it is refused")
                }
            }
            try cache.remember(index, envelope: data, id: id)
        }
        return (index, signer)
    }

    /// Resolves, installs if needed, and returns the plugin library for `id` at `pin`.
    public func acquire(_ id: ModuleID, pin: VersionPin) async throws(RegistryError) -> Acquired {
        let failure: RegistryError
        do throws(RegistryError) {
            let (index, signer) = try await fetchIndex(id)
            let resolved = try index.resolve(pin, platforms: platform.candidates)
            var receipt: ModuleCache.Receipt
            if let installed = cache.receipt(id, resolved.version) {
                if installed.sha256 != resolved.archive.sha256 {
                    logger.warning("\(id) \(resolved.version): the registry's archive (\(resolved.archive.sha256.prefix(12))…) differs from the one installed (\(installed.sha256.prefix(12))…); published versions never change, so the installed one stays. Publish a new version to change it")
                }
                receipt = installed
            } else {
                logger.info("\(id): installing \(resolved.version) (\(resolved.platform)) from \(source!), pinned \(pin)")
                receipt = try await installer.install(
                    .init(id: id, version: resolved.version, platform: resolved.platform, archive: resolved.archive, signer: signer), from: source!)
                logger.info("\(id) \(resolved.version): installed in \(cache.versionDirectory(id, receipt.version)) (sha256 \(receipt.sha256), signed by \(signer.id))")
            }
            return Acquired(receipt: receipt, library: cache.libraryPath(receipt)!, offlineReason: nil)
        } catch {
            failure = error
        }
        // The index is the authority on what exists: no cached fallback around its answer.
        guard failure.kind != .unresolvable else { throw failure }
        let yanked = Set(
            cache.lastIndex(id, trusting: trust)?.releases.filter { $0.yanked != nil }.compactMap { try? SemanticVersion(parsing: $0.version) } ?? [])
        let cached = cache.installed(id).compactMap { receipt in (try? SemanticVersion(parsing: receipt.version)).map { ($0, receipt) } }
            .filter { pin.matches($0.0) && !yanked.contains($0.0) }
        guard let newest = cached.max(by: { $0.0 < $1.0 }) else {
            throw RegistryError(failure.kind, "\(failure.message) (and no cached version of \(id) satisfies \(pin))")
        }
        return Acquired(receipt: newest.1, library: cache.libraryPath(newest.1)!, offlineReason: failure.message)
    }
}

extension ISODate {
    static func text(_ date: Date) -> String { string(Int64((date.timeIntervalSince1970 * 1000).rounded(.down))) }
}
