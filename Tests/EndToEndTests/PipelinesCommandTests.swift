import FerryTestSupport
import Foundation
import Testing

/// `ferry pipelines …` as a user runs it against a data directory: scriptable output, refusals with reasons.
@Suite(.ownThreads) struct PipelinesCommandTests {
    static let mql =
        #"[{"$match": {"component_name": "sensor"}}, {"$group": {"_id": "$location_id", "avg_temp": {"$avg": "$data.readings.temperature"}, "count": {"$sum": 1}}}, {"$project": {"location": "$_id", "avg_temp": 1, "count": 1, "_id": 0}}]"#

    func ferry(_ arguments: [String], data: String) throws -> (status: Int32, stdout: String, stderr: String) {
        try FerryProcess.run(arguments + ["--data", data])
    }

    @Test func createListGetRenameUpdateDisableEnableRunsDelete() throws {
        let dir = try TemporaryDirectory("ferry-pipelines-cli")
        defer { dir.remove() }
        let org = try ferry(["org", "create", "acme"], data: dir.path).stdout.trimmingCharacters(in: .whitespacesAndNewlines)

        let created = try ferry(
            [
                "pipelines", "create", "--org-id", org, "--name", "sensor-counts", "--schedule", "0 * * * *",
                "--data-source-type", "standard", "--enable-backfill=true", "--mql", Self.mql,
            ], data: dir.path)
        #expect(created.status == 0, "\(created.stderr)")
        let id = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(UUID(uuidString: id) != nil, "create prints the id alone: \(created.stdout)")

        let list = try ferry(["pipelines", "list", "--org-id", org], data: dir.path)
        #expect(list.stdout.contains(id) && list.stdout.contains("sensor-counts") && list.stdout.contains("enabled"))

        try #"[{"$match": {"component_name": "sensor"}}, {"$count": "n"}]"#.write(
            toFile: dir.file("q.json"), atomically: true, encoding: .utf8)
        #expect(try ferry(["pipelines", "rename", "--id", id, "--name", "counts"], data: dir.path).status == 0)
        let update = try ferry(
            ["pipelines", "update", "--id", id, "--mql-path", dir.file("q.json"), "--schedule", "*/15 * * * *"], data: dir.path)
        #expect(update.status == 0, "\(update.stderr)")
        #expect(try ferry(["pipelines", "disable", "--id", id], data: dir.path).status == 0)
        let get = try ferry(["pipelines", "get", "--id", id, "--json"], data: dir.path)
        #expect(get.stdout.contains(#""name":"counts""#), "\(get.stdout)")
        #expect(get.stdout.contains(#""schedule":"*/15 * * * *""#))
        #expect(get.stdout.contains(#""enabled":false"#))
        #expect(get.stdout.contains(#""$count":"n""#))
        #expect(try ferry(["pipelines", "enable", "--id", id, "--backfill-missed"], data: dir.path).status == 0)

        let runs = try ferry(["pipelines", "runs", "--id", id], data: dir.path)
        #expect(runs.status == 0, "\(runs.stderr)")
        #expect(runs.stderr.contains("0 completed"), "the summary goes to stderr: \(runs.stderr)")

