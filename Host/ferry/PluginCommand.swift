import ArgumentParser
import FerryBSON
import FerryIsolation
import FerryLoader
import FerryRun
import Foundation
import Logging

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

        @Flag(help: "Load it in a process of its own (ferry plugin-host), as an isolated module is: a plugin that crashes while loading is reported, not fatal.")
        var isolate = false

        func run() throws {
            LogSetup.bootstrap()
            if isolate { return try inspectIsolated() }
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

        /// What the plugin process says it registered (its hello).
        private func inspectIsolated() throws {
            let library = URL(fileURLWithPath: self.library).standardizedFileURL.path
            let executable = PluginDiscovery.ownExecutable()
            let module = IsolatedModule(
                launch: PluginProcess.Launch(executable: executable, library: library), label: "plugin \(library)",
                logger: Logger(label: "ferry.plugin"))
            defer { module.shutDown() }
            do throws(PluginCallError) {
                try module.start()
            } catch {
                throw Failure(error.message)
            }
            let (name, version) = module.pluginName ?? ("?", "?")
            let models = module.models.sorted { ($0.api, $0.model) < ($1.api, $1.model) }
            if json {
                let document: BSONDocument = [
                    "path": .string(library), "name": .string(name), "version": .string(version), "process": .string("own"),
                    "models": .array(
                        models.map { ["api": .string($0.api), "model": .string($0.model), "capture_methods": .array($0.captureMethods.map(BSON.string))] }),
                    "mql_operators": .array(module.operators.map(BSON.string)),
                ]
                print(document.extendedJSON(.relaxed))
                return
            }
            print("plugin   \(name) \(version)")
            print("file     \(library)")
            print("process  its own (ferry plugin-host, pid \(module.status.pid ?? 0))")
            print("models   \(models.count)")
            for model in models {
                print("  \(model.api)  \(model.model)")
                print("    capture methods: \(model.captureMethods.isEmpty ? "none" : model.captureMethods.joined(separator: ", "))")
            }
            print("mql operators   \(module.operators.count) (served only in process)")
            for op in module.operators { print("  \(op)") }
        }
    }
}
