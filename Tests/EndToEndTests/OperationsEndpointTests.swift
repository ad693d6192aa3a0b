import FerryTestSupport
import Foundation
import Testing

/// The operations port of the real `ferry` binary: health probes a service manager or an
/// orchestrator can ask, and the metrics the shipped alert rules read.
@Suite(.ownThreads) struct OperationsEndpointTests {
    /// GET over plain HTTP with Python's standard library (no client in the test process to trust).
    static func get(_ port: Int, _ path: String) throws -> (status: Int, body: String) {
        let script = """
            import sys, urllib.request, urllib.error
            try:
                r = urllib.request.urlopen("http://127.0.0.1:\(port)\(path)", timeout=60)
                status, body = r.status, r.read()
            except urllib.error.HTTPError as e:
                status, body = e.code, e.read()
            sys.stdout.write(f"{status}\\n" + body.decode())
            """
        let result = try FerryProcess.run(["-c", script], executable: "/usr/bin/python3")
        guard result.status == 0, let newline = result.stdout.firstIndex(of: "\n"), let status = Int(result.stdout[..<newline]) else {
            throw TestFailure("GET \(path) failed: \(result.stderr)")
        }
        return (status, String(result.stdout[result.stdout.index(after: newline)...]))
    }

    struct TestFailure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    static func metricsPort(_ log: String) -> Int? {
        guard let tail = log.components(separatedBy: "serving Prometheus metrics on http://127.0.0.1:").dropFirst().first else { return nil }
        return Int(tail.prefix(while: \.isNumber))
    }

    static func readyProblems(_ body: String) throws -> [String]? {
        let object = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
        return object?["not_ready"] as? [String]
    }

    static func sensor(_ name: String, model: String) -> String {
        #"{"name": "\#(name)", "api": "rdk:component:sensor", "model": "\#(model)", "service_configs": [{"type": "data_manager", "attributes": {"capture_methods": [{"method": "Readings", "capture_frequency_hz": 20}]}}]}"#
    }

    static func writeConfig(_ path: String, captureDir: String, components: [String]) throws {
        let json = """
            {"components": [\(components.joined(separator: ","))],
             "services": [{"name": "dm", "api": "rdk:service:data_manager", "attributes": {"capture_dir": "\(captureDir)", "sync_disabled": true}}]}
            """
        try json.write(toFile: path + ".tmp", atomically: false, encoding: .utf8)
        _ = rename(path + ".tmp", path)
    }

    @Test func theHostIsReadyOnlyWhenEveryComponentRunsAndCountsItsCaptures() throws {
        let dir = try TemporaryDirectory("ferry-ops-run")
        defer { dir.remove() }
        let config = dir.file("machine.json")
        try Self.writeConfig(config, captureDir: dir.file("capture"), components: [Self.sensor("temp", model: "fake"), Self.sensor("ghost", model: "absent")])
        let log = dir.file("run.log")
        let host = try FerryProcess(["run", config, "--metrics-listen", "127.0.0.1:0"], log: log)
        defer {
            host.signal(SIGTERM)
            _ = host.wait()
        }
        func output() -> String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }
        #expect(eventually(timeout: 120) { Self.metricsPort(output()) != nil }, "no metrics port in:\n\(output())")
        guard let port = Self.metricsPort(output()) else { return }

        let health = try Self.get(port, "/healthz")
        #expect(health.status == 200 && health.body.contains(#""status":"alive""#))
        // Once its embedded data server listens, the missing model is all that keeps it from ready.
        let ghost = "component ghost: no loaded plugin provides rdk:component:sensor model rdk:builtin:absent"
        var problems: [String] = []
        let settled = try eventually(timeout: 120) {
            let notReady = try Self.get(port, "/readyz")
            problems = try Self.readyProblems(notReady.body) ?? []
            return notReady.status == 503 && problems == [ghost]
        }
        #expect(settled, "\(problems)")

        // The collector's captures reach the metrics (published at each config poll).
        #expect(
            try eventually(timeout: 120) {
                let metrics = try Self.get(port, "/metrics").body
                return metrics.split(separator: "\n").contains {
                    $0.hasPrefix(#"ferry_capture_calls_total{"#) && $0.contains(#"component="temp""#) && $0.contains(#"method="Readings""#)
                        && (Double($0.split(separator: " ").last ?? "") ?? 0) > 0
                }
            })

