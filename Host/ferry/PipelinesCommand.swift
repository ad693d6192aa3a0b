import ArgumentParser
import FerryBSON
import FerryLoader
import FerryMQL
import FerryMQLPlugins
import FerryPipelines
import FerryRun
import FerryStore
import Foundation

/// `ferry pipelines …`: the same operations as `viam datapipelines`, on a data directory. They
/// write the database directly; a running `ferry serve` on that directory picks the change up at
/// its scheduler's next poll.
struct PipelinesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pipelines",
        abstract: "Manage data pipelines: scheduled MQL over time windows, with results in a sink.",
        discussion: """
            Each tick of the 5-field UTC cron schedule runs the window [previous tick, tick) over the \
            organisation's readings; results land in the sink `sink-<id>`, read with \
            `ferry data query --pipeline-sink ID --mql '[…]'`.
            """,
        subcommands: [Create.self, List.self, Get.self, Rename.self, Update.self, Enable.self, Disable.self, Delete.self, Runs.self])

    struct Target: ParsableArguments {
        @Option(help: "The pipeline id.") var id: String
        @Option(name: .customLong("org-id"), help: "The organisation id (optional: checks the pipeline belongs to it).")
        var orgID: String?
    }

    struct Query: ParsableArguments {
        @Option(help: "The MQL stages: a JSON array of stage objects.") var mql: String?
        @Option(name: .customLong("mql-path"), help: "A file holding the MQL stages as a JSON array.") var mqlPath: String?

        /// The stages given, or nil when neither option was.
        func stages() throws -> [BSONDocument]? {
            if mql != nil, mqlPath != nil { throw ValidationError("give --mql or --mql-path, not both") }
            var text = mql
            if let mqlPath {
                do {
                    text = try String(contentsOfFile: mqlPath, encoding: .utf8)
                } catch {
                    throw Failure("cannot read --mql-path \(mqlPath): \(error.localizedDescription)")
                }
            }
            guard let text else { return nil }
            do {
                return try BSONDocument.parseExtendedJSONDocuments(text)
            } catch {
                throw Failure("the MQL must be a JSON array of stage objects: \(error)")
            }
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a pipeline; prints its id alone (--json: an object).")
        @OptionGroup var location: StoreArguments
        @Option(name: .customLong("org-id"), help: "The organisation id.") var orgID: String
        @Option(help: "A name, unique in the organisation.") var name: String
        @Option(help: "5-field cron schedule in UTC, e.g. \"0 * * * *\" (hourly).") var schedule: String
        @OptionGroup var query: Query
        @Option(
            name: .customLong("data-source-type"),
            help: "standard | hotstorage | pipeline-sink (with --source-pipeline: read another pipeline's results).")
        var dataSourceType = "standard"
        @Option(name: .customLong("source-pipeline"), help: "For --data-source-type pipeline-sink: the pipeline whose sink to read.")
        var sourcePipeline: String?
        @Flag(
            name: .customLong("enable-backfill"),
            help: "Run every historical window back to the earliest data, and re-run windows late data changes (also --enable-backfill=true|false, any case).")
        var enableBackfill = false
        @Flag(help: "Print a JSON object instead of the id.") var json = false

        func run() async throws {
            guard let stages = try query.stages() else { throw ValidationError("give the stages with --mql or --mql-path") }
            let source = try PipelineCLI.source(dataSourceType, sourcePipeline: sourcePipeline)
            let record = try await PipelineCLI.perform(location) { manager in
                try await manager.create(
                    organizationID: orgID, name: name, schedule: schedule, stages: stages, enableBackfill: enableBackfill,
                    source: source)
            }
            print(json ? PipelineCLI.json(record) : record.id)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List an organisation's pipelines: id, name, schedule, enabled or disabled, source.")
        @OptionGroup var location: StoreArguments
        @Option(name: .customLong("org-id"), help: "The organisation id.") var orgID: String
        @Flag(help: "One JSON object per line.") var json = false

        func run() async throws {
            let pipelines = try await PipelineCLI.perform(location) { try await $0.list(organizationID: orgID) }
            for p in pipelines {
                print(
                    json
                        ? PipelineCLI.json(p)
                        : "\(p.id)  \(p.name)  \"\(p.schedule)\"  \(p.enabled ? "enabled" : "disabled")  \(PipelineCLI.sourceName(p.source))")
            }
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a pipeline, with its backfill progress.")
        @OptionGroup var location: StoreArguments
        @OptionGroup var target: Target
        @Flag(help: "A JSON object.") var json = false

        func run() async throws {
            let p = try await PipelineCLI.perform(location) { try await $0.get(organizationID: target.orgID, id: target.id) }
            if json {
                print(PipelineCLI.json(p))
                return
            }
            print("id:              \(p.id)")
            print("name:            \(p.name)")
            print("organization_id: \(p.organizationID)")
            print("schedule:        \(p.schedule) (UTC)")
            print("enabled:         \(p.enabled)")
            print("data source:     \(PipelineCLI.sourceName(p.source))")
            print("backfill:        \(p.enableBackfill)")
            print("progress:        \(PipelineCLI.progress(p))")
            print("sink:            \(SinkWindow.collectionName(pipelineID: p.id))")
            print("created:         \(ISODate.string(p.createdAt))")
            print("updated:         \(ISODate.string(p.updatedAt))")
            print("mql:             \(BSON.array(p.stages.map { .document($0) }).extendedJSON(.relaxed))")
        }
    }

    struct Rename: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Rename a pipeline.")
        @OptionGroup var location: StoreArguments
        @OptionGroup var target: Target
        @Option(help: "The new name.") var name: String

        func run() async throws {
            _ = try await PipelineCLI.perform(location) {
                try await $0.rename(organizationID: target.orgID, id: target.id, name: name)
            }
        }
    }

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change a pipeline's query and/or schedule (beyond Viam, where only the name can change).",
            discussion: """
                New windows use the new definition; results already in the sink stay, unless --recompute: \
                then the sink is emptied and every window back to the earliest data runs again (as a backfill).
                """)
        @OptionGroup var location: StoreArguments
        @OptionGroup var target: Target
        @Option(help: "A new 5-field cron schedule in UTC.") var schedule: String?
        @OptionGroup var query: Query
        @Flag(help: "Recompute all history with the new definition.") var recompute = false

        func run() async throws {
            let stages = try query.stages()
            if stages == nil, schedule == nil, !recompute {
                throw ValidationError("give --mql/--mql-path and/or --schedule (or --recompute)")
            }
            _ = try await PipelineCLI.perform(location) {
                try await $0.update(organizationID: target.orgID, id: target.id, schedule: schedule, stages: stages, recompute: recompute)
            }
        }
    }

    struct Enable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Enable a pipeline. Windows missed while it was disabled are skipped, unless --backfill-missed.")
        @OptionGroup var location: StoreArguments
        @OptionGroup var target: Target
        @Flag(name: .customLong("backfill-missed"), help: "Also run the windows missed while disabled (beyond Viam).")
        var backfillMissed = false

        func run() async throws {
            _ = try await PipelineCLI.perform(location) {
                try await $0.setEnabled(organizationID: target.orgID, id: target.id, enabled: true, backfillMissed: backfillMissed)
            }
        }
    }

    struct Disable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Disable a pipeline: no new run starts (running ones finish).")
        @OptionGroup var location: StoreArguments
        @OptionGroup var target: Target

        func run() async throws {
            _ = try await PipelineCLI.perform(location) {
                try await $0.setEnabled(organizationID: target.orgID, id: target.id, enabled: false)
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a pipeline, its run history and its sink.")
        @OptionGroup var location: StoreArguments
        @OptionGroup var target: Target

        func run() async throws {
            try await PipelineCLI.perform(location) { try await $0.delete(organizationID: target.orgID, id: target.id) }
        }
    }

    struct Runs: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List a pipeline's runs, newest first: id, status, window, kind, output count or error.",
            discussion: "A summary with backfill progress goes to standard error; the runs to standard output.")
        @OptionGroup var location: StoreArguments
        @OptionGroup var target: Target
        @Option(name: .customLong("page-size"), help: "Runs per page.") var pageSize = 50
        @Option(name: .customLong("page-token"), help: "The token printed after the previous page.") var pageToken: String?
        @Flag(help: "One JSON object per line.") var json = false

        func run() async throws {
            let (pipeline, page, counts) = try await PipelineCLI.perform(location) { manager in
                let pipeline = try await manager.get(organizationID: target.orgID, id: target.id)
                let page = try await manager.runs(organizationID: target.orgID, id: target.id, pageSize: pageSize, pageToken: pageToken)
                return (pipeline, page, try await manager.runCounts(id: target.id))
            }
            let summary = PipelineRunStatus.allCases.map { "\(counts[$0] ?? 0) \($0.rawValue.lowercased())" }.joined(separator: ", ")
            FileHandle.standardError.write(Data("\(pipeline.name): \(summary); \(PipelineCLI.progress(pipeline))\n".utf8))
            for run in page.runs {
                if json {
                    print(PipelineCLI.json(run))
                } else {
                    let outcome =
                        run.status == .failed ? "error: \(run.errorMessage ?? "")" : run.outputCount.map { "\($0) documents" } ?? ""
                    print(
                        "\(run.id)  \(run.status.rawValue)  [\(ISODate.string(run.window.start)), \(ISODate.string(run.window.end)))  \(run.kind.rawValue)  \(outcome)")
                }
            }
            if let next = page.nextPageToken { FileHandle.standardError.write(Data("next page: --page-token \(next)\n".utf8)) }
        }
    }
}

