import ArgumentParser
import FerryBSON
import FerryLoader
import FerryMQL
import FerryMQLPlugins
import FerryRun
import Foundation

/// `ferry mql`: runs a MongoDB aggregation pipeline over documents read from a file or stdin.
struct MQLCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mql",
        abstract: "Run a MongoDB aggregation pipeline over documents.",
        discussion: """
            Reads documents as MongoDB Extended JSON (relaxed or canonical), one per line or one JSON \
            array, from standard input or --input, and prints the results as relaxed Extended JSON, \
            one per line (or one array with --array). An invalid pipeline prints nothing and exits \
            with status 1, naming the stage index, the operator and what was wrong.

            Example:
              ferry mql --pipeline '[{"$match": {"component_name": "thermo"}}, {"$group": {"_id": {"$dateTrunc": {"date": "$time_received", "unit": "hour"}}, "avg": {"$avg": "$data.readings.temperature"}}}]' < readings.jsonl
            """)

    @Option(help: "The pipeline: a JSON array of stages.")
    var pipeline: String?

    @Option(name: .customLong("pipeline-file"), help: ArgumentHelp("Read the pipeline from a file.", valueName: "file"))
    var pipelineFile: String?

    @Option(help: ArgumentHelp("Read documents from a file instead of standard input.", valueName: "file"))
    var input: String?

    @Flag(help: "Print the results as one JSON array instead of one document per line.")
    var array = false

    @Option(
        name: .customLong("collection"),
        help: ArgumentHelp("A collection $lookup may join, as name=file (repeatable).", valueName: "name=file"))
    var collections: [String] = []

    @Option(help: ArgumentHelp("The value of $$NOW, as an ISO-8601 date (default: the current time).", valueName: "date"))
    var now: String?

    @Option(
        name: .customLong("memory-limit"),
        help: ArgumentHelp("Most bytes a blocking stage may buffer (default 100 MiB).", valueName: "bytes"))
    var memoryLimit: Int?

    func validate() throws {
        if (pipeline == nil) == (pipelineFile == nil) {
            throw ValidationError("give exactly one of --pipeline and --pipeline-file")
        }
    }

    func run() throws {
        let pipelineText: String
        if let pipeline {
            pipelineText = pipeline
        } else {
            pipelineText = try readFile(pipelineFile!, what: "pipeline file")
        }
        var options = MQLOptions()
        if let memoryLimit { options.memoryLimitBytes = memoryLimit }
        // Operators from plugins ($lttb, …): the built-ins beside ferry, then FERRY_PLUGIN_PATH.
        LogSetup.bootstrap(defaultLevel: .warning)
        let plugins = PluginRegistry()
        plugins.load(paths: PluginDiscovery.builtinPlugins())
        plugins.load(paths: PluginDiscovery.pluginPathEntries(ProcessInfo.processInfo.environment["FERRY_PLUGIN_PATH"]))
        let registry: MQLOperatorRegistry
        do {
            registry = try MQLOperatorRegistry(plugins: plugins)
        } catch {
            fail("plugin operators: \(error)")
        }
        let compiled: MQLPipeline
        do {
            compiled = try MQLPipeline(json: pipelineText, registry: registry, options: options)
        } catch let error as MQLError {
            fail("invalid pipeline: \(error)")
        }

        var nowDate = Date()
        if let now {
            guard case .datetime(let ms)? = try? BSON(extendedJSON: "{\"$date\": \"\(now)\"}") else {
                fail("--now must be an ISO-8601 date like 2024-03-01T12:00:00Z, not '\(now)'")
            }
            nowDate = Date(timeIntervalSince1970: Double(ms) / 1000)
        }
        var foreign: [String: [BSONDocument]] = [:]
        for entry in collections {
            guard let equals = entry.firstIndex(of: "=") else {
                fail("--collection must be name=file, not '\(entry)'")
            }
            let name = String(entry[..<equals]), path = String(entry[entry.index(after: equals)...])
            foreign[name] = parseDocuments(try readFile(path, what: "collection '\(name)'"), source: path)
        }
        let collectionsByName = foreign
        let lookup: @Sendable (String) throws -> [BSONDocument] = { name in
            guard let docs = collectionsByName[name] else {
                throw MQLError(message: "$lookup from '\(name)': no such collection; pass it with --collection \(name)=FILE")
            }
            return docs
        }

        let text: String
        if let input {
            text = try readFile(input, what: "input file")
        } else {
            text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
        }
        let docs = parseDocuments(text, source: input ?? "standard input")

        let results: [BSONDocument]
        do {
            results = try compiled.run(docs, context: MQLContext(now: nowDate, lookup: lookup))
        } catch let error as MQLError {
            fail("pipeline failed: \(error)")
        }
        var out = ""
        if array {
            out = "[" + results.map { $0.extendedJSON(.relaxed) }.joined(separator: ",\n") + "]\n"
        } else {
            for doc in results {
                out += doc.extendedJSON(.relaxed)
                out += "\n"
            }
        }
        FileHandle.standardOutput.write(Data(out.utf8))
    }

    private func readFile(_ path: String, what: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            fail("cannot read the \(what) '\(path)'")
        }
        return String(decoding: data, as: UTF8.self)
    }

    private func parseDocuments(_ text: String, source: String) -> [BSONDocument] {
        do {
            return try BSONDocument.parseExtendedJSONDocuments(text)
        } catch {
            fail("cannot read documents from \(source): \(error)")
        }
    }

    private func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("ferry mql: \(message)\n".utf8))
        Foundation.exit(1)
    }
}
