import ArgumentParser
import FerryConfig
import FerryRun

@main
struct Ferry: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ferry",
        abstract: "Data management for robots and edge machines: capture, sync, query, pipelines.",
        version: FerryVersion.current,
        subcommands: [
            RunCommand.self, CaptureCommand.self, PluginCommand.self, MQLCommand.self, ServeCommand.self, OrgCommand.self,
            KeyCommand.self, DataCommand.self, SyncCommand.self, PipelinesCommand.self, HILCommand.self, ModuleCommand.self,
            StoreCommand.self, PluginHostCommand.self,
        ])

    /// Parses the command line after `BooleanFlags` has rewritten Viam-style `--flag=True`.
    static func main() async {
        do {
            await main(try BooleanFlags.normalize(Array(CommandLine.arguments.dropFirst())))
        } catch {
            exit(withError: error)
        }
    }
}
