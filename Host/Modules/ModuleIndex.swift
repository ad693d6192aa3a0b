import FerryBSON
import FerryClock
import FerryModuleSpec
import Foundation

/// One module's signed index: every published version, its archive per platform with size and
/// SHA-256, yanks, an index version that only grows and an expiry. It travels inside a
/// `SignedEnvelope` at `modules/<namespace>/<name>/index.json` in the registry.
public struct ModuleIndex: Codable, Sendable, Equatable {
    public var type = Self.typeName
    public var specVersion = 1
    public var moduleID: String
    /// Raised by every change; a machine refuses an index older than one it has seen (rollback).
    public var version: Int
    /// After this a machine refuses the index (freeze): the publisher re-signs it to extend.
    public var expires: Date
    public var description: String?
    public var url: String?
    public var visibility: String?
    public var releases: [Release]

    public struct Release: Codable, Sendable, Equatable {
        public var version: String
        public var published: Date
        public var yanked: Yank?
        public var models: [ModuleMeta.Model]?
        /// Keyed by platform: `linux/amd64`, `any`, …
        public var archives: [String: Archive]

        enum CodingKeys: String, CodingKey { case version, published, yanked, models, archives }
    }

    public struct Archive: Codable, Sendable, Equatable {
        /// Relative to the registry root, e.g. `modules/acme/tmp117/1.2.0/linux-amd64.tar.gz`.
        public var path: String
        public var sha256: String
        public var size: Int64
        /// The plugin library inside the archive.
        public var entrypoint: String
        /// A setup program inside the archive, run once after unpacking; nil for none.
        public var firstRun: String?

        enum CodingKeys: String, CodingKey {
            case path, sha256, size, entrypoint
            case firstRun = "first_run"
        }
    }

    public struct Yank: Codable, Sendable, Equatable {
        public var at: Date
        public var reason: String
    }

    enum CodingKeys: String, CodingKey {
        case type = "_type"
        case specVersion = "spec_version"
        case moduleID = "module_id"
        case version, expires, description, url, visibility
        case releases = "versions"
    }

    public static let typeName = "ferry.module-index"

    public init(moduleID: ModuleID, version: Int, expires: Date) {
        self.moduleID = moduleID.description
        self.version = version
        self.expires = expires
        releases = []
    }

    // MARK: Encoding

