import ArgumentParser
import FerryConfig
import FerryIsolation
import FerryLoader
import FerryMachine
import FerryRemoteParts
import FerrySync
import Foundation
import Logging
import ServiceLifecycle

/// The command line `ferry run` and `ferry-host run` share.
package struct HostRunOptions: ParsableArguments {
    @Argument(help: "The machine config (Viam's JSON format).")
    package var config: String

    @Option(help: "Where registry modules come from: a directory, file:// or http(s):// URL (else $FERRY_REGISTRY, else the config's ferry.registry).")
    package var registry: String?

    @Option(help: "A module publisher's public key (.pub) to trust; repeatable (else $FERRY_REGISTRY_TRUST, colon-separated, else ferry.registry_trust).")
    package var trust: [String] = []

    @Option(name: .customLong("registry-ca"), help: "A PEM file of CA certificates for an https:// registry (else $FERRY_REGISTRY_CA, else ferry.registry_ca).")
    package var registryCA: String?

    @Option(name: .customLong("module-cache"), help: "Where registry modules are installed (else $FERRY_MODULE_CACHE, else ferry.module_cache, else ferry-modules beside capture_dir).")
    package var moduleCache: String?

    @Flag(name: .customLong("isolate-all"), help: "Run every plugin in a process of its own (`ferry plugin-host`), built-ins and in-process modules included.")
    package var isolateAll = false

    @OptionGroup package var shutdown: ShutdownOptions

    @OptionGroup package var logging: LogOptions

    package init() {}

    /// These options as a command line that parses back to them (what `ferry run` hands `ferry-host run`).
    package var arguments: [String] {
        var arguments = [config]
        if let registry { arguments += ["--registry", registry] }
        for key in trust { arguments += ["--trust", key] }
        if let registryCA { arguments += ["--registry-ca", registryCA] }
        if let moduleCache { arguments += ["--module-cache", moduleCache] }
        if isolateAll { arguments.append("--isolate-all") }
        arguments += ["--shutdown-grace", "\(shutdown.shutdownGrace)"]
        if let format = logging.logFormat { arguments += ["--log-format", format.rawValue] }
        return arguments
    }
}

/// A running host: plugins loaded, the machine started (capture running), signals caught.
package struct HostRun: Sendable {
    package let machine: Machine
    package let registry: PluginRegistry
    package let signals: ShutdownSignals
    package let logger: Logger

    /// Catches the signals, loads the plugins (built-ins beside this executable, FERRY_PLUGIN_PATH,
    /// then the config's modules) and starts the machine; the caller has bootstrapped logging.
    /// `builtinsOnFirstUse`: a built-in plugin is loaded only when the config first names one of
    /// its models (`BuiltinCatalog`); otherwise every one is (an embedded data server wants their
    /// MQL operators).
    package static func start(_ options: HostRunOptions, builtinsOnFirstUse: Bool = false) async throws -> HostRun {
        let logger = Logger(label: "ferry")
        // Signal handling first, so a signal during start-up still stops cleanly.
        let signals = ShutdownSignals(logger: logger)
        let registry = PluginRegistry()
        // Registry modules: settings as the config stands at start (a change to them needs a restart).
        let config = try? ConfigParser.load(file: options.config)
        let settings = RegistrySettings(
            registry: options.registry, trust: options.trust, caFile: options.registryCA, cache: options.moduleCache, config: config)
        var machineOptions = Machine.Options()
        machineOptions.modules = RegistryModuleSupplier(client: settings.client(logger: Logger(label: "ferry.modules")))
        machineOptions.restart = { machine, reason in
            // A new version of a loaded module: stop gracefully, then become a fresh host.
            logger.notice("restarting ferry run to load \(reason)")
            machine.stop()
            HostRestart.reexecute()
        }
        machineOptions.remotes = GRPCRemoteConnector()
        // Isolated plugins run in `plugin-host` of this same executable.
        machineOptions.pluginHost = PluginDiscovery.ownExecutable()
        machineOptions.isolateAll = options.isolateAll
        let builtins = PluginDiscovery.builtinPlugins()
        let plugins = builtins + PluginDiscovery.pluginPathEntries(ProcessInfo.processInfo.environment["FERRY_PLUGIN_PATH"])
        if options.isolateAll {
            machineOptions.isolatedLibraries = plugins
        } else if builtinsOnFirstUse {
            // Beside the sync state, in Ferry's own hidden folder of the capture directory.
            let cacheFile = config.map { $0.dataManager.captureDir + "/.ferry/builtin-plugins.json" }
            await BuiltinCatalog.register(builtins, in: registry, cacheFile: cacheFile, logger: Logger(label: "ferry.loader"))
            registry.load(paths: Array(plugins.dropFirst(builtins.count)))
        } else {
            registry.load(paths: plugins)
        }
        let machine = Machine(configPath: options.config, registry: registry, options: machineOptions)
        do {
            try machine.start()
        } catch {
            throw Failure("\(error)")
        }
        return HostRun(machine: machine, registry: registry, signals: signals, logger: logger)
    }

    /// The data servers the config names (`ferry.server` or `ferry.servers`); empty when it names
    /// none (`ferry run` then serves one itself).
    package static func servers(_ dataManager: DataManagerConfig) -> [GRPCUploader.Endpoint] {
        dataManager.ferry.servers.map { server in
            let parts = server.split(separator: ":")
            return GRPCUploader.Endpoint(
                host: String(parts[0]), port: Int(parts[1])!, apiKeyID: dataManager.ferry.apiKeyID ?? "",
                apiKey: dataManager.ferry.apiKey ?? "", caCertificate: dataManager.ferry.caCert, insecure: dataManager.ferry.insecure)
        }
    }

    /// Sync to `endpoints`: one server, or replicas failed over among in the order given.
    static func syncEngine(endpoints: [GRPCUploader.Endpoint], dataManager: DataManagerConfig, machine: Machine, logger: Logger) throws
        -> SyncEngine
    {
        let syncLogger = Logger(label: "ferry.sync")
        let servers = try endpoints.map { endpoint in
            do {
                return try GRPCUploader(endpoint: endpoint, logger: syncLogger)
            } catch {
                throw Failure("cannot set up sync to \(endpoint.address): \(error)")
            }
        }
        let names = endpoints.map(\.address)
        let uploader: any DataUploader =
            servers.count == 1 ? servers[0] : FailoverUploader(servers: servers, names: names, logger: syncLogger)
        var environment = SyncEngine.Environment()
        environment.finishOpenFiles = { machine.finishCaptureFiles() }
        environment.shouldSync = {
            // Viam's selective sync: the named sensor's Readings must say should_sync: true.
            guard let name = machine.dataManager?.selectiveSyncerName else { return true }
            guard case .document(let readings)? = machine.readings(of: name)?["readings"] else { return false }
            return readings["should_sync"] == .bool(true)
        }
        let target = names.count == 1 ? names[0] : "\(names.joined(separator: ", ")) (failing over in that order)"
        logger.info("syncing \(dataManager.captureDir) to \(target) every \(dataManager.syncInterval)")
        return SyncEngine(settings: SyncSettings(dataManager), server: names.joined(separator: ", "), uploader: uploader, environment: environment)
    }
}

