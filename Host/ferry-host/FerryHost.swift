import ArgumentParser
import FerryConfig
import FerryRun

/// The host alone: what `ferry run` becomes when the run needs none of the data server's code
/// (see `RunCommand.hostOnlyExecutable`), and the `plugin-host` its isolated plugins run in.
/// Linking only the host keeps the process small: a fraction of `ferry`'s code and relocations,
/// and no Foundation (its libraries are not even loaded).
@main
struct FerryHost: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ferry-host",
        abstract: "The Ferry host alone (started by ferry run): plugins, capture and sync to a data server.",
        version: FerryVersion.current,
        subcommands: [HostRunCommand.self, PluginHostCommand.self])
}

struct HostRunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Run the host, syncing to the data server the config names (see ferry run --help).")

    @OptionGroup var host: HostRunOptions

    func run() async throws {
        _ = HostRestart.inherited  // before anything is opened: what a restart must keep
        LogSetup.bootstrap(format: host.logging.logFormat)
        // The host alone serves no MQL: only the plugins the config uses are loaded.
        let running = try await HostRun.start(host, builtinsOnFirstUse: true)
        defer { running.machine.stop() }
        guard let dataManager = running.machine.dataManager else { return }
        let servers = HostRun.servers(dataManager)
        guard !servers.isEmpty else {
            throw Failure("\(host.config) names no data server (data_manager's ferry.server); ferry run serves one itself, ferry-host cannot")
        }
        running.logger.info("running \(host.config); Ctrl-C to stop")
        try await running.signals.run([HostService(host: running, endpoints: { servers })], grace: host.shutdown.grace, logger: running.logger)
        running.logger.info("stopped")
    }
}
