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

    @Test func anUploadAndItsIngestAreOneTrace() throws {
        let rig = try SyncRig()
        let spansFile = rig.directory.file("spans.jsonl")
        let script = try #require(TestData.packageRoot()).appendingPathComponent("Tests/python/otlp_receiver.py").path
        // The python3 on PATH: the one .ci/run installed grpcio and opentelemetry-proto for.
        let receiver = try FerryProcess(["python3", script, spansFile], log: rig.directory.file("receiver.log"), executable: "/usr/bin/env")
        defer {
            receiver.signal(SIGKILL)
            _ = receiver.wait()
            rig.tearDown()
        }
        var port: Int? { rig.log("receiver.log").split(separator: "\n").first.flatMap { Int($0) } }
        #expect(eventually(timeout: 120) { port != nil }, "the OTLP receiver did not start:\n\(rig.log("receiver.log"))")
        rig.environment = ["OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:\(port ?? 0)", "OTEL_BSP_SCHEDULE_DELAY": "100"]
        try rig.startServer()
        try rig.startHost(serverPort: rig.serverPort)

        func spans() -> [Span] {
            let text = (try? String(contentsOfFile: spansFile, encoding: .utf8)) ?? ""
            return text.split(separator: "\n").compactMap { line in
                guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return nil }
                return Span(
                    service: object["service"] as? String ?? "", name: object["name"] as? String ?? "",
                    traceID: object["trace_id"] as? String ?? "", spanID: object["span_id"] as? String ?? "",
                    parentSpanID: object["parent_span_id"] as? String ?? "")
            }
        }
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
        // The upload call is a child of its file's span.
        #expect(spans().contains { $0.spanID == upload.parentSpanID && $0.name == "sync file" && $0.service == "ferry-run" })
        try rig.stopHost()
    }
}
