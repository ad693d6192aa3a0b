import FerryBSON
import FerryModuleSpec
import FerrySystem
import Foundation

/// Parses and validates a machine config. Every fault is reported with its JSON path; nothing is
/// half-applied: either a whole valid `MachineConfig` comes back or a `ConfigError`.
package enum ConfigParser {
    static let defaultCaptureDir = "~/.ferry/capture"

    static var homeDirectory: String {
        if let home = ProcessInfo.processInfo.environment["HOME"], home.hasPrefix("/") { return home }
        return FileManager.default.homeDirectoryForCurrentUser.path
    }

    /// Parses a config file. Relative paths inside it (capture_dir, module paths) are resolved
    /// against the file's directory, so a config means the same from any working directory.
    package static func load(file: String) throws(ConfigError) -> MachineConfig {
        let text: String
        do {
            text = try String(contentsOfFile: file, encoding: .utf8)
        } catch {
            throw ConfigError(file: file, path: "", "cannot read the config file: \(describe(error))")
        }
        let directory = URL(fileURLWithPath: file).deletingLastPathComponent().path
        do {
            return try parse(text, baseDirectory: directory)
        } catch {
            var error = error
            error.file = file
            throw error
        }
    }

    package static func parse(_ text: String, baseDirectory: String) throws(ConfigError) -> MachineConfig {
        let root: BSONDocument
        do {
            root = try BSONDocument(extendedJSON: text)
        } catch {
            throw ConfigError(path: "", "not valid JSON: \(error)")
        }
        let walker = JSONWalker()
        let config = parse(root, walker: walker, baseDirectory: baseDirectory)
        guard walker.faults.isEmpty else { throw ConfigError(faults: walker.faults) }
        return config
    }

    static func parse(_ root: BSONDocument, walker: JSONWalker, baseDirectory: String) -> MachineConfig {
        let components = walker.objects(root, "components", at: "").compactMap {
            parseResource($0.0, at: $0.1, kind: "component", walker: walker)
        }
        // Every service but the data manager (parsed below) is a resource like a component: a
        // vision service is created from a plugin model and may carry capture methods.
        let services = walker.objects(root, "services", at: "").filter { !isDataManager($0.0) }.compactMap {
            parseResource($0.0, at: $0.1, kind: "service", walker: walker)
        }
        let remotes = parseRemotes(root, walker: walker, baseDirectory: baseDirectory)
        var seen: [String: String] = [:]
        for resource in components + services {
            if let first = seen[resource.name] {
                walker.fault("\(resource.path).name", "duplicate name \"\(resource.name)\" (also at \(first)); component and service names must be unique")
            } else {
                seen[resource.name] = resource.path
            }
        }
        for remote in remotes {
            if let first = seen[remote.name] {
                walker.fault("\(remote.path).name", "duplicate name \"\(remote.name)\" (also at \(first)); a remote needs a name of its own")
            } else {
                seen[remote.name] = remote.path
            }
        }
        // As in Viam, a resource may depend on a component, a service or a remote part.
        for resource in components + services {
            for (index, dependency) in resource.dependsOn.enumerated() where seen[dependency] == nil {
                walker.fault("\(resource.path).depends_on[\(index)]", "no component, service or remote is named \"\(dependency)\"")
            }
        }
        let modules = walker.objects(root, "modules", at: "").compactMap {
            parseModule($0.0, at: $0.1, walker: walker, baseDirectory: baseDirectory)
        }
        var moduleNames: [String: String] = [:]
        var moduleIDs: [String: String] = [:]
        for module in modules {
            if let first = moduleNames[module.name] {
                walker.fault("\(module.path).name", "duplicate module name \"\(module.name)\" (also at \(first))")
            }
            moduleNames[module.name] = moduleNames[module.name] ?? module.path
            if let id = module.moduleID {
                if let first = moduleIDs[id] {
                    walker.fault("\(module.path).module_id", "\(id) is already configured at \(first); a machine runs one version of a module")
                }
                moduleIDs[id] = moduleIDs[id] ?? module.path
            }
        }
        var dataManager = parseDataManager(root, walker: walker, baseDirectory: baseDirectory)
        dataManager.retentionPolicies = retentionPolicies(components: components + services, remotes: remotes, walker: walker)
        let apiKeys = parseAuth(root, roles: dataManager.ferry.apiKeyRoles, rolesPath: dataManager.ferryPath, walker: walker)
        walker.noteIgnoredKeys(root, known: Keys.topLevel, inert: InertKeys.topLevel, at: "")
        return MachineConfig(
            components: components, services: services, remotes: remotes, modules: modules, dataManager: dataManager,
            apiKeys: apiKeys, warnings: walker.warnings)
    }

    static func isDataManager(_ service: BSONDocument) -> Bool {
        let api = service["api"]?.stringValue ?? service["type"]?.stringValue.map { "rdk:service:\($0)" }
        return api == "rdk:service:data_manager"
    }

    /// Viam's `auth.handlers`: an `api-key` handler's config maps each key id to its key, and
    /// lists the ids under `keys` (RDK requires the list; its other members are the keys).
    static func parseAuth(
        _ root: BSONDocument, roles: [String: MachineAPIKey.Role], rolesPath: String?, walker: JSONWalker
    ) -> [MachineAPIKey] {
        guard let auth = walker.object(root, "auth", at: "") else {
            if let rolesPath, let id = roles.keys.sorted().first {
                walker.fault("\(rolesPath).api_key_roles.\(id)", "no auth.handlers api-key entry has key id \"\(id)\"")
            }
            return []
        }
        walker.noteIgnoredKeys(auth, known: ["handlers"], inert: InertKeys.auth, at: "auth")
        var keys: [MachineAPIKey] = []
        for (handler, path) in walker.objects(auth, "handlers", at: "auth") {
            walker.noteIgnoredKeys(handler, known: ["type", "config"], inert: [:], at: path)
            guard let type = walker.string(handler, "type", at: path, required: true) else { continue }
            guard type == "api-key" else {
                walker.noteIgnoredKeys(
                    ["type": .string(type)], known: [],
                    inert: ["type": "the machine API accepts api-key handlers only; this one is \"\(type)\""], at: path)
                continue
            }
            let configPath = "\(path).config"
            guard let config = walker.object(handler, "config", at: path) else {
                walker.fault(configPath, "is required: {\"<key id>\": \"<key>\", \"keys\": [\"<key id>\"]}")
                continue
            }
            let listed = walker.strings(config, "keys", at: configPath) ?? []
            if config["keys"] == nil { walker.fault("\(configPath).keys", "is required: the list of key ids, e.g. [\"<key id>\"]") }
            for element in config where element.key != "keys" && element.key != "key" {
                let keyPath = "\(configPath).\(element.key)"
                guard let secret = element.value.stringValue, !secret.isEmpty else {
                    walker.fault(keyPath, "expected the API key (a non-empty string), got \(JSONWalker.describe(element.value))")
                    continue
                }
                if secret.utf8.count < 16 { walker.fault(keyPath, "an API key needs at least 16 characters (e.g. `openssl rand -hex 16`)") }
                if keys.contains(where: { $0.id == element.key }) { walker.fault(keyPath, "key id \"\(element.key)\" is given twice") }
                keys.append(MachineAPIKey(id: element.key, key: secret, role: roles[element.key] ?? .owner))
            }
            for (index, id) in listed.enumerated() where config[id]?.stringValue == nil {
                walker.fault("\(configPath).keys[\(index)]", "lists key id \"\(id)\", but config has no \"\(id)\": \"<key>\" member")
            }
            if config["key"] != nil {
                walker.noteIgnoredKeys(
                    ["key": .null], known: [], inert: ["key": "legacy keys without an id are not accepted; give \"<key id>\": \"<key>\""],
                    at: configPath)
            }
        }
        if let rolesPath {
            for id in roles.keys.sorted() where !keys.contains(where: { $0.id == id }) {
                walker.fault("\(rolesPath).api_key_roles.\(id)", "no auth.handlers api-key entry has key id \"\(id)\"")
            }
        }
        return keys
    }

    /// The keys Ferry reads, by where they sit; anything else is warned about (`InertKeys`).
    enum Keys {
        static let topLevel: Set<String> = ["cloud", "modules", "components", "services", "remotes", "auth"]
        static let resource: Set<String> = ["name", "api", "type", "namespace", "model", "attributes", "depends_on", "service_configs"]
        static let serviceConfig: Set<String> = ["type", "attributes"]
        static let dataManagerServiceConfig: Set<String> = ["capture_methods", "retention_policy"]
        static let captureMethod: Set<String> = ["method", "capture_frequency_hz", "additional_params", "disabled", "name", "retention_policy"]
        static let dataManager: Set<String> = [
            "capture_dir", "capture_disabled", "sync_disabled", "sync_interval_mins", "tags", "additional_sync_paths",
            "maximum_num_sync_threads", "delete_every_nth_when_disk_full", "maximum_capture_file_size_bytes",
            "selective_syncer_name", "ferry",
        ]
    }

    /// A component or (with `kind` "service") a service entry.
    static func parseResource(_ object: BSONDocument, at path: String, kind: String, walker: JSONWalker) -> ComponentEntry? {
        let name = walker.string(object, "name", at: path, required: true)
        if let name, name.isEmpty || name.contains(Character("/")) || name.contains(Character(":")) {
            walker.fault("\(path).name", "\"\(name)\" is not a valid name; use letters, digits, - and _")
        }
        var api = walker.string(object, "api", at: path)
        if api == nil {
            // Viam's older form: "type": "sensor", "namespace": "rdk".
            if let type = walker.string(object, "type", at: path) {
                let namespace = walker.string(object, "namespace", at: path) ?? "rdk"
                api = "\(namespace):\(kind):\(type)"
            } else {
                let example = kind == "component" ? "sensor" : "vision"
                walker.fault("\(path).api", "is required, e.g. \"rdk:\(kind):\(example)\" (or the older \"type\": \"\(example)\")")
            }
        } else if let triplet = api, triplet.split(separator: ":", omittingEmptySubsequences: false).count != 3 {
            walker.fault("\(path).api", "\"\(triplet)\" is not an API triplet like \"rdk:\(kind):\(kind == "component" ? "sensor" : "vision")\"")
        }
        var model = walker.string(object, "model", at: path, required: true)
        if let name = model {
            let parts = name.split(separator: ":", omittingEmptySubsequences: false)
            if parts.count == 1, !name.isEmpty {
                model = "rdk:builtin:\(name)"
            } else if parts.count != 3 || parts.contains(where: \.isEmpty) {
                walker.fault("\(path).model", "\"\(name)\" is not a model name like \"fake\" or \"acme:sensors:tmp102\"")
            }
        }
        let attributes = walker.object(object, "attributes", at: path) ?? [:]
        let dependsOn = walker.strings(object, "depends_on", at: path) ?? []
        walker.noteIgnoredKeys(object, known: Keys.resource, inert: InertKeys.resource, at: path)
        let methods = parseCaptureConfigs(object, at: path, walker: walker)
        var collectors: [String: String] = [:]
        for method in methods {
            let key = "\(method.method) \(method.additionalParams.extendedJSON(.canonical))"
            if let first = collectors[key] {
                walker.fault(method.path, "\(method.method) with the same additional_params is already captured at \(first)")
            }
            collectors[key] = method.path
        }
        guard let name, let api, let model else { return nil }
        return ComponentEntry(
            name: name, api: api, model: model, attributes: attributes, dependsOn: dependsOn, captureMethods: methods,
            path: path)
    }

    /// The capture methods in an entry's `service_configs` (the data_manager's; other services'
    /// configs are warned about).
    static func parseCaptureConfigs(_ object: BSONDocument, at path: String, walker: JSONWalker) -> [CaptureMethodEntry] {
        var methods: [CaptureMethodEntry] = []
        for (serviceConfig, servicePath) in walker.objects(object, "service_configs", at: path) {
            walker.noteIgnoredKeys(serviceConfig, known: Keys.serviceConfig, inert: [:], at: servicePath)
            let type = walker.string(serviceConfig, "type", at: servicePath, required: true)
            guard type == "data_manager" || type == "rdk:service:data_manager" else {
                if let type {
                    walker.noteIgnoredKeys(
                        ["type": .string(type)], known: [], inert: ["type": "only data_manager service configs (capture_methods) are used; this one is \"\(type)\""],
                        at: servicePath)
                }
                continue
            }
            let attributesPath = "\(servicePath).attributes"
            guard let serviceAttributes = walker.object(serviceConfig, "attributes", at: servicePath) else { continue }
            walker.noteIgnoredKeys(
                serviceAttributes, known: Keys.dataManagerServiceConfig, inert: InertKeys.dataManagerServiceConfig, at: attributesPath)
            // Viam's example puts retention_policy beside capture_methods (every method of the
            // resource); its attribute table lists it per method, which then takes precedence.
            let shared = parseRetentionPolicy(serviceAttributes, at: attributesPath, walker: walker)
            for (methodObject, methodPath) in walker.objects(serviceAttributes, "capture_methods", at: attributesPath) {
                if var method = parseCaptureMethod(methodObject, at: methodPath, walker: walker) {
                    method.retentionPolicy = method.retentionPolicy ?? shared
                    methods.append(method)
                }
            }
        }
        return methods
    }

    static func parseCaptureMethod(_ object: BSONDocument, at path: String, walker: JSONWalker) -> CaptureMethodEntry? {
        walker.noteIgnoredKeys(object, known: Keys.captureMethod, inert: InertKeys.captureMethod, at: path)
        let method = walker.string(object, "method", at: path, required: true)
        let frequency = walker.number(object, "capture_frequency_hz", at: path) {
            $0 < 0 ? "must be 0 (off) or more, got \($0)" : $0 > 100_000 ? "at most 100000 Hz, got \($0)" : nil
        }
        if object["capture_frequency_hz"] == nil {
            walker.fault("\(path).capture_frequency_hz", "is required (readings per second, e.g. 1 or 0.5)")
        }
        let parameters = walker.object(object, "additional_params", at: path) ?? [:]
        let disabled = walker.bool(object, "disabled", at: path) ?? false
        let name = walker.string(object, "name", at: path)
        let retention = parseRetentionPolicy(object, at: path, walker: walker)
        guard let method, let frequency else { return nil }
        return CaptureMethodEntry(
            method: method, frequencyHz: frequency, additionalParams: parameters, disabled: disabled, name: name,
            retentionPolicy: retention, path: path)
    }

    static func parseModule(_ object: BSONDocument, at path: String, walker: JSONWalker, baseDirectory: String) -> ModuleEntry? {
        let name = walker.string(object, "name", at: path, required: true)
        let typeName = walker.string(object, "type", at: path) ?? "local"
        guard let kind = ModuleEntry.Kind(rawValue: typeName) else {
            walker.fault("\(path).type", "\"\(typeName)\" is not a module type; expected \"local\" or \"registry\"")
            return nil
        }
        var executablePath: String?
        var moduleID: String?
        switch kind {
        case .local:
            executablePath = walker.string(object, "executable_path", at: path, required: true).map {
                resolve($0, against: baseDirectory)
            }
        case .registry:
            moduleID = walker.string(object, "module_id", at: path, required: true)
            if let id = moduleID {
                do throws(ModuleID.ParseError) {
                    _ = try ModuleID(parsing: id)
                } catch {
                    walker.fault("\(path).module_id", error.description)
                }
            }
        }
        var version = walker.string(object, "version", at: path)
        if kind == .registry {
            version = version ?? "latest"
            do throws(VersionPin.ParseError) {
                _ = try VersionPin(parsing: version!)
            } catch {
                walker.fault("\(path).version", error.description)
            }
        }
        var isolation: ModuleIsolation?
        if let value = walker.string(object, "isolation", at: path) {
            isolation = ModuleIsolation(rawValue: value)
            if isolation == nil {
                walker.fault("\(path).isolation", "\"\(value)\" is not an isolation; expected \"process\" (a child process of its own) or \"in-process\" (loaded into the host)")
            }
        }
        let callTimeout = walker.integer(object, "call_timeout_ms", at: path, minimum: 1).map { Duration.milliseconds($0) }
        let createTimeout = walker.integer(object, "create_timeout_ms", at: path, minimum: 1).map { Duration.milliseconds($0) }
        let memoryLimit = walker.integer(object, "memory_limit_mb", at: path, minimum: 64).map { Int($0) }
        let cpuLimit = walker.number(object, "cpu_limit_percent", at: path) { percent in
            (1...100_000).contains(percent)
                ? nil : "must be from 1 to 100000 (percent of one CPU: 50 is half a core, 200 two cores), got \(percent)"
        }
        if isolation == .inProcess {
            for key in ["call_timeout_ms", "create_timeout_ms", "memory_limit_mb", "cpu_limit_percent"] where object[key] != nil && object[key] != .null {
                walker.fault("\(path).\(key)", "applies only to a module in a process of its own; remove it, or set \"isolation\": \"process\"")
            }
        }
        guard let name, kind == .registry || executablePath != nil else { return nil }
        return ModuleEntry(
            kind: kind, name: name, executablePath: executablePath, moduleID: moduleID, version: version, path: path, isolation: isolation,
            callTimeout: callTimeout, createTimeout: createTimeout, memoryLimitMB: memoryLimit, cpuLimitPercent: cpuLimit)
    }

    static func parseDataManager(_ root: BSONDocument, walker: JSONWalker, baseDirectory: String) -> DataManagerConfig {
        var config = DataManagerConfig(captureDir: resolve(defaultCaptureDir, against: baseDirectory))
        // Viam's `cloud` block also holds secrets and addresses for Viam's own cloud; only the part
        // id matters here, so its other keys are left alone rather than refused.
        if let cloud = walker.object(root, "cloud", at: "") { config.partID = walker.string(cloud, "id", at: "cloud") ?? "" }
        let services = walker.objects(root, "services", at: "").filter { isDataManager($0.0) }
        if services.count > 1 {
            walker.fault(services[1].1, "a second data_manager service; a machine has at most one")
        }
        guard let (service, servicePath) = services.first else { return config }
        config.serviceName = service["name"]?.stringValue ?? "data_manager"
        walker.noteIgnoredKeys(service, known: Keys.resource, inert: InertKeys.resource, at: servicePath)
        guard let attributes = walker.object(service, "attributes", at: servicePath) else { return config }
        let path = "\(servicePath).attributes"
        walker.noteIgnoredKeys(attributes, known: Keys.dataManager, inert: InertKeys.dataManager, at: path)
        // As in Viam, an empty capture_dir (every example in Viam's docs has one) means the default.
        if let dir = walker.string(attributes, "capture_dir", at: path), !dir.isEmpty {
            config.captureDir = resolve(dir, against: baseDirectory)
        }
        config.captureDisabled = walker.bool(attributes, "capture_disabled", at: path) ?? false
        config.syncDisabled = walker.bool(attributes, "sync_disabled", at: path) ?? false
        if let minutes = walker.number(
            attributes, "sync_interval_mins", at: path, { $0 <= 0 || $0 > 1e8 ? "must be more than 0 (and at most 10⁸ minutes), got \($0)" : nil })
        {
            config.syncInterval = .seconds(minutes * 60)
        }
        config.tags = walker.strings(attributes, "tags", at: path) ?? []
        config.additionalSyncPaths = (walker.strings(attributes, "additional_sync_paths", at: path) ?? []).map {
            resolve($0, against: baseDirectory)
        }
        config.maximumNumSyncThreads = walker.integer(attributes, "maximum_num_sync_threads", at: path, minimum: 1).map { Int($0) }
        if let nth = walker.integer(attributes, "delete_every_nth_when_disk_full", at: path, minimum: 2) {
            config.deleteEveryNthWhenDiskFull = Int(nth)
        }
        if let size = walker.integer(attributes, "maximum_capture_file_size_bytes", at: path, minimum: 1024) {
            config.maximumCaptureFileSizeBytes = size
        }
        config.selectiveSyncerName = walker.string(attributes, "selective_syncer_name", at: path)
        if let ferry = walker.object(attributes, "ferry", at: path) {
            config.ferry = parseFerryOptions(ferry, at: "\(path).ferry", walker: walker, baseDirectory: baseDirectory)
            config.ferryPath = "\(path).ferry"
        }
        if let mongo = walker.object(attributes, "mongo_capture_config", at: path) {
            config.mongoCapture = MongoCaptureConfig.parse(mongo, at: "\(path).mongo_capture_config", walker: walker, baseDirectory: baseDirectory)
        }
        return config
    }

    static func parseFerryOptions(_ object: BSONDocument, at path: String, walker: JSONWalker, baseDirectory: String) -> FerryOptions {
        walker.onlyKnownKeys(
            object,
            [
                "server", "api_key_id", "api_key", "ca_cert", "insecure", "fsync_interval_ms", "data_dir", "listen",
                "capture_dir_max_bytes", "archive_dir", "pipeline_start_delay_secs", "registry", "registry_trust", "registry_ca",
                "module_cache", "api_key_roles",
            ],
            at: path)
        var options = FerryOptions()
        // One server, or a list of replicas (one database) to fail over among.
        let list = object["server"]?.arrayValue != nil
        options.servers = list ? walker.strings(object, "server", at: path) ?? [] : walker.string(object, "server", at: path).map { [$0] } ?? []
        if list, options.servers.isEmpty {
            walker.fault("\(path).server", "an empty list: name at least one HOST:PORT, or remove it for the embedded data server")
        }
        for (index, server) in options.servers.enumerated() where server.split(separator: ":").count != 2 || Int(server.split(separator: ":").last!) == nil {
            walker.fault(list ? "\(path).server[\(index)]" : "\(path).server", "\"\(server)\" is not HOST:PORT")
        }
        if Set(options.servers).count != options.servers.count {
            walker.fault("\(path).server", "names a server twice (\(options.servers.joined(separator: ", "))); list each replica once")
        }
        options.apiKeyID = walker.string(object, "api_key_id", at: path)
        options.apiKey = walker.string(object, "api_key", at: path)
        if options.server != nil, options.apiKeyID == nil || options.apiKey == nil {
            walker.fault(path, "a server needs api_key_id and api_key (create them with `ferry key create`)")
        }
        options.caCert = walker.string(object, "ca_cert", at: path).map { resolve($0, against: baseDirectory) }
        options.insecure = walker.bool(object, "insecure", at: path) ?? false
        if let interval = walker.integer(object, "fsync_interval_ms", at: path, minimum: 0) { options.fsyncInterval = .milliseconds(interval) }
        options.dataDir = walker.string(object, "data_dir", at: path).map { resolve($0, against: baseDirectory) }
        options.listen = walker.string(object, "listen", at: path)
        if let listen = options.listen, ListenAddress(listen) == nil {
            walker.fault("\(path).listen", "\"\(listen)\" is not \(ListenAddress.expected) for the embedded data server")
        }
        if options.server != nil, options.dataDir != nil || options.listen != nil {
            walker.fault(path, "data_dir and listen configure the embedded data server, which runs only when no server is named; remove one or the other")
        }
        options.captureDirMaxBytes = walker.integer(object, "capture_dir_max_bytes", at: path, minimum: 1024 * 1024)
        options.archiveDir = walker.string(object, "archive_dir", at: path).map { resolve($0, against: baseDirectory) }
        options.pipelineStartDelay = walker.number(object, "pipeline_start_delay_secs", at: path) {
            $0 < 0 || $0 > 1e9 ? "must be 0 or more seconds (at most 10⁹), got \($0)" : nil
        }.map { .seconds($0) }
        // A registry given as a relative directory is relative to the config, like every path here.
        options.registry = walker.string(object, "registry", at: path).map {
            $0.firstRange(of: "://") != nil ? $0 : resolve($0, against: baseDirectory)
        }
        options.registryTrust = (walker.strings(object, "registry_trust", at: path) ?? []).map { resolve($0, against: baseDirectory) }
        options.registryCA = walker.string(object, "registry_ca", at: path).map { resolve($0, against: baseDirectory) }
        options.moduleCache = walker.string(object, "module_cache", at: path).map { resolve($0, against: baseDirectory) }
        if let roles = walker.object(object, "api_key_roles", at: path) {
            for element in roles {
                guard let name = element.value.stringValue, let role = MachineAPIKey.Role(rawValue: name) else {
                    walker.fault(
                        "\(path).api_key_roles.\(element.key)",
                        "expected one of \(MachineAPIKey.Role.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")), got \(JSONWalker.describe(element.value))")
                    continue
                }
                options.apiKeyRoles[element.key] = role
            }
        }
        if options.server != nil, options.pipelineStartDelay != nil {
            walker.fault("\(path).pipeline_start_delay_secs", "configures the embedded data server's pipelines; with a server named, use `ferry serve --pipeline-start-delay` there")
        }
        return options
    }

    /// `~` is the home directory ($HOME, as a shell expands it; else the user's entry); a relative
    /// path is relative to the config file's directory.
    static func resolve(_ path: String, against base: String) -> String {
        if path.hasPrefix("~/") || path == "~" {
            return homeDirectory + path.dropFirst()
        }
        if path.hasPrefix("/") { return path }
        return URL(fileURLWithPath: base).appendingPathComponent(path).standardizedFileURL.path
    }
}
