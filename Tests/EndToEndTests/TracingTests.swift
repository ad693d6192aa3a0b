import Foundation
import Testing

import FerryTestSupport

/// OpenTelemetry over the real binaries: `ferry run` and `ferry serve` export spans over OTLP/gRPC
/// to a receiver (Python's grpcio with the opentelemetry-proto stubs), and a host's upload and the
/// server's ingest of it are one trace.
@Suite(.ownThreads) struct TracingTests {
    struct Span {
        let service, name, traceID, spanID, parentSpanID: String
    }

    /// The OTLP receiver, writing the spans it gets to `spans.jsonl` in `rig`'s directory; returns its endpoint.
    static func startReceiver(_ rig: SyncRig) throws -> (FerryProcess, endpoint: String) {
        let script = try #require(TestData.packageRoot()).appendingPathComponent("Tests/python/otlp_receiver.py").path
        // The python3 on PATH: the one .ci/run installed grpcio and opentelemetry-proto for.
        let receiver = try FerryProcess(
            ["python3", script, rig.directory.file("spans.jsonl")], log: rig.directory.file("receiver.log"), executable: "/usr/bin/env")
        var port: Int? { rig.log("receiver.log").split(separator: "\n").first.flatMap { Int($0) } }
        #expect(eventually(timeout: 120) { port != nil }, "the OTLP receiver did not start:\n\(rig.log("receiver.log"))")
        return (receiver, "http://127.0.0.1:\(port ?? 0)")
    }

    static func spans(_ rig: SyncRig) -> [Span] {
        rig.log("spans.jsonl").split(separator: "\n").compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return nil }
            return Span(
                service: object["service"] as? String ?? "", name: object["name"] as? String ?? "",
                traceID: object["trace_id"] as? String ?? "", spanID: object["span_id"] as? String ?? "",
                parentSpanID: object["parent_span_id"] as? String ?? "")
        }
    }

    @Test func anUploadAndItsIngestAreOneTrace() throws {
        let rig = try SyncRig()
        let (receiver, endpoint) = try Self.startReceiver(rig)
        defer {
            receiver.signal(SIGKILL)
            _ = receiver.wait()
            rig.tearDown()
        }
        rig.environment = ["OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, "OTEL_BSP_SCHEDULE_DELAY": "100"]
        try rig.startServer()
        try rig.startHost(serverPort: rig.serverPort)
        func spans() -> [Span] { Self.spans(rig) }
        /// A host upload, the server call it started and the ingest inside that call.
        func chain() -> (upload: Span, call: Span, ingest: Span)? {
            let all = spans()
            for call in all where call.service == "ferry-serve" && call.name == "viam.app.datasync.v1.DataSyncService/DataCaptureUpload" {
                guard let upload = all.first(where: { $0.spanID == call.parentSpanID && $0.traceID == call.traceID }),
                    let ingest = all.first(where: { $0.parentSpanID == call.spanID && $0.name == "ingest readings" })
                else { continue }
                return (upload, call, ingest)
            }
            return nil
        }
        #expect(eventually(timeout: 180) { chain() != nil }, "no connected upload and ingest among:\n\(spans().prefix(20).map { "\($0.service) \($0.name)" })\n\(rig.log("host.log").suffix(1500))")
        guard let (upload, _, ingest) = chain() else { return }
        #expect(upload.service == "ferry-run" && upload.name == "upload DataCaptureUpload")
        #expect(ingest.traceID == upload.traceID)
        // The upload call is a child of its file's span (which ends, and is exported, after it).
        #expect(eventually(timeout: 120) { spans().contains { $0.spanID == upload.parentSpanID && $0.name == "sync file" && $0.service == "ferry-run" } })
        try rig.stopHost()
    }

    /// JSON log lines written inside a span carry its trace: a failed upload's warning names the
    /// trace of the file's span, which the receiver got.
    @Test func jsonLogLinesCarryTheirTrace() throws {
        let rig = try SyncRig()
        let (receiver, endpoint) = try Self.startReceiver(rig)
        defer {
            receiver.signal(SIGKILL)
            _ = receiver.wait()
            rig.tearDown()
        }
        // Port 9 (discard) refuses: every upload fails and is logged.
        try rig.writeConfig(ferry: ["server": "127.0.0.1:9", "api_key_id": "k", "api_key": "an-api-key-of-some-length", "insecure": true], captureDisabled: false)
        rig.host = try FerryProcess(
            ["run", rig.config, "--log-format", "json"], environment: ["OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, "OTEL_BSP_SCHEDULE_DELAY": "100"],
            log: rig.directory.file("host.log"))
        func failures() -> [String] {
            rig.log("host.log").split(separator: "\n").compactMap { line in
                guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                    (object["message"] as? String)?.hasPrefix("sync of ") == true
                else { return nil }
                return (object["metadata"] as? [String: Any])?["trace_id"] as? String
            }
        }
        let traced = eventually(timeout: 180) {
            let logged = Set(failures())
            return Self.spans(rig).contains { $0.name == "sync file" && logged.contains($0.traceID) }
        }
        #expect(traced, "failures logged with traces \(failures().prefix(3)); spans: \(Self.spans(rig).prefix(5).map(\.name))\n\(rig.log("host.log").suffix(1500))")
        try rig.stopHost()
    }
}