/// The host's work in a service group: sync (once its server listens), config reloads, and
/// whatever else the command serves beside them (`extras`: `ferry run --listen`'s machine API).
/// A graceful shutdown closes the capture files, lets the uploads and calls in flight finish,
/// and ends the rest.
package struct HostService: Service {
    /// What a command adds to the host's task group once sync is set up: the sync engine's
    /// "sync now" is theirs to call.
    package typealias Extras = @Sendable (
        _ dataManager: DataManagerConfig, _ syncNow: @escaping @Sendable () -> Void, _ group: inout ThrowingDiscardingTaskGroup<any Error>
    ) throws -> Void

    let host: HostRun
    /// The data servers to sync to (empty: the embedded server stopped before it listened).
    let endpoints: @Sendable () async -> [GRPCUploader.Endpoint]
    let extras: Extras

    package init(host: HostRun, endpoints: @escaping @Sendable () async -> [GRPCUploader.Endpoint], extras: @escaping Extras = { _, _, _ in }) {
        self.host = host
        self.endpoints = endpoints
        self.extras = extras
    }

    package func run() async throws {
        let (machine, registry, logger) = (host.machine, host.registry, host.logger)
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask {
                guard (try? await gracefulShutdown()) != nil else { return }
                logger.info("stopping: closing capture files")
                machine.stop()
            }
            guard let dataManager = machine.dataManager else { return }
            let endpoints = await endpoints()
            guard !endpoints.isEmpty else { return }  // the embedded server stopped first
            let engine = try HostRun.syncEngine(endpoints: endpoints, dataManager: dataManager, machine: machine, logger: logger)
            // A plugin's request_sync (ABI 1.1) is a manual sync, like `ferry sync now`.
            registry.syncRequestHandler = { engine.requestSync() }
            group.addTask { await withGracefulShutdownHandler { await engine.run() } onGracefulShutdown: { engine.finish() } }
            try extras(dataManager, { engine.requestSync() }, &group)
            group.addTask {
                // Config reloads change sync settings too (the server itself needs a restart).
                while !Task.isCancelled && !Task.isShuttingDownGracefully {
                    try? await Task.sleep(for: .seconds(1))
                    if let current = machine.dataManager { engine.update(SyncSettings(current)) }
                }
            }
        }
    }
}
