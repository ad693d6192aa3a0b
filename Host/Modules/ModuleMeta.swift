import Foundation

/// A module's `meta.json`, with Viam's fields: `module_id`, `visibility`, `url`, `description`,
/// `models`, `entrypoint`, `first_run`, `build` ({setup, build, path, arch}), `markdown_link`.
/// Keys Ferry does not use are ignored, so a Viam module's file reads unchanged.
public struct ModuleMeta: Codable, Sendable, Equatable {
    public var schema: String?
    public var moduleID: String
    public var visibility: String?
    public var url: String?
    public var description: String?
    public var models: [Model]?
    /// The plugin library, relative to the module's directory (and inside its archive).
    public var entrypoint: String?
    /// A setup program run once after a machine unpacks the module; empty for none.
    public var firstRun: String?
    public var build: Build?
    public var markdownLink: String?

    public struct Model: Codable, Sendable, Equatable {
        public var api: String
        public var model: String
        public var shortDescription: String?
        public var markdownLink: String?

        public init(api: String, model: String) {
            self.api = api
            self.model = model
        }

        enum CodingKeys: String, CodingKey {
            case api, model
            case shortDescription = "short_description"
            case markdownLink = "markdown_link"
        }
    }

    public struct Build: Codable, Sendable, Equatable {
        /// Run once before `build` (installing compilers, say).
        public var setup: String?
        /// The build command, run by `/bin/sh -c` in the module's directory.
        public var build: String?
        /// The archive to write; `module.tar.gz` when absent.
        public var path: String?
        public var arch: [String]?

        public init(setup: String?, build: String?, path: String?, arch: [String]?) {
            self.setup = setup
            self.build = build
            self.path = path
            self.arch = arch
        }
    }

    enum CodingKeys: String, CodingKey {
        case schema = "$schema"
        case moduleID = "module_id"
        case visibility, url, description, models, entrypoint
        case firstRun = "first_run"
        case build
        case markdownLink = "markdown_link"
    }

    public static let fileName = "meta.json"
    public static let schemaURL = "https://dl.viam.dev/module.schema.json"

    public init(moduleID: String) { self.moduleID = moduleID }

    public var archivePath: String { build?.path.flatMap { $0.isEmpty ? nil : $0 } ?? "module.tar.gz" }

    /// nil when there is none (absent or empty, as Viam writes it).
    public var firstRunProgram: String? { firstRun.flatMap { $0.isEmpty ? nil : $0 } }

    public func encoded() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return ((try? encoder.encode(self)) ?? Data()) + Data("\n".utf8)
    }

    public static func decode(_ data: Data, source: String) throws(RegistryError) -> ModuleMeta {
        do {
            return try JSONDecoder().decode(ModuleMeta.self, from: data)
        } catch {
            throw RegistryError(.invalid, "\(source): \(JSONProblem.describe(error)) (meta.json as `ferry module create` writes it)")
        }
    }

    public static func load(file: String) throws(RegistryError) -> ModuleMeta {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw RegistryError(.invalid, "cannot read \(file); write one with `ferry module create --name NAME --namespace NAMESPACE`")
        }
        return try decode(data, source: file)
    }
}