        // Fixing the config makes the host ready without a restart.
        try Self.writeConfig(config, captureDir: dir.file("capture"), components: [Self.sensor("temp", model: "fake")])
        #expect(try eventually(timeout: 120) { try Self.get(port, "/readyz").status == 200 })
        #expect(try Self.get(port, "/readyz").body.contains(#""ready":true"#))
        let unknown = try Self.get(port, "/nothing")
        #expect(unknown.status == 404 && unknown.body.contains("/healthz"))
    }

    @Test func theServerIsReadyOnceItServesAndHoldsTheSchedulerLease() throws {
        let dir = try TemporaryDirectory("ferry-ops-serve")
        defer { dir.remove() }
        let log = dir.file("serve.log")
        let server = try FerryProcess(
            ["serve", "--data", dir.file("data"), "--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0", "--pipeline-poll", "0.2"], log: log)
        defer {
            server.signal(SIGTERM)
            _ = server.wait()
        }
        func output() -> String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }
        #expect(eventually(timeout: 120) { Self.metricsPort(output()) != nil }, "no metrics port in:\n\(output())")
        guard let port = Self.metricsPort(output()) else { return }
        #expect(try eventually(timeout: 120) { try Self.get(port, "/readyz").status == 200 }, "\(output())")
        #expect(output().contains("serving Viam's data API on 127.0.0.1:"), "ready before the API listens:\n\(output())")
        #expect(
            try eventually(timeout: 120) {
                try Self.get(port, "/metrics").body.split(separator: "\n").contains {
                    $0.hasPrefix("ferry_pipeline_scheduler_lease_held ") && Double($0.split(separator: " ").last ?? "") == 1
                }
            })
    }

    /// `ferry run` with its embedded server, logging JSON lines: the upload latency, the bytes
    /// ingested and the store's size reach the metrics, and every log line is one JSON object.
    @Test func uploadsAndTheStoreAreMeteredAndLogsCanBeJSONLines() throws {
        let dir = try TemporaryDirectory("ferry-ops-json")
        defer { dir.remove() }
        let config = dir.file("machine.json")
        let json = """
            {"components": [\(Self.sensor("temp", model: "fake"))],
             "services": [{"name": "dm", "api": "rdk:service:data_manager",
                           "attributes": {"capture_dir": "\(dir.file("capture"))", "sync_interval_mins": 0.005, "maximum_capture_file_size_bytes": 2048}}]}
            """
        try json.write(toFile: config, atomically: true, encoding: .utf8)
        let log = dir.file("run.log")
        let host = try FerryProcess(["run", config, "--metrics-listen", "127.0.0.1:0", "--log-format", "json"], log: log)
        defer {
            host.signal(SIGTERM)
            _ = host.wait()
        }
        func output() -> String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }
        #expect(eventually(timeout: 120) { Self.metricsPort(output()) != nil }, "no metrics port in:\n\(output())")
        guard let port = Self.metricsPort(output()) else { return }
        func value(_ metrics: String, _ prefix: String) -> Double {
            metrics.split(separator: "\n").filter { $0.hasPrefix(prefix) }.compactMap { Double($0.split(separator: " ").last ?? "") }.reduce(0, +)
        }
        var metrics = ""
        let metered = try eventually(timeout: 120) {
            metrics = try Self.get(port, "/metrics").body
            return value(metrics, #"ferry_sync_upload_duration_seconds_count{call="DataCaptureUpload"}"#) > 0
                && value(metrics, #"ferry_ingest_bytes_total{kind="tabular"}"#) > 0 && value(metrics, "ferry_store_size_bytes ") > 0
        }
        #expect(metered, "\(metrics)")

        let lines = output().split(separator: "\n")
        let objects = lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(objects.count == lines.count, "lines that are not JSON objects: \(lines.filter { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) == nil }.prefix(3))")
        #expect(objects.allSatisfy { $0["time"] is String && $0["level"] is String && $0["logger"] is String && $0["message"] is String })
        let opened = objects.first { ($0["message"] as? String) == "store opened" }
        #expect((opened?["metadata"] as? [String: Any])?["journal"] as? String == "wal", "\(String(describing: opened))")
    }
}
