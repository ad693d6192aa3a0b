import ArgumentParser
import FerryBSON
import FerryLoader
import Foundation

struct PluginCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plugin", abstract: "Inspect plugin libraries.", subcommands: [Inspect.self])

    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Load a plugin library and print its name, version, ABI version, models and MQL operators.")

        @Argument(help: "The plugin's shared library (.so).")
        var library: String

        @Flag(help: "Print one JSON object instead of text.")
        var json = false

        func run() throws {
            LogSetup.bootstrap()
            let info: PluginInfo
            do {
                info = try PluginRegistry().load(path: library)
            } catch {
                throw Failure(error.description)
            }
            if json {
                let document: BSONDocument = [
                    "path": .string(info.path), "name": .string(info.name), "version": .string(info.version),
                    "abi": .string("\(info.abiMajor).\(info.abiMinor)"),
                    "models": .array(
                        info.models.map {
                            [
                                "api": .string($0.api), "model": .string($0.model),
                                "capture_methods": .array($0.captureMethods.map(BSON.string)), "thread_safe": .bool($0.threadSafe),
                            ]
                        }),
                    "mql_operators": .array(info.operators.map { ["name": .string($0.name), "kind": .string($0.kind.rawValue)] }),
                ]
                print(document.extendedJSON(.relaxed))
                return
            }
            print("plugin   \(info.name) \(info.version)")
            print("file     \(info.path)")
            print("abi      \(info.abiMajor).\(info.abiMinor)")
            print("models   \(info.models.count)")
            for model in info.models {
                let safety = model.threadSafe ? " (thread-safe)" : ""
                print("  \(model.api)  \(model.model)\(safety)")
                print("    capture methods: \(model.captureMethods.isEmpty ? "none" : model.captureMethods.joined(separator: ", "))")
            }
            print("mql operators   \(info.operators.count)")
            for op in info.operators { print("  \(op.name)  (\(op.kind.rawValue))") }
        }
    }
}
