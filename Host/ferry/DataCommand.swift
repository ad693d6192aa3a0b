import ArgumentParser
import FerryAPI
import FerryBSON
import FerryLoader
import FerryMQL
import FerryMQLPlugins
import FerryRun
import Foundation
import GRPCCore

struct DataCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "data", abstract: "Query, export, delete and tag stored data; datasets; MongoDB users.", subcommands: [Query.self, ExportCommand.self, DeleteCommand.self, TagCommand.self, DatasetCommand.self, DatabaseCommand.self])

    struct Query: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run an MQL or SQL query over an organisation's data in a data directory; one JSON line per row.")

        @OptionGroup var store: StoreArguments
        @Option(help: "The organisation id (with --pipeline-sink, the pipeline's by default).") var org: String?
        @Option(help: "An MQL pipeline: a JSON array of stages.") var mql: String?
        @Option(help: "A SQL query over the `readings` table.") var sql: String?
        @Option(name: .customLong("pipeline-sink"), help: "Query this pipeline's results instead of the readings.") var pipelineSink: String?
        @Flag(name: .customLong("hot-storage"), help: "Query hot storage (recent readings) instead of all readings.") var hotStorage = false

        func validate() throws {
            if (mql == nil) == (sql == nil) { throw ValidationError("give exactly one of --mql and --sql") }
            if sql != nil, pipelineSink != nil || hotStorage { throw ValidationError("--sql queries the readings table only") }
            if org == nil, pipelineSink == nil { throw ValidationError("--org is needed (only --pipeline-sink knows its organisation)") }
        }

        func run() async throws {
            LogSetup.bootstrap(defaultLevel: .warning)
            let store = try await self.store.open()
            var organization = org
            if organization == nil, let pipelineSink { organization = try await store.pipeline(id: pipelineSink)?.organizationID }
            guard let org = organization else {
                throw Failure(
                    "no pipeline \(pipelineSink ?? "") in \(self.store.location); `ferry pipelines list \(self.store.flag) --org-id ORG` lists them")
            }
            var rows: [BSONDocument]
            do {
                if let sql {
                    rows = try await store.tabularDataBySQL(organizationID: org, source: .standard, query: sql)
                } else {
                    let stages: [BSONDocument]
                    do {
                        stages = try BSONDocument.parseExtendedJSONDocuments(mql!)
                    } catch {
                        throw Failure("--mql must be a JSON array of stage documents: \(error)")
                    }
                    let plugins = PluginRegistry()
                    plugins.load(paths: PluginDiscovery.builtinPlugins())
                    let source: QueryRunner.Source = pipelineSink.map { .pipelineSink($0) } ?? (hotStorage ? .hotStorage : .standard)
                    rows = try await QueryRunner(store: store, operators: try MQLOperatorRegistry(plugins: plugins)).mql(
                        stages, organizationID: org, source: source)
                }
            } catch let error as RPCError {
                throw Failure(error.message)
            }
            for row in rows { print(row.extendedJSON(.relaxed)) }
        }
    }
}