        #expect(try ferry(["pipelines", "delete", "--id", id], data: dir.path).status == 0)
        let gone = try ferry(["pipelines", "get", "--id", id], data: dir.path)
        #expect(gone.status != 0 && gone.stderr.contains("no pipeline \(id)"), "\(gone.stderr)")
    }

    /// The issue's own commands, verbatim: no --data (FERRY_DATA names the directory, else
    /// ./ferry-data), and the sink's organisation is the pipeline's.
    @Test func theDocumentedCommandsNeedNoDataFlag() throws {
        let dir = try TemporaryDirectory("ferry-pipelines-cli")
        defer { dir.remove() }
        let environment = ["FERRY_DATA": dir.file("data")]
        let org = try FerryProcess.run(["org", "create", "acme"], environment: environment).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let created = try FerryProcess.run(
            [
                "pipelines", "create", "--org-id", org, "--name", "sensor-counts", "--schedule", "0 * * * *",
                "--data-source-type", "standard", "--enable-backfill=true", "--mql", Self.mql,
            ], environment: environment)
        #expect(created.status == 0, "\(created.stderr)")
        let id = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(FileManager.default.fileExists(atPath: dir.file("data/store.sqlite")))
        let sink = try FerryProcess.run(["data", "query", "--pipeline-sink", id, "--mql", "[]"], environment: environment)
        #expect(sink.status == 0 && sink.stdout.isEmpty, "\(sink.stderr)")
        let unknown = try FerryProcess.run(["data", "query", "--pipeline-sink", "nope", "--mql", "[]"], environment: environment)
        #expect(unknown.status != 0 && unknown.stderr.contains("no pipeline nope"), "\(unknown.stderr)")
        let noOrg = try FerryProcess.run(["data", "query", "--mql", "[]"], environment: environment)
        #expect(noOrg.status != 0 && noOrg.stderr.contains("--org is needed"), "\(noOrg.stderr)")
    }

    /// Viam's docs write `--enable-backfill=True`; Go's flags take any case and `=true`/`=false` on
    /// every Boolean flag, and so does `ferry pipelines`.
    @Test func booleanFlagsTakeViamsSpellingsInAnyCase() throws {
        let dir = try TemporaryDirectory("ferry-pipelines-cli")
        defer { dir.remove() }
        let org = try ferry(["org", "create", "acme"], data: dir.path).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        func create(_ name: String, _ flags: [String]) throws -> [String: Any] {
            let result = try ferry(
                ["pipelines", "create", "--org-id", org, "--name", name, "--schedule", "0 * * * *", "--mql", Self.mql] + flags, data: dir.path)
            #expect(result.status == 0, "\(flags): \(result.stderr)")
            let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
            return try #require(object, "\(result.stdout)")
        }
        #expect(try create("a", ["--enable-backfill=True", "--json=TRUE"])["enable_backfill"] as? Bool == true)
        #expect(try create("b", ["--enable-backfill=False", "--json=true"])["enable_backfill"] as? Bool == false)
        #expect(try create("c", ["--enable-backfill", "--json"])["enable_backfill"] as? Bool == true)
        #expect(try create("d", ["--enable-backfill", "false", "--json=t"])["enable_backfill"] as? Bool == false, "the older separate value")
        let plain = try ferry(["pipelines", "list", "--org-id", org, "--json=false"], data: dir.path)
        #expect(plain.status == 0 && !plain.stdout.contains("{"), "--json=false is no JSON: \(plain.stdout)")
        let id = try #require(try create("e", ["--json=1"])["id"] as? String)
        #expect(try ferry(["pipelines", "disable", "--id", id], data: dir.path).status == 0)
        #expect(try ferry(["pipelines", "enable", "--id", id, "--backfill-missed=FALSE"], data: dir.path).status == 0)
        #expect(try ferry(["pipelines", "update", "--id", id, "--recompute=True"], data: dir.path).status == 0)
        let bad = try ferry(["pipelines", "list", "--org-id", org, "--json=yes"], data: dir.path)
        #expect(bad.status != 0 && bad.stderr.contains("--json is a Boolean flag"), "\(bad.stderr)")
    }

    /// Every Boolean flag any `ferry pipelines` subcommand has takes `=value`: the list the
    /// rewriting uses covers every flag the parser knows (as ArgumentParser reports them).
    @Test func everyPipelinesFlagTakesAValue() throws {
        let dump = try FerryProcess.run(["pipelines", "--experimental-dump-help"])
        let root = try #require(try JSONSerialization.jsonObject(with: Data(dump.stdout.utf8)) as? [String: Any])
        let subcommands = try #require((root["command"] as? [String: Any])?["subcommands"] as? [[String: Any]])
        var flags: Set<String> = []
        for command in subcommands {
            for argument in command["arguments"] as? [[String: Any]] ?? [] where argument["kind"] as? String == "flag" {
                let names = (argument["names"] as? [[String: Any]] ?? []).filter { $0["kind"] as? String == "long" }
                flags.formUnion(names.compactMap { $0["name"] as? String }.filter { $0 != "help" && $0 != "version" })
            }
        }
        #expect(flags == ["enable-backfill", "json", "recompute", "backfill-missed"], "update BooleanFlags.byCommand")
        let result = try FerryProcess.run(["pipelines", "list", "--data", "/nonexistent-ferry-dir", "--org-id", "x", "--json=True"])
        #expect(!result.stderr.contains("Unknown option"), "\(result.stderr)")
    }

    @Test func refusalsSayWhatAndWhere() throws {
        let dir = try TemporaryDirectory("ferry-pipelines-cli")
        defer { dir.remove() }
        let org = try ferry(["org", "create", "acme"], data: dir.path).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        func create(_ schedule: String, _ mql: String, name: String = "p") throws -> (status: Int32, stdout: String, stderr: String) {
            try ferry(["pipelines", "create", "--org-id", org, "--name", name, "--schedule", schedule, "--mql", mql], data: dir.path)
        }
        let badCron = try create("0 0 31 2 *", Self.mql)
        #expect(badCron.status != 0 && badCron.stderr.contains("field 3 (day of month)"), "\(badCron.stderr)")
        let badStage = try create("0 * * * *", #"[{"$match": {}}, {"$group": {"n": {"$sum": 1}}}]"#)
        #expect(badStage.status != 0 && badStage.stderr.contains("stage 1"), "\(badStage.stderr)")
        #expect(try create("0 * * * *", Self.mql).status == 0)
        let duplicate = try create("0 * * * *", Self.mql)
        #expect(duplicate.status != 0 && duplicate.stderr.contains("already has a pipeline named \"p\""), "\(duplicate.stderr)")
    }
}
