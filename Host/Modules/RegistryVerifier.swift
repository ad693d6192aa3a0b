import FerryBSON
import FerryModuleSpec
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// `ferry module verify`: checks a whole registry as a machine would, without installing:
/// each module's index (signature by a trusted key, consistency, expiry) and every archive
/// (size, SHA-256, entries, entrypoint present).
public struct RegistryVerifier: Sendable {
    public let source: RegistrySource
    public let trust: [TrustedKey]
    public var now: @Sendable () -> Date = { Date() }

    public init(source: RegistrySource, trust: [TrustedKey]) {
        self.source = source
        self.trust = trust
    }

    public struct Finding: Sendable {
        public var moduleID: String
        /// "index" or "VERSION PLATFORM".
        public var subject: String
        public var problem: String?
        public var detail: String
    }

    /// The module ids the registry lists: its directory's, or `modules.json` over HTTP.
    public func moduleIDs() async throws(RegistryError) -> [ModuleID] {
        if let directory = source.directory { return RegistryPublisher.moduleIDs(inDirectory: directory) }
        let data = try await source.data("modules.json", maxBytes: ModuleRegistryClient.maxIndexBytes)
        guard let listing = try? JSONDecoder().decode([String: [String]].self, from: data), let names = listing["modules"] else {
            throw RegistryError(.invalid, "\(source.display("modules.json")): expected {\"modules\": [\"namespace:name\", …]}")
        }
        var ids: [ModuleID] = []
        for name in names {
            do {
                ids.append(try ModuleID(parsing: name))
            } catch {
                throw RegistryError(.invalid, "\(source.display("modules.json")): \(error)")
            }
        }
        return ids
    }

    public func verify(_ id: ModuleID) async -> [Finding] {
        let path = ModuleRegistryClient.indexPath(id)
        let display = source.display(path)
        let index: ModuleIndex
        let signer: TrustedKey
        do throws(RegistryError) {
            let data = try await source.data(path, maxBytes: ModuleRegistryClient.maxIndexBytes)
            let verified = try SignedEnvelope.decode(data, source: display).verify(trusting: trust, source: display)
            index = try ModuleIndex.decode(verified.payload, source: display)
            signer = verified.signer
        } catch {
            return [Finding(moduleID: id.description, subject: "index", problem: error.message, detail: "")]
        }
        var findings: [Finding] = []
        let expired = index.expires <= now()
        findings.append(
            Finding(
                moduleID: id.description, subject: "index",
                problem: index.moduleID != id.description
                    ? "\(display) is the index of \(index.moduleID)"
                    : expired ? "\(display) expired at \(ISODate.text(index.expires)); re-sign it with `ferry module sign`" : nil,
                detail: "version \(index.version), signed by \(signer.id) (\(signer.source)), expires \(ISODate.text(index.expires))"))
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("ferry-verify-\(UUID().uuidString)").path
        try? FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        for release in index.releases {
            for (platform, archive) in release.archives.sorted(by: { $0.key < $1.key }) {
                let subject = "\(release.version) \(platform)\(release.yanked != nil ? " (yanked)" : "")"
                let file = "\(scratch)/\(UUID().uuidString).tar.gz"
                do throws(RegistryError) {
                    try await source.download(archive.path, to: file, maxBytes: archive.size)
                    let digest = try ModuleCache.sha256(file: file)
                    guard digest == archive.sha256 else {
                        throw RegistryError(.refused, "\(source.display(archive.path)): SHA-256 \(digest) does not match \(archive.sha256) in the signed index")
                    }
                    let entries = try ModuleArchive.inspect(file)
                    try ModuleInstaller.requireFile(archive.entrypoint, in: entries, what: "entrypoint", source: source.display(archive.path))
                    findings.append(Finding(moduleID: id.description, subject: subject, problem: nil, detail: "sha256 \(digest), \(entries.count) entries"))
                } catch {
                    findings.append(Finding(moduleID: id.description, subject: subject, problem: error.message, detail: ""))
                }
                unlink(file)
            }
        }
        return findings
    }
}
