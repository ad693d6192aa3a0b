import ArgumentParser
import FerryIsolation
import Foundation
import Logging

/// The child side of an isolated plugin: `ferry run` starts one per isolated module, with the
/// channel on fd 3. Not for people to run, so hidden from help.
package struct PluginHostCommand: ParsableCommand {
    package static let configuration = CommandConfiguration(
        commandName: "plugin-host",
        abstract: "Serve one plugin library to a ferry run over the channel on file descriptor 3 (started by ferry run).",
        shouldDisplay: false)

    @Argument(help: "The plugin's shared library (.so).")
    package var library: String

    @Option(name: .customLong("memory-limit-mb"), help: "Limit this process's address space (setrlimit RLIMIT_AS) before loading the plugin.")
    package var memoryLimitMB: Int?

    @Option(help: "Join this cgroup v2 group (made by the host with the module's cpu.max) before loading the plugin.")
    package var cgroup: String?

    @Flag(name: .customLong("shared-ring"), help: "The host put a shared-memory ring for calls on file descriptor 4, and its doorbells on 5 and 6.")
    package var sharedRing = false

    package init() {}

    package func run() throws {
        // Plain lines on stderr: the host forwards each to its own log, naming the module.
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = ProcessInfo.processInfo.environment["FERRY_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
            return handler
        }
        let status = PluginHostServer.run(library: library, memoryLimitMB: memoryLimitMB, cgroup: cgroup, sharedRing: sharedRing)
        if status != 0 { throw ExitCode(status) }
    }
}
