import FerryBSON

/// A Viam-format machine config, as far as Ferry uses it. Keys Ferry does not act on (network,
/// frames, cache sizes…) are accepted, so an existing Viam config loads unchanged, and each is
/// named in `warnings` so none passes silently.
package struct MachineConfig: Sendable, Equatable {
    package var components: [ComponentEntry]
    /// Services other than the data manager (a vision service…): created from plugin models like
    /// components, and captured the same way.
    package var services: [ComponentEntry] = []
    /// Other machines whose resources this one captures through their machine API.
    package var remotes: [RemoteEntry] = []
    package var modules: [ModuleEntry]
    package var dataManager: DataManagerConfig
    /// The API keys the machine API (`ferry run --listen`) accepts: Viam's `auth.handlers` of type
    /// `api-key`, each with its role (owner unless `ferry.api_key_roles` narrows it).
    package var apiKeys: [MachineAPIKey] = []
    /// Keys accepted without effect, one per key: log each once.
    package var warnings: [ConfigWarning] = []
}

/// One API key of the machine API, as Viam's config writes it: `{"type": "api-key", "config":
/// {"<key id>": "<key>", "keys": ["<key id>"]}}`.
package struct MachineAPIKey: Sendable, Equatable {
    package enum Role: String, Sendable, CaseIterable {
        case owner, `operator`, viewer
    }
    package var id: String
    package var key: String
    package var role: Role
    package init(id: String, key: String, role: Role = .owner) {
        self.id = id
        self.key = key
        self.role = role
    }
}

/// A component, or a service other than the data manager: both are created from plugin models.
package struct ComponentEntry: Sendable, Equatable {
    package var name: String
    /// API triplet, e.g. `rdk:component:sensor` or `rdk:service:vision` (from `api`, or from the
    /// older `namespace` + `type`).
    package var api: String
    /// Model triplet; Viam's one-word built-in names (`fake`) become `rdk:builtin:fake`.
    package var model: String
    package var attributes: BSONDocument
    package var dependsOn: [String]
    package var captureMethods: [CaptureMethodEntry]
    /// Where this entry sits in the config, e.g. `components[2]` or `services[1]`, for error messages.
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
    /// The resource, on a remote part's capture methods (`rdk:component:board/my-esp32`); a
    /// component's own methods may leave it out.
    package var name: String? = nil
    /// Its own `retention_policy`, or else the one beside `capture_methods`; nil: none.
    package var retentionPolicy: RetentionPolicyConfig? = nil
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
    /// `isolation`: nil when the config does not say (a registry module then runs in a process
    /// of its own, a local library in the host's).
    package var isolation: ModuleIsolation? = nil
    /// `call_timeout_ms`, `create_timeout_ms`, `memory_limit_mb` (isolated modules only).
    package var callTimeout: Duration? = nil
    package var createTimeout: Duration? = nil
    package var memoryLimitMB: Int? = nil
    /// `cpu_limit_percent`: the share of one CPU the module's process may use (50: half a core,
    /// 200: two cores), enforced with a cgroup v2 `cpu.max` where the host can make one.
    package var cpuLimitPercent: Double? = nil

    /// Where this module's plugin runs, given `--isolate-all`.
    package func runsIsolated(isolateAll: Bool) -> Bool {
        if isolateAll { return true }
        return (isolation ?? (kind == .registry ? .process : .inProcess)) == .process
    }
}

/// Where a module's plugin runs: in a child process of its own (a crash or hang there never takes
/// the host down), or loaded into the host (the fastest calls).
package enum ModuleIsolation: String, Sendable {
    case process
    case inProcess = "in-process"
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
    /// Where `ferry` sits in the config (for errors about it); nil when absent.
    package var ferryPath: String?
    /// The data_manager service's name (the machine API's DataManagerService answers to it); nil
    /// when the config has no data_manager service.
    package var serviceName: String?
    /// Viam's `mongo_capture_config`: also insert tabular readings into MongoDB; nil when unset.
    package var mongoCapture: MongoCaptureConfig?
    /// Every captured method's `retention_policy` (empty where it has none), which its uploads
    /// carry to the data server; set from the components, services and remotes.
    package var retentionPolicies: [CapturedMethod: RetentionPolicyConfig] = [:]

    package init(captureDir: String) { self.captureDir = captureDir }
}

/// Ferry's own data-manager settings (`data_manager` attributes → `ferry`).
package struct FerryOptions: Sendable, Equatable {
    /// The data server, `HOST:PORT`, or replicas of one (on one database) in order of
    /// preference: the host fails over among them. Empty: sync into an embedded data server.
    package var servers: [String] = []
    /// The preferred data server; nil syncs into an embedded data server.
    package var server: String? { servers.first }
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
    /// Roles of machine API keys (`auth.handlers`) that should have less than owner: key id → role.
    package var apiKeyRoles: [String: MachineAPIKey.Role] = [:]
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

/// A remote part: another machine (a Ferry host, or anything serving Viam's machine API) whose
/// resources this host captures, as Viam writes `remotes[]`.
package struct RemoteEntry: Sendable, Equatable {
    package var name: String
    package var host: String
    /// From the address; without one, 443 (80 with `insecure`), as Viam's SDKs dial.
    package var port: Int
    /// `auth.entity`: the API key id.
    package var apiKeyID: String?
    /// `auth.credentials.payload` of type `api-key`.
    package var apiKey: String?
    /// Plain HTTP/2 (h2c), as Viam's `insecure`.
    package var insecure = false
    /// Ferry's own `remotes[].ferry.ca_cert`: a PEM to trust (a remote Ferry host's self-signed
    /// certificate); without it, the system's roots.
    package var caCert: String?
    package var captureMethods: [RemoteCaptureMethod]
    package var path: String

    package var address: String { "\(host):\(port)" }

    /// Whether reaching the remote changed (address, credentials, TLS), not only what is captured.
    package func sameConnection(as other: RemoteEntry) -> Bool {
        (host, port, apiKeyID, apiKey, insecure, caCert) == (other.host, other.port, other.apiKeyID, other.apiKey, other.insecure, other.caCert)
    }
}

/// One capture method of a remote part's resource: `"name": "rdk:component:board/my-esp32"`.
package struct RemoteCaptureMethod: Sendable, Equatable {
    /// The resource's API, e.g. `rdk:component:board`.
    package var api: String
    /// The resource's name on the remote, e.g. `my-esp32`.
    package var resource: String
    package var method: String
    package var frequencyHz: Double
    package var additionalParams: BSONDocument
    package var disabled: Bool
    package var retentionPolicy: RetentionPolicyConfig? = nil
    package var path: String
}
