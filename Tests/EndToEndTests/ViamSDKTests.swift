import FerryTestSupport
import Foundation
import Testing

/// The unmodified Viam Python SDK (viam-sdk 0.85.1) against the real `ferry serve` over TLS. The
/// checks are in Tests/python; each test runs one script and reports its output on failure.
@Suite struct ViamSDKTests {
    static let scripts = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("python")

    static func runScript(_ name: String) throws -> (status: Int32, output: String) {
        let python = Process()
        python.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        python.arguments = ["python3", scripts.appendingPathComponent(name).path, BuiltProducts.ferry]
        let output = Pipe()
        python.standardOutput = output
        python.standardError = output
        try python.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        python.waitUntilExit()
        return (python.terminationStatus, text)
    }

    @Test func publishedPythonSDKWorksAgainstFerryServe() throws {
        let result = try Self.runScript("viam_sdk_e2e.py")
        #expect(result.status == 0, "viam-sdk end-to-end checks failed:\n\(result.output)")
        #expect(result.output.contains("all checks passed"))
    }

    /// `ferry run --listen`: RobotClient reads all nine component APIs, DataManager Sync syncs.
    @Test func publishedPythonSDKReadsAFerryHostAsAViamMachine() throws {
        let result = try Self.runScript("viam_sdk_machine_e2e.py")
        #expect(result.status == 0, "viam-sdk machine API checks failed:\n\(result.output)")
        #expect(result.output.contains("all checks passed"))
    }

    @Test func publishedPythonSDKManagesPipelinesAndReadsTheSink() throws {
        let result = try Self.runScript("viam_sdk_pipelines_e2e.py")
        #expect(result.status == 0, "viam-sdk pipeline checks failed:\n\(result.output)")
        #expect(result.output.contains("all checks passed"))
    }
}
