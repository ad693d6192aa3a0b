import FerryBSON

/// A Viam-format machine config, as far as Ferry uses it. Keys Ferry does not use (remotes,
/// network, auth, frames…) are accepted and ignored, so an existing Viam config loads unchanged.
public struct MachineConfig: Sendable, Equatable {
    public var components: [ComponentEntry]
    public var modules: [ModuleEntry]
    public var dataManager: DataManagerConfig
}

public struct ComponentEntry: Sendable, Equatable {
    public var name: String
    /// API triplet, e.g. `rdk:component:sensor` (from `api`, or from legacy `namespace` + `type`).
    public var api: String
    /// Model triplet; Viam's one-word built-in names (`fake`) become `rdk:builtin:fake`.
    public var model: String
    public var attributes: BSONDocument
    public var dependsOn: [String]
    public var captureMethods: [CaptureMethodEntry]
    /// Where this component sits in the config, e.g. `components[2]`, for error messages.
    public var path: String

    /// The document handed to the plugin's `create`.
    public var pluginConfig: BSONDocument {
        [
            "name": .string(name), "api": .string(api), "model": .string(model),
            "attributes": .document(attributes), "depends_on": .array(dependsOn.map(BSON.string)),
        ]
    }
}

public struct CaptureMethodEntry: Sendable, Equatable {
    public var method: String
    public var frequencyHz: Double
    public var additionalParams: BSONDocument
    public var disabled: Bool
    /// e.g. `components[0].service_configs[0].attributes.capture_methods[1]`
    public var path: String
}

public struct ModuleEntry: Sendable, Equatable {
    public enum Kind: String, Sendable { case local, registry }
    public var kind: Kind
    public var name: String
    /// The shared library for a local module.
    public var executablePath: String?
    /// For registry modules: e.g. `acme:sensors`, and the version asked for.
    public var moduleID: String?
    public var version: String?
    public var path: String
}

/// The `data_manager` service's attributes, with Viam's names and defaults.
public struct DataManagerConfig: Sendable, Equatable {
    public var captureDir: String
    public var captureDisabled = false
    public var syncDisabled = false
    public var syncIntervalMins = 0.1
    public var tags: [String] = []
    public var additionalSyncPaths: [String] = []
    public var maximumNumSyncThreads: Int?
    public var deleteEveryNthWhenDiskFull = 5
    public var maximumCaptureFileSizeBytes: Int64 = 256 * 1024
    public var selectiveSyncerName: String?
    /// The machine part every upload names (`part_id`): Viam's `cloud.id` at the config's top level.
    /// Empty when the config has none. (The server stamps location and machine from the API key.)
    public var partID = ""
    /// Ferry's own keys, all in one place: `attributes.ferry`.
    public var ferry = FerryOptions()
    /// Viam's `mongo_capture_config`: also insert tabular readings into MongoDB; nil when unset.
    public var mongoCapture: MongoCaptureConfig?

    public init(captureDir: String) { self.captureDir = captureDir }
}

/// Ferry's own data-manager settings (`data_manager` attributes → `ferry`).
public struct FerryOptions: Sendable, Equatable {
    /// The data server, `HOST:PORT`; nil syncs into an embedded data server.
    public var server: String?
    public var apiKeyID: String?
    public var apiKey: String?
    /// A PEM file to trust for the server's certificate.
    public var caCert: String?
    public var insecure = false
    /// How often open capture files are fsync'd, besides on every rotation. 0 = only on rotation.
    public var fsyncIntervalMs: Int64 = 1000
    /// The embedded data server's directory (used when `server` is nil); default: `ferry-data`
    /// beside the capture directory.
    public var dataDir: String?
    /// The embedded data server's `HOST:PORT`; default: loopback on a free port.
    public var listen: String?
    /// Beyond Viam: thin the oldest capture files when the capture directory grows past this.
    public var captureDirMaxBytes: Int64?
    /// Beyond Viam: move confirmed files here instead of deleting them (an audit trail).
    public var archiveDir: String?
    /// The embedded server's pipeline start delay after a schedule tick (as `ferry serve
    /// --pipeline-start-delay`); nil: the default (120 s, as Viam).
    public var pipelineStartDelaySecs: Double?

    public init() {}
}
