import FerryBSON
import Foundation

/// Parses and validates a machine config. Every fault is reported with its JSON path; nothing is
/// half-applied: either a whole valid `MachineConfig` comes back or a `ConfigError`.
public enum ConfigParser {
    static let defaultCaptureDir = "~/.ferry/capture"

    /// Parses a config file. Relative paths inside it (capture_dir, module paths) are resolved
    /// against the file's directory, so a config means the same from any working directory.
    public static func load(file: String) throws(ConfigError) -> MachineConfig {
        let text: String
        do {
            text = try String(contentsOfFile: file, encoding: .utf8)
        } catch {
            throw ConfigError(file: file, path: "", "cannot read the config file: \(error.localizedDescription)")
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

    public static func parse(_ text: String, baseDirectory: String) throws(ConfigError) -> MachineConfig {
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
            parseComponent($0.0, at: $0.1, walker: walker)
        }
        var seen: [String: String] = [:]
        for component in components {
            if let first = seen[component.name] {
                walker.fault("\(component.path).name", "duplicate component name \"\(component.name)\" (also at \(first)); names must be unique")
            } else {
                seen[component.name] = component.path
            }
        }
        for component in components {
            for (index, dependency) in component.dependsOn.enumerated() where seen[dependency] == nil {
                walker.fault("\(component.path).depends_on[\(index)]", "no component is named \"\(dependency)\"")
            }
        }
        let modules = walker.objects(root, "modules", at: "").compactMap {
            parseModule($0.0, at: $0.1, walker: walker, baseDirectory: baseDirectory)
        }
        let dataManager = parseDataManager(root, walker: walker, baseDirectory: baseDirectory)
        return MachineConfig(components: components, modules: modules, dataManager: dataManager)
    }

    static func parseComponent(_ object: BSONDocument, at path: String, walker: JSONWalker) -> ComponentEntry? {
        let name = walker.string(object, "name", at: path, required: true)
        if let name, name.isEmpty || name.contains("/") || name.contains(":") {
            walker.fault("\(path).name", "\"\(name)\" is not a valid name; use letters, digits, - and _")
        }
        var api = walker.string(object, "api", at: path)
        if api == nil {
            // Viam's older form: "type": "sensor", "namespace": "rdk".
            if let type = walker.string(object, "type", at: path) {
                let namespace = walker.string(object, "namespace", at: path) ?? "rdk"
                api = "\(namespace):component:\(type)"
            } else {
                walker.fault("\(path).api", "is required, e.g. \"rdk:component:sensor\" (or the older \"type\": \"sensor\")")
            }
        } else if let triplet = api, triplet.split(separator: ":", omittingEmptySubsequences: false).count != 3 {
            walker.fault("\(path).api", "\"\(triplet)\" is not an API triplet like \"rdk:component:sensor\"")
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
        var methods: [CaptureMethodEntry] = []
        for (serviceConfig, servicePath) in walker.objects(object, "service_configs", at: path) {
            let type = walker.string(serviceConfig, "type", at: servicePath, required: true)
            guard type == "data_manager" || type == "rdk:service:data_manager" else { continue }
            let attributesPath = "\(servicePath).attributes"
            guard let serviceAttributes = walker.object(serviceConfig, "attributes", at: servicePath) else { continue }
            for (methodObject, methodPath) in walker.objects(serviceAttributes, "capture_methods", at: attributesPath) {
                if let method = parseCaptureMethod(methodObject, at: methodPath, walker: walker) { methods.append(method) }
            }
        }
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

    static func parseCaptureMethod(_ object: BSONDocument, at path: String, walker: JSONWalker) -> CaptureMethodEntry? {
        let method = walker.string(object, "method", at: path, required: true)
        let frequency = walker.number(object, "capture_frequency_hz", at: path) {
            $0 < 0 ? "must be 0 (off) or more, got \($0)" : $0 > 100_000 ? "at most 100000 Hz, got \($0)" : nil
        }
        if object["capture_frequency_hz"] == nil {
            walker.fault("\(path).capture_frequency_hz", "is required (readings per second, e.g. 1 or 0.5)")
        }
        let parameters = walker.object(object, "additional_params", at: path) ?? [:]
        let disabled = walker.bool(object, "disabled", at: path) ?? false
        guard let method, let frequency else { return nil }
        return CaptureMethodEntry(
            method: method, frequencyHz: frequency, additionalParams: parameters, disabled: disabled, path: path)
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
        }
        let version = walker.string(object, "version", at: path)
        guard let name, kind == .registry || executablePath != nil else { return nil }
        return ModuleEntry(kind: kind, name: name, executablePath: executablePath, moduleID: moduleID, version: version, path: path)
    }

    static func parseDataManager(_ root: BSONDocument, walker: JSONWalker, baseDirectory: String) -> DataManagerConfig {
        var config = DataManagerConfig(captureDir: resolve(defaultCaptureDir, against: baseDirectory))
        // Viam's `cloud` block also holds secrets and addresses for Viam's own cloud; only the part
        // id matters here, so its other keys are left alone rather than refused.
        if let cloud = walker.object(root, "cloud", at: "") { config.partID = walker.string(cloud, "id", at: "cloud") ?? "" }
        let services = walker.objects(root, "services", at: "").filter { service, path in
            let api = service["api"]?.stringValue ?? service["type"]?.stringValue.map { "rdk:service:\($0)" }
            return api == "rdk:service:data_manager"
        }
        if services.count > 1 {
            walker.fault(services[1].1, "a second data_manager service; a machine has at most one")
        }
        guard let (service, servicePath) = services.first else { return config }
        guard let attributes = walker.object(service, "attributes", at: servicePath) else { return config }
        let path = "\(servicePath).attributes"
        if let dir = walker.string(attributes, "capture_dir", at: path) { config.captureDir = resolve(dir, against: baseDirectory) }
        config.captureDisabled = walker.bool(attributes, "capture_disabled", at: path) ?? false
        config.syncDisabled = walker.bool(attributes, "sync_disabled", at: path) ?? false
        if let minutes = walker.number(attributes, "sync_interval_mins", at: path, { $0 <= 0 ? "must be more than 0, got \($0)" : nil }) {
            config.syncIntervalMins = minutes
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
                "capture_dir_max_bytes", "archive_dir", "pipeline_start_delay_secs",
            ],
            at: path)
        var options = FerryOptions()
        options.server = walker.string(object, "server", at: path)
        if let server = options.server, server.split(separator: ":").count != 2 || Int(server.split(separator: ":").last!) == nil {
            walker.fault("\(path).server", "\"\(server)\" is not HOST:PORT")
        }
        options.apiKeyID = walker.string(object, "api_key_id", at: path)
        options.apiKey = walker.string(object, "api_key", at: path)
        if options.server != nil, options.apiKeyID == nil || options.apiKey == nil {
            walker.fault(path, "a server needs api_key_id and api_key (create them with `ferry key create`)")
        }
        options.caCert = walker.string(object, "ca_cert", at: path).map { resolve($0, against: baseDirectory) }
        options.insecure = walker.bool(object, "insecure", at: path) ?? false
        if let interval = walker.integer(object, "fsync_interval_ms", at: path, minimum: 0) { options.fsyncIntervalMs = interval }
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
        options.pipelineStartDelaySecs = walker.number(object, "pipeline_start_delay_secs", at: path) {
            $0 < 0 ? "must be 0 or more seconds, got \($0)" : nil
        }
        if options.server != nil, options.pipelineStartDelaySecs != nil {
            walker.fault("\(path).pipeline_start_delay_secs", "configures the embedded data server's pipelines; with a server named, use `ferry serve --pipeline-start-delay` there")
        }
        return options
    }

    /// `~` is the home directory; a relative path is relative to the config file's directory.
    static func resolve(_ path: String, against base: String) -> String {
        if path.hasPrefix("~/") || path == "~" {
            return FileManager.default.homeDirectoryForCurrentUser.path + path.dropFirst()
        }
        if path.hasPrefix("/") { return path }
        return URL(fileURLWithPath: base).appendingPathComponent(path).standardizedFileURL.path
    }
}