/// What the subcommands share.
enum PipelineCLI {
    /// Opens the store, runs `body` with a manager, and turns pipeline and store errors into messages.
    static func perform<T: Sendable>(_ location: StoreArguments, _ body: (PipelineManager) async throws -> T) async throws -> T {
        LogSetup.bootstrap(defaultLevel: .warning)
        let store = try await location.open()
        let plugins = PluginRegistry()
        plugins.load(paths: PluginDiscovery.builtinPlugins())
        let manager = PipelineManager(store: store, operators: try MQLOperatorRegistry(plugins: plugins))
        do {
            return try await body(manager)
        } catch let error as PipelineError {
            throw Failure(error.message)
        } catch let error as StoreError {
            throw Failure(error.message)
        }
    }

    static func source(_ type: String, sourcePipeline: String?) throws -> PipelineSource {
        switch type.lowercased() {
        case "standard":
            guard sourcePipeline == nil else { throw ValidationError("--source-pipeline goes with --data-source-type pipeline-sink") }
            return .standard
        case "hotstorage", "hot-storage", "hot_storage":
            guard sourcePipeline == nil else { throw ValidationError("--source-pipeline goes with --data-source-type pipeline-sink") }
            return .hotStorage
        case "pipeline-sink", "pipelinesink", "pipeline_sink":
            guard let sourcePipeline else { throw ValidationError("--data-source-type pipeline-sink needs --source-pipeline ID") }
            return .pipelineSink(sourcePipeline)
        default:
            throw ValidationError("--data-source-type must be standard, hotstorage or pipeline-sink, not \(type)")
        }
    }

