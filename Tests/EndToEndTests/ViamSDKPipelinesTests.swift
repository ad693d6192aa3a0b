import FerryTestSupport
import Foundation
import Testing

/// The unmodified Viam Python SDK (viam-sdk 0.85.1) against the real `ferry serve` over TLS. The
/// checks are in Tests/python/viam_sdk_pipelines_e2e.py; this runs it and reports its output on failure.
@Suite struct ViamSDKPipelinesTests {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("python/viam_sdk_pipelines_e2e.py").path

    @Test func publishedPythonSDKManagesPipelinesAndReadsTheSink() throws {
        let python = Process()
        python.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        python.arguments = ["python3", Self.script, BuiltProducts.ferry]
        let output = Pipe()
        python.standardOutput = output
        python.standardError = output
        try python.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        python.waitUntilExit()
        #expect(python.terminationStatus == 0, "viam-sdk pipeline checks failed:\n\(text)")
        #expect(text.contains("all checks passed"))
    }
}
