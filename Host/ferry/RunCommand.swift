import ArgumentParser
import Dispatch
import FerryAPI
import FerryBSON
import FerryConfig
import FerryLoader
import FerryMachine
import FerryIsolation
import FerryMachineAPI
import FerrySync
import Foundation
import Logging
import ServiceLifecycle

#if canImport(Glibc)
    import Glibc
#endif

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the host: load plugins, create components, capture to files.",
        discussion: """
            Built-in plugins are loaded from beside the ferry binary, then FERRY_PLUGIN_PATH (colon-separated \
            files or directories), then the config's modules. Edits to the config file apply while running; \
            an invalid edit is refused and the running config stays. Ctrl-C closes every capture file cleanly.

            Registry modules ({"type": "registry", "module_id", "version"}) are resolved, verified against \
            the trusted keys and installed into the module cache without holding up start-up; offline, the \
            newest cached version the pin accepts runs. When a module's version changes while it is loaded, \
            ferry installs the new one, stops cleanly and re-executes itself to load it.

            Finished capture files are synced to the data server named in the data_manager's `ferry` attributes, \
            or, when none is named, to an embedded data server in this process (data in `ferry-data` beside the \
            capture directory). See `ferry sync status`.
            """)

    @Argument(help: "The machine config (Viam's JSON format).")
    var config: String

    @Option(name: .customLong("metrics-listen"), help: "Serve Prometheus metrics (GET /metrics) and health probes (GET /healthz, /readyz) on HOST:PORT; off by default.")
    var metricsListen: String?

    @Option(help: "Where registry modules come from: a directory, file:// or http(s):// URL (else $FERRY_REGISTRY, else the config's ferry.registry).")
    var registry: String?

    @Option(help: "A module publisher's public key (.pub) to trust; repeatable (else $FERRY_REGISTRY_TRUST, colon-separated, else ferry.registry_trust).")
    var trust: [String] = []

    @Option(name: .customLong("registry-ca"), help: "A PEM file of CA certificates for an https:// registry (else $FERRY_REGISTRY_CA, else ferry.registry_ca).")
    var registryCA: String?

    @Option(name: .customLong("module-cache"), help: "Where registry modules are installed (else $FERRY_MODULE_CACHE, else ferry.module_cache, else ferry-modules beside capture_dir).")
    var moduleCache: String?

    @Flag(name: .customLong("isolate-all"), help: "Run every plugin in a process of its own (`ferry plugin-host`), built-ins and in-process modules included.")
    var isolateAll = false

    @OptionGroup var machineAPI: MachineAPIOptions

    @OptionGroup var shutdown: ShutdownOptions

    @OptionGroup var logging: LogOptions

    func run() async throws {
        _ = HostRestart.inherited  // before anything is opened: what a restart must keep
        LogSetup.bootstrap(format: logging.logFormat)
        let logger = Logger(label: "ferry")
        // Signal handling first, so a signal during start-up still stops cleanly.
        let signals = ShutdownSignals(logger: logger)
        let registry = PluginRegistry()
        // Registry modules: settings as the config stands at start (a change to them needs a restart).
        let settings = RegistrySettings(
            registry: self.registry, trust: trust, caFile: registryCA, cache: moduleCache, config: try? ConfigParser.load(file: config))
        var options = Machine.Options()
        options.modules = RegistryModuleSupplier(client: settings.client(logger: Logger(label: "ferry.modules")))
        options.restart = { machine, reason in
            // A new version of a loaded module: stop gracefully, then become a fresh ferry run.
            logger.notice("restarting ferry run to load \(reason)")
            machine.stop()
            HostRestart.reexecute()
        }
        options.remotes = GRPCRemoteConnector()
        // Isolated plugins run in `ferry plugin-host`, this same binary.
        options.pluginHost = PluginDiscovery.ownExecutable()
        options.isolateAll = isolateAll
        let plugins =
            PluginDiscovery.builtinPlugins() + PluginDiscovery.pluginPathEntries(ProcessInfo.processInfo.environment["FERRY_PLUGIN_PATH"])
        if isolateAll {
            options.isolatedLibraries = plugins
        } else {
            registry.load(paths: plugins)
        }
        let machine = Machine(configPath: config, registry: registry, options: options)
        do {
            try machine.start()
        } catch {
            throw Failure("\(error)")
        }
        defer { machine.stop() }
        // Capture runs on Dispatch queues; the services sync (and serve, when embedded) until a
        // signal stops them: the host first (capture files closed, uploads in flight finished),
        // then the embedded server (calls and pipeline runs in flight finished, lease handed back).
        var services: [any Service] = []
        var endpoints: @Sendable () async -> [GRPCUploader.Endpoint] = { [] }
        var embeddedNotReady: @Sendable () async -> [String] = { [] }
        if let dataManager = machine.dataManager {
            if !dataManager.ferry.servers.isEmpty {
                let known = dataManager.ferry.servers.map { server in
                    let parts = server.split(separator: ":")
                    return GRPCUploader.Endpoint(
                        host: String(parts[0]), port: Int(parts[1])!, apiKeyID: dataManager.ferry.apiKeyID ?? "",
                        apiKey: dataManager.ferry.apiKey ?? "", caCertificate: dataManager.ferry.caCert, insecure: dataManager.ferry.insecure)
                }
                endpoints = { known }
            } else {
                let embedded = try await EmbeddedDataServer.prepare(
                    dataManager, plugins: registry, isolated: machine.isolatedPlugins, logger: logger)
                services.append(embedded.service)
                endpoints = { await embedded.endpoint().map { [$0] } ?? [] }
                embeddedNotReady = embedded.notReady
            }
        }
        if let metricsListen {
            let serverNotReady = embeddedNotReady
            try await MetricsEndpoint.serve(metricsListen, logger: logger) {
                machine.notReady + (signals.isStopping ? ["ferry run is stopping"] : []) + (await serverNotReady())
            }
        }
        logger.info("running \(config); Ctrl-C to stop")
        services.append(HostService(machine: machine, registry: registry, endpoints: endpoints, machineAPI: machineAPI, logger: logger))
        if let tracing = try TraceSetup.start(serviceName: "ferry-run", logger: logger) { services.insert(tracing, at: 0) }
        try await signals.run(services, grace: shutdown.grace, logger: logger)
        logger.info("stopped")
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

/// The host's work under `ferry run`'s service group: sync (once its server listens), the machine
/// API and config reloads. A graceful shutdown closes the capture files, lets the uploads and
/// calls in flight finish, and ends the rest.
struct HostService: Service {
    let machine: Machine
    let registry: PluginRegistry
    /// The data servers to sync to (empty: the embedded server stopped before it listened).
    let endpoints: @Sendable () async -> [GRPCUploader.Endpoint]
    let machineAPI: MachineAPIOptions
    let logger: Logger

    func run() async throws {
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { [machine, logger] in
                guard (try? await gracefulShutdown()) != nil else { return }
                logger.info("stopping: closing capture files")
                machine.stop()
            }
            guard let dataManager = machine.dataManager else { return }
            let endpoints = await endpoints()
            guard !endpoints.isEmpty else { return }  // the embedded server stopped first
            let engine = try RunCommand.syncEngine(endpoints: endpoints, dataManager: dataManager, machine: machine, logger: logger)
            // A plugin's request_sync (ABI 1.1) is a manual sync, like `ferry sync now`.
            registry.syncRequestHandler = { engine.requestSync() }
            group.addTask { await withGracefulShutdownHandler { await engine.run() } onGracefulShutdown: { engine.finish() } }
            try machineAPI.start(machine, dataManager: dataManager, syncNow: { engine.requestSync() }, logger: logger, in: &group)
            group.addTask { [machine] in
                // Config reloads change sync settings too (the server itself needs a restart).
                while !Task.isCancelled && !Task.isShuttingDownGracefully {
                    try? await Task.sleep(for: .seconds(1))
                    if let current = machine.dataManager { engine.update(SyncSettings(current)) }
                }
            }
        }
    }
}