    static func sourceName(_ source: PipelineSource) -> String {
        switch source {
        case .standard: "standard"
        case .hotStorage: "hotstorage"
        case .pipelineSink(let id): "pipeline-sink \(id)"
        }
    }

    static func progress(_ p: PipelineRecord) -> String {
        var parts = ["windows scheduled through \(ISODate.string(p.scheduledThrough))"]
        if let cursor = p.backfillCursor {
            parts.append(
                "backfill in progress: windows ending at or before \(ISODate.string(cursor)) remain, down to \(p.backfillFloor.map(ISODate.string) ?? "the earliest data")")
        } else if p.enableBackfill {
            parts.append("backfill done")
        }
        if !p.enabled { parts.append("disabled: no new runs") }
        return parts.joined(separator: "; ")
    }

    static func json(_ p: PipelineRecord) -> String {
        let document: BSONDocument = [
            "id": .string(p.id), "organization_id": .string(p.organizationID), "name": .string(p.name),
            "schedule": .string(p.schedule), "mql": .array(p.stages.map { .document($0) }), "enabled": .bool(p.enabled),
            "enable_backfill": .bool(p.enableBackfill), "data_source_type": .string(sourceName(p.source)),
            "created_on": .datetime(p.createdAt), "updated_at": .datetime(p.updatedAt),
            "backfill_remaining_through": p.backfillCursor.map { BSON.datetime($0) } ?? .null,
            "scheduled_through": .datetime(p.scheduledThrough),
        ]
        return document.extendedJSON(.relaxed)
    }

    static func json(_ run: PipelineRunRecord) -> String {
        let document: BSONDocument = [
            "id": .string(run.id), "status": .string(run.status.rawValue), "kind": .string(run.kind.rawValue),
            "data_start_time": .datetime(run.window.start), "data_end_time": .datetime(run.window.end),
            "start_time": run.startedAt.map { BSON.datetime($0) } ?? .null, "end_time": run.endedAt.map { BSON.datetime($0) } ?? .null,
            "error_message": run.errorMessage.map { BSON.string($0) } ?? .null,
            "output_count": run.outputCount.map { BSON.int64(Int64($0)) } ?? .null,
        ]
        return document.extendedJSON(.relaxed)
    }
}
