import FerryBSON

/// A Viam-format machine config, as far as Ferry uses it. Keys Ferry does not act on (network,
/// frames, cache sizes…) are accepted, so an existing Viam config loads unchanged, and each is
/// named in `warnings` so none passes silently.
public struct MachineConfig: Sendable, Equatable {
    public var components: [ComponentEntry]
    /// Services other than the data manager (a vision service…): created from plugin models like
    /// components, and captured the same way.
    public var services: [ComponentEntry] = []
    /// Other machines whose resources this one captures through their machine API.
    public var remotes: [RemoteEntry] = []
    public var modules: [ModuleEntry]
    public var dataManager: DataManagerConfig
    /// The API keys the machine API (`ferry run --listen`) accepts: Viam's `auth.handlers` of type
    /// `api-key`, each with its role (owner unless `ferry.api_key_roles` narrows it).
    public var apiKeys: [MachineAPIKey] = []
    /// Keys accepted without effect, one per key: log each once.
    public var warnings: [ConfigWarning] = []
}

/// One API key of the machine API, as Viam's config writes it: `{"type": "api-key", "config":
/// {"<key id>": "<key>", "keys": ["<key id>"]}}`.
public struct MachineAPIKey: Sendable, Equatable {
    public enum Role: String, Sendable, CaseIterable {
        case owner, `operator`, viewer
    }
    public var id: String
    public var key: String
    public var role: Role
    public init(id: String, key: String, role: Role = .owner) {
        self.id = id
        self.key = key
        self.role = role
    }
}

/// A component, or a service other than the data manager: both are created from plugin models.
public struct ComponentEntry: Sendable, Equatable {
    public var name: String
    /// API triplet, e.g. `rdk:component:sensor` or `rdk:service:vision` (from `api`, or from the
    /// older `namespace` + `type`).
    public var api: String
    /// Model triplet; Viam's one-word built-in names (`fake`) become `rdk:builtin:fake`.
    public var model: String
    public var attributes: BSONDocument
    public var dependsOn: [String]
    public var captureMethods: [CaptureMethodEntry]
    /// Where this entry sits in the config, e.g. `components[2]` or `services[1]`, for error messages.
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
    /// The resource, on a remote part's capture methods (`rdk:component:board/my-esp32`); a
    /// component's own methods may leave it out.
    public var name: String? = nil
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
    /// Where `ferry` sits in the config (for errors about it); nil when absent.
    public var ferryPath: String?
    /// The data_manager service's name (the machine API's DataManagerService answers to it); nil
    /// when the config has no data_manager service.
    public var serviceName: String?

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
    /// Roles of machine API keys (`auth.handlers`) that should have less than owner: key id → role.
    public var apiKeyRoles: [String: MachineAPIKey.Role] = [:]
    /// The embedded server's pipeline start delay after a schedule tick (as `ferry serve
    /// --pipeline-start-delay`); nil: the default (120 s, as Viam).
    public var pipelineStartDelaySecs: Double?

    public init() {}
}

/// A remote part: another machine (a Ferry host, or anything serving Viam's machine API) whose
/// resources this host captures, as Viam writes `remotes[]`.
public struct RemoteEntry: Sendable, Equatable {
    public var name: String
    public var host: String
    /// From the address; without one, 443 (80 with `insecure`), as Viam's SDKs dial.
    public var port: Int
    /// `auth.entity`: the API key id.
    public var apiKeyID: String?
    /// `auth.credentials.payload` of type `api-key`.
    public var apiKey: String?
    /// Plain HTTP/2 (h2c), as Viam's `insecure`.
    public var insecure = false
    /// Ferry's own `remotes[].ferry.ca_cert`: a PEM to trust (a remote Ferry host's self-signed
    /// certificate); without it, the system's roots.
    public var caCert: String?
    public var captureMethods: [RemoteCaptureMethod]
    public var path: String

    public var address: String { "\(host):\(port)" }

    /// Whether reaching the remote changed (address, credentials, TLS), not only what is captured.
    public func sameConnection(as other: RemoteEntry) -> Bool {
        (host, port, apiKeyID, apiKey, insecure, caCert) == (other.host, other.port, other.apiKeyID, other.apiKey, other.insecure, other.caCert)
    }
}

/// One capture method of a remote part's resource: `"name": "rdk:component:board/my-esp32"`.
public struct RemoteCaptureMethod: Sendable, Equatable {
    /// The resource's API, e.g. `rdk:component:board`.
    public var api: String
    /// The resource's name on the remote, e.g. `my-esp32`.
    public var resource: String
    public var method: String
    public var frequencyHz: Double
    public var additionalParams: BSONDocument
    public var disabled: Bool
    public var path: String
}
