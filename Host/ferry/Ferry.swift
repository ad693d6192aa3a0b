import ArgumentParser

@main
struct Ferry: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ferry",
        abstract: "Data management for robots and edge machines: capture, sync, query, pipelines.",
        subcommands: [RunCommand.self, CaptureCommand.self, PluginCommand.self, MQLCommand.self])
}
