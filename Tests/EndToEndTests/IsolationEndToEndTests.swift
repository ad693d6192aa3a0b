import FerryBSON
import FerryTestSupport
import Foundation
import Testing

/// `ferry run` with a misbehaving third-party driver in a process of its own, beside a good
/// sensor loaded in the host: the bad module crashes (or exits, hangs, garbles its channel, leaks
/// past its memory limit), the log names the cause, the process is restarted and its component
/// captures again, the good collector never fails a tick, and every capture file stays readable.
@Suite(.ownThreads) struct IsolationEndToEndTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var model: String
        var cause: String
        var childSaid: String
        var testDescription: String { model }
    }

    static let cases = [
        Case(model: "fixture:bad:segv", cause: "killed by SIGSEGV", childSaid: "fixture: about to dereference NULL"),
        Case(model: "fixture:bad:exit", cause: "exited with status 3", childSaid: "fixture: calling exit(3)"),
        Case(model: "fixture:bad:hang-capture", cause: "did not answer Readings", childSaid: "fixture: capture hangs"),
        Case(model: "fixture:bad:garbage", cause: "sent bytes that are not a frame", childSaid: "fixture: writing garbage to fd 3"),
        Case(model: "fixture:bad:leak", cause: "was killed by SIGABRT", childSaid: "fixture: out of memory after leaking"),
    ]

    /// The bad module's process: calls time out after 1.5 s (a hung capture is found quickly); its
    /// hello and creates get 20 s, since a debug `ferry` starting beside the whole suite on 2 cores
    /// has taken more than 3 s to say hello.
    static func config(badModel: String, isolation: String = "process") -> String {
        """
        {"modules": [{"type": "local", "name": "bad", "executable_path": "\(BuiltProducts.library("FixtureMisbehaving"))",
                      "isolation": "\(isolation)", "call_timeout_ms": 1500, "create_timeout_ms": 20000, "memory_limit_mb": 1024}],
         "components": [
           {"name": "good", "api": "rdk:component:sensor", "model": "fake",
            "service_configs": [{"type": "data_manager", "attributes": {"capture_methods": [{"method": "Readings", "capture_frequency_hz": 20}]}}]},
           {"name": "bad", "api": "rdk:component:sensor", "model": "\(badModel)",
            "service_configs": [{"type": "data_manager", "attributes": {"capture_methods": [{"method": "Readings", "capture_frequency_hz": 20}]}}]}],
         "services": [{"name": "dm", "type": "data_manager", "attributes": {"capture_dir": "capture", "sync_disabled": true}}]}
        """
    }

    /// (component, count) of every record, through `ferry capture cat`; none before the directory exists.
    static func records(_ captureDir: String) throws -> [(component: String, count: Double?)] {
        guard FileManager.default.fileExists(atPath: captureDir) else { return [] }  // before the first capture
        let cat = try FerryProcess.run(["capture", "cat", captureDir])
        #expect(cat.status == 0, "capture cat failed: \(cat.stderr)")
        return try cat.stdout.split(separator: "\n").map {
            let record = try BSONDocument(extendedJSON: String($0))
            return (
                record["component_name"]?.stringValue ?? "", record["data"]?.documentValue?["readings"]?.documentValue?["count"]?.doubleValue
            )
        }
    }

    @Test(arguments: cases)
    func aMisbehavingModuleIsRestartedAndTheGoodSensorNeverMissesATick(_ scenario: Case) throws {
        let dir = try TemporaryDirectory("ferry-isolation")
        defer { dir.remove() }
        try Self.config(badModel: scenario.model).write(toFile: dir.file("machine.json"), atomically: true, encoding: .utf8)
        let log = dir.file("ferry.log")
        let host = try FerryProcess(["run", dir.file("machine.json")], log: log)
        let capture = dir.file("capture")
        // Restarted, and captured again after the restart: the counter starts over at 1 in each process.
        let resumed = try eventually(timeout: 180) {
            guard host.loggedOutput().contains("plugin process restarted") else { return false }
            return try Self.records(capture).filter { $0.component == "bad" && $0.count == 1 }.count >= 2
        }
        #expect(resumed, "\(host.loggedOutput())")
        host.signal(SIGINT)
        let run = host.wait()
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("into a process of its own"))
        #expect(run.stderr.contains(scenario.cause), "the log names the cause")
        #expect(run.stderr.contains(scenario.childSaid), "the log carries what the plugin wrote last")
        #expect(!run.stderr.contains("collector good/Readings"), "the good collector reported errors:\n\(run.stderr)")
        #expect(run.stderr.contains("collector bad/Readings"))
        // The plugin's printf to stdout went to the log, not into the channel.
        #expect(run.stderr.contains("fixture: capture 1 on stdout"))

        let records = try Self.records(capture)
        let good = records.filter { $0.component == "good" }
        let bad = records.compactMap { $0.component == "bad" ? $0.count : nil }
        #expect(good.count > 10)
        // Whatever the bad module captured is there: each process's life counts from 1 (the leak
        // lasts a few captures more, until its address space runs out).
        if scenario.model != "fixture:bad:leak" { #expect(Set(bad).isSubset(of: [1, 2]), "\(bad)") }
        #expect(bad.filter { $0 == 1 }.count >= 2)
    }

    @Test func aCreateThatHangsLeavesTheComponentDownAndTheRestRunning() throws {
        let dir = try TemporaryDirectory("ferry-isolation-create")
        defer { dir.remove() }
        try Self.config(badModel: "fixture:bad:hang-create").write(toFile: dir.file("machine.json"), atomically: true, encoding: .utf8)
        let log = dir.file("ferry.log")
        let host = try FerryProcess(["run", dir.file("machine.json")], log: log)
        let capture = dir.file("capture")
        #expect(eventually(timeout: 180) { host.loggedOutput().contains("did not answer create fixture:bad:hang-create") }, "\(host.loggedOutput())")
        #expect(try eventually(timeout: 120) { try Self.records(capture).filter { $0.component == "good" }.count > 10 })
        host.signal(SIGINT)
        let run = host.wait()
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("cannot create component \"bad\""))
        #expect(!run.stderr.contains("collector good/Readings"), "the good collector reported errors:\n\(run.stderr)")
        #expect(try Self.records(capture).allSatisfy { $0.component == "good" })
    }

    /// --isolate-all: the built-in fake runs in a process of its own too, next to the crashing
    /// module's; each process's state and restarts are on the metrics port.
    @Test func isolateAllRunsTheBuiltInsInProcessesOfTheirOwnAndTheMetricsShowThem() throws {
        let dir = try TemporaryDirectory("ferry-isolate-all")
        defer { dir.remove() }
        try Self.config(badModel: "fixture:bad:segv", isolation: "in-process").replacingOccurrences(
            of: #", "call_timeout_ms": 1500, "create_timeout_ms": 20000, "memory_limit_mb": 1024"#, with: ""
        ).write(toFile: dir.file("machine.json"), atomically: true, encoding: .utf8)
        let host = try FerryProcess(["run", dir.file("machine.json"), "--isolate-all", "--metrics-listen", "127.0.0.1:0"], log: dir.file("ferry.log"))
        #expect(eventually(timeout: 120) { OperationsEndpointTests.metricsPort(host.loggedOutput()) != nil }, "\(host.loggedOutput())")
        guard let port = OperationsEndpointTests.metricsPort(host.loggedOutput()) else { return }
        func metric(_ name: String, _ library: String) throws -> Double? {
            try OperationsEndpointTests.get(port, "/metrics").body.split(separator: "\n")
                .first { $0.hasPrefix(name + "{") && $0.contains(library) }
                .flatMap { Double($0.split(separator: " ").last ?? "") }
        }
        #expect(try eventually(timeout: 120) { try metric("ferry_plugin_process_restarts_total", "libFixtureMisbehaving.so") ?? 0 >= 1 })
        #expect(try eventually(timeout: 60) { try metric("ferry_plugin_process_up", "libFerryFake.so") == 1 })
        // ferry sync status shows each process's state, restarts and last failure.
        #expect(try eventually(timeout: 60) {
            let status = try FerryProcess.run(["sync", "status", dir.file("machine.json")]).stdout
            return status.contains("plugin processes (now)") && status.contains("libFerryFake.so: running, pid")
                && status.contains("libFixtureMisbehaving.so:") && status.contains("last failure: it was killed by SIGSEGV")
        })
        #expect(try eventually(timeout: 120) { try Self.records(dir.file("capture")).filter { $0.component == "good" }.count > 10 })
        host.signal(SIGINT)
        let run = host.wait()
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("loaded plugin fake 0.1.0 from"), "\(run.stderr)")
        #expect(run.stderr.contains("libFerryFake.so into a process of its own"))
        #expect(run.stderr.contains("libFixtureMisbehaving.so into a process of its own"))
        #expect(run.stderr.contains("was killed by SIGSEGV"))
        #expect(!run.stderr.contains("collector good/Readings"), "the good collector reported errors:\n\(run.stderr)")
    }

    /// A vision service's capture asks the host for its camera's image (capture_resource); with
    /// --isolate-all both live in the fake plugin's process, so the host's answer calls back into
    /// that process, nested on the same channel.
    @Test func captureResourceWorksFromAPluginProcessBackIntoItself() throws {
        let dir = try TemporaryDirectory("ferry-isolate-vision")
        defer { dir.remove() }
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/viam-configs/vision-capture-all-from-camera.json")
        var config = try BSONDocument(extendedJSON: String(contentsOf: fixture, encoding: .utf8))
        var services = try #require(config["services"]?.arrayValue)
        let index = try #require(services.firstIndex { $0.documentValue?["type"] == "data_manager" })
        var manager = try #require(services[index].documentValue)
        manager["attributes"] = ["capture_dir": .string(dir.file("capture")), "sync_disabled": true]
        services[index] = .document(manager)
        config["services"] = .array(services)
        // A small image: the debug build's JPEG encoder takes ~0.1 s for the default 320×240, and
        // on a machine as busy as CI's test run that nested ReadImage once missed its 5 s deadline.
        var components = try #require(config["components"]?.arrayValue)
        var camera = try #require(components.first?.documentValue)
        camera["attributes"] = ["width": 64, "height": 48]
        components[0] = .document(camera)
        config["components"] = .array(components)
        try config.extendedJSON(.relaxed).write(toFile: dir.file("machine.json"), atomically: true, encoding: .utf8)
        let host = try FerryProcess(["run", dir.file("machine.json"), "--isolate-all"], environment: ["HOME": dir.path], log: dir.file("ferry.log"))
        let captured = try eventually(timeout: 120) { try Self.records(dir.file("capture")).filter { $0.component == "vision-1" }.count >= 2 }
        #expect(captured, "\(host.loggedOutput())")
        host.signal(SIGINT)
        let run = host.wait()
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("libFerryFake.so into a process of its own"))
        // Components in a plugin process are created concurrently: a tick of the vision service
        // before its camera has started is skipped as retry-later "(yet)"; nothing else may fail.
        let visionErrors = run.stderr.split(separator: "\n").filter {
            $0.contains("collector vision-1") && !$0.contains("is running on this machine (yet)")
        }
        #expect(visionErrors.isEmpty, "the vision collector reported errors:\n\(run.stderr)")
    }

    /// A plugin whose init crashes: in process it would take the host down; isolated, the host
    /// says why it did not load and captures from the rest.
    @Test func aPluginThatCrashesWhileLoadingIsReportedAndTheHostRunsOn() throws {
        let dir = try TemporaryDirectory("ferry-isolation-init")
        defer { dir.remove() }
        try Self.config(badModel: "fixture:bad:segv").replacingOccurrences(of: "libFixtureMisbehaving.so", with: "libFixtureInitCrashes.so")
            .write(toFile: dir.file("machine.json"), atomically: true, encoding: .utf8)
        let host = try FerryProcess(["run", dir.file("machine.json")], log: dir.file("ferry.log"))
        #expect(try eventually(timeout: 120) { try Self.records(dir.file("capture")).filter { $0.component == "good" }.count > 10 })
        host.signal(SIGINT)
        let run = host.wait()
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("cannot start its plugin process"), "\(run.stderr)")
        #expect(run.stderr.contains("was killed by SIGSEGV"))
        #expect(run.stderr.contains("fixture: init crashes"))
    }

    /// pymongo against `ferry serve --mongo-listen`: "insert" stores readings of v = 2, 3.5 and 13;
    /// a pipeline is run over the readings and prints "ok <documents as JSON>" or "failed <the
    /// server's message>".
    static let aggregate = """
        import datetime, json, sys
        from pymongo import MongoClient
        from pymongo.errors import OperationFailure
        readings = MongoClient(sys.argv[1], serverSelectionTimeoutMS=60000, socketTimeoutMS=60000)["sensorData"]["readings"]
        if sys.argv[2] == "insert":
            now = datetime.datetime.now(datetime.timezone.utc)
            readings.insert_many([{"component_name": "s", "time_received": now, "data": {"readings": {"v": v}}} for v in [2, 3.5, 13]])
            print("ok")
        else:
            try:
                print("ok " + json.dumps(list(readings.aggregate(json.loads(sys.argv[2]))), sort_keys=True))
            except OperationFailure as error:
                print("failed " + str(error.details.get("errmsg", error)))
        """

    /// `ferry serve --isolate-all` serves a plugin's MQL operators from its process: an expression
    /// and an accumulator answer as in process; the operator crashing fails that query with the
    /// cause, the server lives on, and once the process is restarted the operator answers again.
    @Test func anOperatorThatCrashesFailsItsQueryAndTheServerLivesOn() throws {
        let dir = try TemporaryDirectory("ferry-isolation-mql")
        defer { dir.remove() }
        let data = dir.file("data")
        func ferry(_ arguments: [String]) throws -> String {
            let result = try FerryProcess.run(arguments + ["--data", data])
            #expect(result.status == 0, "ferry \(arguments.joined(separator: " ")): \(result.stderr)")
            return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let org = try ferry(["org", "create", "ops"])
        _ = try ferry(["data", "database", "configure", "--org-id", org, "--password", "Op3rators!", "--allow-insert"])
        let server = try FerryProcess(
            ["serve", "--data", data, "--listen", "127.0.0.1:0", "--metrics-listen", "off", "--mongo-listen", "127.0.0.1:0", "--isolate-all"],
            environment: ["FERRY_PLUGIN_PATH": BuiltProducts.library("FixtureCrashingOperator")], log: dir.file("server.log"))
        defer {
            server.signal(SIGKILL)
            _ = server.wait()
        }
        let marker = "serving MongoDB's wire protocol on 127.0.0.1:"
        #expect(eventually(timeout: 120) { server.loggedOutput().contains(marker) }, "ferry serve did not start:\n\(server.loggedOutput())")
        let port = try #require(server.loggedOutput().components(separatedBy: marker).last.map { String($0.prefix(while: \.isNumber)) })
        let uri = "mongodb://db-user-\(org):Op3rators%21@127.0.0.1:\(port)/?tls=true&tlsCAFile=\(data)/tls-cert.pem&authSource=admin"
        func aggregate(_ pipeline: String) throws -> String {
            let result = try FerryProcess.run(["python3", "-c", Self.aggregate, uri, pipeline], executable: "/usr/bin/env")
            #expect(result.status == 0, "\(result.stderr)")
            return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        #expect(try aggregate("insert") == "ok", "\(server.loggedOutput())")
        let doubled =
            #"[{"$match": {"data.readings.v": {"$ne": 13}}}, {"$project": {"_id": 0, "d": {"$fixtureDouble": "$data.readings.v"}}}, {"$sort": {"d": 1}}]"#
        let counted = #"[{"$group": {"_id": null, "n": {"$fixtureCount": "$data.readings.v"}}}, {"$project": {"_id": 0}}]"#
        #expect(try aggregate(doubled) == #"ok [{"d": 4.0}, {"d": 7.0}]"#, "\(server.loggedOutput())")
        #expect(try aggregate(counted) == #"ok [{"n": 3.0}]"#)

        let crashed = try aggregate(#"[{"$project": {"d": {"$fixtureDouble": "$data.readings.v"}}}]"#)
        #expect(crashed.hasPrefix("failed ") && crashed.contains("was killed by SIGSEGV"), "\(crashed)")
        // The server answers on; the operator does once its process is back (after a short backoff).
        #expect(try eventually(timeout: 60) { try aggregate(doubled).hasPrefix("ok ") })
        #expect(try aggregate(counted) == #"ok [{"n": 3.0}]"#)
        let log = server.loggedOutput()
        #expect(log.contains("libFixtureCrashingOperator.so into a process of its own"), "\(log)")
        #expect(log.contains("fixture: $fixtureDouble met 13, dereferencing NULL"), "the log carries what the plugin wrote last")
        #expect(log.contains("plugin process restarted"))
    }

    /// `cpu_limit_percent`: where the host can make a cgroup v2 group the plugin process runs in
    /// one with the quota set; where it cannot, the log and `ferry sync status` say the limit is not
    /// applied and why. Either way the status and the process agree.
    @Test func aCPULimitIsAppliedWithACgroupOrSaidNotToBe() throws {
        let dir = try TemporaryDirectory("ferry-isolation-cpu")
        defer { dir.remove() }
        try """
        {"modules": [{"type": "local", "name": "bad", "executable_path": "\(BuiltProducts.library("FixtureMisbehaving"))",
                      "isolation": "process", "cpu_limit_percent": 50}],
         "components": [
           {"name": "good", "api": "rdk:component:sensor", "model": "fake",
            "service_configs": [{"type": "data_manager", "attributes": {"capture_methods": [{"method": "Readings", "capture_frequency_hz": 20}]}}]}],
         "services": [{"name": "dm", "type": "data_manager", "attributes": {"capture_dir": "capture", "sync_disabled": true}}]}
        """.write(toFile: dir.file("machine.json"), atomically: true, encoding: .utf8)
        let host = try FerryProcess(["run", dir.file("machine.json")], log: dir.file("ferry.log"))
        defer {
            host.signal(SIGKILL)
            _ = host.wait()
        }
        var line = ""
        #expect(try eventually(timeout: 120) {
            let status = try FerryProcess.run(["sync", "status", dir.file("machine.json")]).stdout
            line = status.split(separator: "\n").first { $0.contains("libFixtureMisbehaving.so: running, pid") }.map(String.init) ?? ""
            return line.contains("; cpu limit: ")
        }, "\(host.loggedOutput())")
        let limit = line.components(separatedBy: "; cpu limit: ").last ?? ""
        if limit.hasPrefix("50% of one CPU requested, NOT applied: ") {
            #expect(host.loggedOutput().contains("module bad (\(BuiltProducts.library("FixtureMisbehaving"))): cpu_limit_percent 50 is NOT applied, the plugin runs without a CPU limit: "))
            #expect(host.loggedOutput().contains("CPU limits of plugin processes cannot be applied on this host: "))
        } else {
            #expect(limit.hasPrefix("50% of one CPU (cgroup /"), "\(line)")
            let group = String(limit.dropFirst("50% of one CPU (cgroup ".count).dropLast())
            #expect(group.hasSuffix("/ferry-plugin-bad"))
            #expect((try? String(contentsOfFile: group + "/cpu.max", encoding: .utf8))?.hasPrefix("50000 100000") == true)
            let pid = try #require(line.components(separatedBy: "running, pid ").last.map { String($0.prefix(while: \.isNumber)) })
            #expect((try? String(contentsOfFile: "/proc/\(pid)/cgroup", encoding: .utf8))?.contains("/ferry-plugin-bad") == true)
        }
        #expect(try eventually(timeout: 60) { try Self.records(dir.file("capture")).filter { $0.component == "good" }.count > 5 })
    }

    @Test func aBadIsolationValueIsAConfigErrorNamingTheKey() throws {
        let dir = try TemporaryDirectory("ferry-isolation-config")
        defer { dir.remove() }
        try Self.config(badModel: "fixture:bad:segv", isolation: "sandbox").write(toFile: dir.file("machine.json"), atomically: true, encoding: .utf8)
        let run = try FerryProcess.run(["run", dir.file("machine.json")])
        #expect(run.status != 0)
        #expect(run.stderr.contains("modules[0].isolation"), "\(run.stderr)")
        #expect(run.stderr.contains("\"sandbox\" is not an isolation"), "\(run.stderr)")
    }
}
