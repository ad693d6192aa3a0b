import ArgumentParser
import Dispatch
import FerryLoader
import FerryMachine
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
            """)

    @Argument(help: "The machine config (Viam's JSON format).")
    var config: String

    func run() async throws {
        LogSetup.bootstrap()
        let logger = Logger(label: "ferry")
        let registry = PluginRegistry()
        let machine = Machine(configPath: config, registry: registry)
        // Handlers first, so a signal during start-up still closes files cleanly.
        Self.stopOnSignals(machine, logger: logger)
        registry.load(paths: PluginDiscovery.builtinPlugins())
        registry.load(paths: PluginDiscovery.pluginPathEntries(ProcessInfo.processInfo.environment["FERRY_PLUGIN_PATH"]))
        do {
            try machine.start()
        } catch {
            throw Failure("\(error)")
        }
        logger.info("running \(config); Ctrl-C to stop")
        // Everything runs on Dispatch queues; this task only waits. SIGINT/SIGTERM end the process.
        while true { try await Task.sleep(for: .seconds(3600)) }
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
