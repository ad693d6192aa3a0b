import FerryBSON

/// A Viam-format machine config, as far as Ferry uses it. Keys Ferry does not use (remotes,
/// network, auth, frames…) are accepted and ignored, so an existing Viam config loads unchanged.
package struct MachineConfig: Sendable, Equatable {
    package var components: [ComponentEntry]
    package var modules: [ModuleEntry]
    package var dataManager: DataManagerConfig
}

package struct ComponentEntry: Sendable, Equatable {
    package var name: String
    /// API triplet, e.g. `rdk:component:sensor` (from `api`, or from legacy `namespace` + `type`).
    package var api: String
    /// Model triplet; Viam's one-word built-in names (`fake`) become `rdk:builtin:fake`.
    package var model: String
    package var attributes: BSONDocument
    package var dependsOn: [String]
    package var captureMethods: [CaptureMethodEntry]
    /// Where this component sits in the config, e.g. `components[2]`, for error messages.
    package var path: String

    /// The document handed to the plugin's `create`.
    package var pluginConfig: BSONDocument {
        [
            "name": .string(name), "api": .string(api), "model": .string(model),
            "attributes": .document(attributes), "depends_on": .array(dependsOn.map(BSON.string)),
        ]
    }
}

package struct CaptureMethodEntry: Sendable, Equatable {
    package var method: String
    package var frequencyHz: Double
    package var additionalParams: BSONDocument
    package var disabled: Bool
    /// e.g. `components[0].service_configs[0].attributes.capture_methods[1]`
    package var path: String
}

package struct ModuleEntry: Sendable, Equatable {
    package enum Kind: String, Sendable { case local, registry }
    package var kind: Kind
    package var name: String
    /// The shared library for a local module.
    package var executablePath: String?
    /// For registry modules: e.g. `acme:sensors` (checked as a module id), and the version pin
    /// (checked; `latest` when the config gives none).
    package var moduleID: String?
    package var version: String?
    package var path: String
}

/// The `data_manager` service's attributes, with Viam's names and defaults.
package struct DataManagerConfig: Sendable, Equatable {
    package var captureDir: String
    package var captureDisabled = false
    package var syncDisabled = false
    /// `sync_interval_mins`.
    package var syncInterval: Duration = .seconds(6)
    package var tags: [String] = []
    package var additionalSyncPaths: [String] = []
    package var maximumNumSyncThreads: Int?
    package var deleteEveryNthWhenDiskFull = 5
    package var maximumCaptureFileSizeBytes: Int64 = 256 * 1024
    package var selectiveSyncerName: String?
    /// The machine part every upload names (`part_id`): Viam's `cloud.id` at the config's top level.
    /// Empty when the config has none. (The server stamps location and machine from the API key.)
    package var partID = ""
    /// Ferry's own keys, all in one place: `attributes.ferry`.
    package var ferry = FerryOptions()

    package init(captureDir: String) { self.captureDir = captureDir }
}

/// Ferry's own data-manager settings (`data_manager` attributes → `ferry`).
package struct FerryOptions: Sendable, Equatable {
    /// The data server, `HOST:PORT`; nil syncs into an embedded data server.
    package var server: String?
    package var apiKeyID: String?
    package var apiKey: String?
    /// A PEM file to trust for the server's certificate.
    package var caCert: String?
    package var insecure = false
    /// How often open capture files are fsync'd, besides on every rotation (`fsync_interval_ms`). Zero: only on rotation.
    package var fsyncInterval: Duration = .seconds(1)
    /// The embedded data server's directory (used when `server` is nil); default: `ferry-data`
    /// beside the capture directory.
    package var dataDir: String?
    /// The embedded data server's `HOST:PORT`; default: loopback on a free port.
    package var listen: String?
    /// Beyond Viam: thin the oldest capture files when the capture directory grows past this.
    package var captureDirMaxBytes: Int64?
    /// Beyond Viam: move confirmed files here instead of deleting them (an audit trail).
    package var archiveDir: String?
    /// The embedded server's pipeline start delay after a schedule tick (as `ferry serve
    /// --pipeline-start-delay`); nil: the default (120 s, as Viam).
    package var pipelineStartDelay: Duration?
    /// Where registry modules come from: a directory, file:// or http(s):// URL (`ferry run
    /// --registry` and FERRY_REGISTRY take precedence).
    package var registry: String?
    /// Public key files whose signatures this machine accepts on module indexes.
    package var registryTrust: [String] = []
    /// A PEM file of certificates to trust for an https:// registry.
    package var registryCA: String?
    /// Where installed modules are kept; default: `ferry-modules` beside the capture directory.
    package var moduleCache: String?

    package init() {}
}