    public func encoded() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .rfc3339
        return (try? encoder.encode(self)) ?? Data()
    }

    /// Decodes and checks an index's own consistency (ids, versions, platforms, paths, digests).
    public static func decode(_ data: Data, source: String) throws(RegistryError) -> ModuleIndex {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .rfc3339
        let index: ModuleIndex
        do {
            index = try decoder.decode(ModuleIndex.self, from: data)
        } catch {
            throw RegistryError(.refused, "\(source): the signed index is malformed: \(JSONProblem.describe(error)); ask its publisher to upload again")
        }
        try index.validate(source: source)
        return index
    }

    func validate(source: String) throws(RegistryError) {
        func fail(_ path: String, _ message: String) -> RegistryError {
            RegistryError(.refused, "\(source): \(path): \(message); the index is not usable, ask its publisher to fix the registry")
        }
        guard type == Self.typeName else { throw fail("_type", "is \"\(type)\", expected \"\(Self.typeName)\"") }
        guard specVersion == 1 else { throw fail("spec_version", "\(specVersion) is newer than this ferry understands (1); upgrade ferry") }
        guard (try? ModuleID(parsing: moduleID)) != nil else { throw fail("module_id", "\"\(moduleID)\" is not a module id") }
        guard version >= 1 else { throw fail("version", "must be 1 or more") }
        var seen: [SemanticVersion: Int] = [:]
        for (i, release) in releases.enumerated() {
            let at = "versions[\(i)]"
            let parsed: SemanticVersion
            do throws(SemanticVersion.ParseError) {
                parsed = try SemanticVersion(parsing: release.version)
            } catch {
                throw fail("\(at).version", error.description)
            }
            if let first = seen[parsed] { throw fail("\(at).version", "\(release.version) has the precedence of versions[\(first)] already") }
            seen[parsed] = i
            for (platform, archive) in release.archives {
                let here = "\(at).archives.\(platform)"
                guard (try? Platform(parsing: platform)) != nil else { throw fail(here, "\"\(platform)\" is not a platform") }
                guard RelativePath.isSafe(archive.path) else { throw fail("\(here).path", "\"\(archive.path)\" is not a safe relative path") }
                guard archive.sha256.count == 64, Hex.isLowercaseHex(archive.sha256) else {
                    throw fail("\(here).sha256", "must be 64 lowercase hex digits")
                }
                guard archive.size >= 0 else { throw fail("\(here).size", "must be 0 or more") }
                guard RelativePath.isSafe(archive.entrypoint) else {
                    throw fail("\(here).entrypoint", "\"\(archive.entrypoint)\" is not a safe relative path")
                }
                if let firstRun = archive.firstRun, !RelativePath.isSafe(firstRun) {
                    throw fail("\(here).first_run", "\"\(firstRun)\" is not a safe relative path")
                }
            }
        }
    }

    // MARK: Reading

    public func release(_ version: SemanticVersion) -> Release? {
        releases.first { (try? SemanticVersion(parsing: $0.version)) == version }
    }

    /// The newest release the pin accepts that is not yanked and has an archive for one of
    /// `platforms` (best first); a clear error naming what stood in the way otherwise.
    public func resolve(_ pin: VersionPin, platforms: [Platform]) throws(RegistryError) -> (release: Release, version: SemanticVersion, platform: Platform, archive: Archive) {
        let parsed = releases.compactMap { release in (try? SemanticVersion(parsing: release.version)).map { ($0, release) } }
        let usable = parsed.filter { version, release in
            release.yanked == nil && platforms.contains { release.archives[$0.value] != nil }
        }
        if let version = pin.select(from: usable.map(\.0)), let release = usable.first(where: { $0.0 == version })?.1,
            let platform = platforms.first(where: { release.archives[$0.value] != nil })
        {
            return (release, version, platform, release.archives[platform.value]!)
        }
        let matching = parsed.filter { pin.matches($0.0) }
        let platformList = platforms.map(\.value).joined(separator: " or ")
        var reason: String
        if matching.isEmpty {
            let published = parsed.map(\.0).sorted().map(\.description)
            reason = "no published version matches \(pin) (published: \(published.isEmpty ? "none" : published.joined(separator: ", ")))"
        } else if matching.allSatisfy({ $0.1.yanked != nil }) {
            let yanks = matching.map { "\($0.0) (\($0.1.yanked!.reason))" }.joined(separator: ", ")
            reason = "every version matching \(pin) was yanked by its publisher: \(yanks); pin another version"
        } else {
            let have = Set(matching.flatMap(\.1.archives.keys)).sorted().joined(separator: ", ")
            reason = "versions matching \(pin) have no archive for \(platformList) (they have: \(have)); ask the publisher to upload one for this platform"
        }
        if case .exact = pin, matching.isEmpty { reason += "; check the version in the config" }
        throw RegistryError(.unresolvable, "\(moduleID): \(reason)")
    }
}

extension Hex {
    static func isLowercaseHex(_ text: String) -> Bool {
        text.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }
}

/// Paths inside registries and archives: relative, `/`-separated, no `.` or `..` segment, no
/// empty segment, and a conservative alphabet, so they can never name anything outside their root.
enum RelativePath {
    static func isSafe(_ path: String) -> Bool {
        guard !path.isEmpty, path.utf8.count <= 1024 else { return false }
        let segments = path.split(separator: "/", omittingEmptySubsequences: false)
        return segments.allSatisfy { segment in
            !segment.isEmpty && segment != "." && segment != ".."
                && segment.utf8.allSatisfy { byte in
                    (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
                        || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "+")
                }
        }
    }
}
