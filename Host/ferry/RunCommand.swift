import ArgumentParser
import Dispatch
import FerryAPI
import FerryBSON
import FerryConfig
import FerryLoader
import FerryMachine
import FerryIsolation
import FerryMachineAPI
import FerryRun
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

            When the config names a data server and neither --listen, --metrics-listen nor traces (OTEL_*) are \
            asked for, ferry run becomes `ferry-host` from beside it (same pid and arguments): the host alone, \
            without the server's code, in a fraction of the memory. It loads a built-in plugin only once the \
            config names one of its models (what each provides is learned by `ferry plugin inspect` in a child \
            process and kept in <capture_dir>/.ferry/builtin-plugins.json). FERRY_RUN_IN_PROCESS=1 keeps it in ferry.
            """)

    @OptionGroup var host: HostRunOptions

    @Option(name: .customLong("metrics-listen"), help: "Serve Prometheus metrics (GET /metrics) and health probes (GET /healthz, /readyz) on HOST:PORT; off by default.")
    var metricsListen: String?

    @OptionGroup var machineAPI: MachineAPIOptions

    func run() async throws {
        _ = HostRestart.inherited  // before anything is opened: what a restart must keep
        if let hostOnly = hostOnlyExecutable() {
            HostRestart.become(hostOnly, arguments: [hostOnly, "run"] + host.arguments)
        }
        LogSetup.bootstrap(format: host.logging.logFormat, provider: TraceSetup.loggingMetadataProvider())
        let running = try await HostRun.start(host)
        let (machine, logger) = (running.machine, running.logger)
        defer { machine.stop() }
        // Capture runs on Dispatch queues; the services sync (and serve, when embedded) until a
        // signal stops them: the host first (capture files closed, uploads in flight finished),
        // then the embedded server (calls and pipeline runs in flight finished, lease handed back).
        var services: [any Service] = []
        var endpoints: @Sendable () async -> [GRPCUploader.Endpoint] = { [] }
        var embeddedNotReady: @Sendable () async -> [String] = { [] }
        if let dataManager = machine.dataManager {
            let servers = HostRun.servers(dataManager)
            if !servers.isEmpty {
                endpoints = { servers }
            } else {
                let embedded = try await EmbeddedDataServer.prepare(
                    dataManager, plugins: running.registry, isolated: machine.isolatedPlugins, logger: logger)
                services.append(embedded.service)
                endpoints = { await embedded.endpoint().map { [$0] } ?? [] }
                embeddedNotReady = embedded.notReady
            }
        }
        if let metricsListen {
            let serverNotReady = embeddedNotReady
            try await MetricsEndpoint.serve(metricsListen, logger: logger) {
                machine.notReady + (running.signals.isStopping ? ["ferry run is stopping"] : []) + (await serverNotReady())
            }
        }
        logger.info("running \(host.config); Ctrl-C to stop")
        services.append(
            HostService(host: running, endpoints: endpoints) { [machineAPI] dataManager, syncNow, group in
                try machineAPI.start(machine, dataManager: dataManager, syncNow: syncNow, logger: logger, in: &group)
            })
        if let tracing = try TraceSetup.start(serviceName: "ferry-run", logger: logger) { services.insert(tracing, at: 0) }
        try await running.signals.run(services, grace: host.shutdown.grace, logger: logger)
        logger.info("stopped")
    }

    /// `ferry-host`, beside this executable, when this run needs nothing it lacks: a data server
    /// named in the config (no embedded server), no --listen, no --metrics-listen, no traces.
    /// Nil runs the host in this process (also when FERRY_RUN_IN_PROCESS=1, or the config does
    /// not parse: the error is reported here).
    func hostOnlyExecutable() -> String? {
        let environment = ProcessInfo.processInfo.environment
        guard environment["FERRY_RUN_IN_PROCESS"] != "1", machineAPI.listen == nil, metricsListen == nil, !TraceSetup.requested(environment),
            let config = try? ConfigParser.load(file: host.config), !config.dataManager.ferry.servers.isEmpty
        else { return nil }
        let path = PluginDiscovery.executableDirectory().appendingPathComponent("ferry-host").path
        return access(path, X_OK) == 0 ? path : nil
    }
}
