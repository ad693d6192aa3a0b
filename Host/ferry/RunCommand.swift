import ArgumentParser
import Dispatch
import FerryAPI
import FerryBSON
import FerryConfig
import FerryLoader
import FerryMachine
import FerryMachineAPI
import FerrySync
import Foundation
import Logging

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

            Finished capture files are synced to the data server named in the data_manager's `ferry` attributes, \
            or, when none is named, to an embedded data server in this process (data in `ferry-data` beside the \
            capture directory). See `ferry sync status`.
            """)

    @Argument(help: "The machine config (Viam's JSON format).")
    var config: String

    @Option(name: .customLong("metrics-listen"), help: "Serve Prometheus metrics (GET /metrics) on HOST:PORT; off by default.")
    var metricsListen: String?

    @OptionGroup var machineAPI: MachineAPIOptions

    func run() async throws {
        LogSetup.bootstrap()
        let logger = Logger(label: "ferry")
        let registry = PluginRegistry()
        var options = Machine.Options()
        options.remotes = GRPCRemoteConnector()
        let machine = Machine(configPath: config, registry: registry, options: options)
        // Handlers first, so a signal during start-up still closes files cleanly.
        Self.stopOnSignals(machine, logger: logger)
        registry.load(paths: PluginDiscovery.builtinPlugins())
        registry.load(paths: PluginDiscovery.pluginPathEntries(ProcessInfo.processInfo.environment["FERRY_PLUGIN_PATH"]))
        do {
            try machine.start()
        } catch {
            throw Failure("\(error)")
        }
        if let metricsListen { try await MetricsEndpoint.serve(metricsListen, logger: logger) }
        logger.info("running \(config); Ctrl-C to stop")
        // Capture runs on Dispatch queues; these tasks sync (and serve, when embedded) until a
        // signal ends the process.
        try await withThrowingDiscardingTaskGroup { group in
            guard let dataManager = machine.dataManager else { return }
            let endpoint: GRPCUploader.Endpoint
            if let server = dataManager.ferry.server {
                let parts = server.split(separator: ":")
                endpoint = GRPCUploader.Endpoint(
                    host: String(parts[0]), port: Int(parts[1])!, apiKeyID: dataManager.ferry.apiKeyID ?? "",
                    apiKey: dataManager.ferry.apiKey ?? "", caCertificate: dataManager.ferry.caCert, insecure: dataManager.ferry.insecure)
            } else {
                endpoint = try await EmbeddedDataServer.start(dataManager, plugins: registry, logger: logger, in: &group)
            }
            let engine = try Self.syncEngine(endpoint: endpoint, dataManager: dataManager, machine: machine, logger: logger)
            // A plugin's request_sync (ABI 1.1) is a manual sync, like `ferry sync now`.
            registry.syncRequestHandler = { engine.requestSync() }
            group.addTask { await engine.run() }
            try machineAPI.start(machine, dataManager: dataManager, syncNow: { engine.requestSync() }, logger: logger, in: &group)
            group.addTask {
                // Config reloads change sync settings too (the server itself needs a restart).
                while !Task.isCancelled {
                    try await Task.sleep(for: .seconds(1))
                    if let current = machine.dataManager { engine.update(SyncSettings(current)) }
                }
            }
        }
    }

    static func syncEngine(endpoint: GRPCUploader.Endpoint, dataManager: DataManagerConfig, machine: Machine, logger: Logger) throws
        -> SyncEngine
    {
        let uploader: GRPCUploader
        do {
            uploader = try GRPCUploader(endpoint: endpoint, logger: Logger(label: "ferry.sync"))
        } catch {
            throw Failure("cannot set up sync to \(endpoint.address): \(error)")
        }
        var environment = SyncEngine.Environment()
        environment.finishOpenFiles = { machine.finishCaptureFiles() }
        environment.shouldSync = {
            // Viam's selective sync: the named sensor's Readings must say should_sync: true.
            guard let name = machine.dataManager?.selectiveSyncerName else { return true }
            guard case .document(let readings)? = machine.readings(of: name)?["readings"] else { return false }
            return readings["should_sync"] == .bool(true)
        }
        logger.info("syncing \(dataManager.captureDir) to \(endpoint.address) every \(dataManager.syncIntervalMins * 60) s")
        return SyncEngine(settings: SyncSettings(dataManager), server: endpoint.address, uploader: uploader, environment: environment)
    }

    /// SIGINT/SIGTERM: stop every collector (closing files .prog → .capture), then exit 0.
    static func stopOnSignals(_ machine: Machine, logger: Logger) {
        let queue = DispatchQueue(label: "ferry.signals")
        for signalNumber in [SIGINT, SIGTERM] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: queue)
            source.setEventHandler {
                logger.info("stopping: closing capture files")
                machine.stop()
                Glibc.exit(0)
            }
            source.resume()
            SignalSources.keep(source)
        }
    }
}

/// Signal sources must outlive the function that made them.
enum SignalSources {
    nonisolated(unsafe) private static var sources: [DispatchSourceSignal] = []
    // nonisolated(unsafe): appended only during start-up, on the main thread, before dispatchMain.
    static func keep(_ source: DispatchSourceSignal) { sources.append(source) }
}
