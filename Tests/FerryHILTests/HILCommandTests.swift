import FerryBSON
import FerryTestSupport
import Foundation
import Testing

/// `ferry hil` as a user runs it: the real binary, the real plugin library.
@Suite(.ownThreads) struct HILCommandTests {
    @Test func aConformingModelPassesWithExitZero() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let config = directory.file("camera.json")
        try #"{"width": 80, "height": 60, "mime_type": "image/jpeg"}"#.write(toFile: config, atomically: true, encoding: .utf8)
        let result = try FerryProcess.run([
            "hil", BuiltProducts.library("FerryFake"), "--model", "fake", "--api", "camera", "--config", config, "--iterations", "2",
        ])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("PASS  capture ReadImage"))
        #expect(result.stdout.contains("image/jpeg 80x60"))
        #expect(result.stdout.contains("0 failed: conforms"))
    }

    @Test func aFailingModelExitsNonZeroAndSaysWhy() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let config = directory.file("motor.json")
        // A whole component entry works as --config too; its attributes are what count.
        try #"{"name": "m", "model": "fake", "attributes": {"max_rpm": -5}}"#.write(toFile: config, atomically: true, encoding: .utf8)
        let result = try FerryProcess.run([
            "hil", BuiltProducts.library("FerryFake"), "--model", "fake", "--api", "motor", "--config", config,
        ])
        #expect(result.status == 1)
        #expect(result.stdout.contains("FAIL  create"))
        #expect(result.stdout.contains("max_rpm"))
        #expect(result.stdout.contains("does NOT conform"))
    }

    @Test func jsonOutputIsOneDocument() throws {
        let result = try FerryProcess.run(["hil", BuiltProducts.library("FerryFake"), "--model", "fake", "--api", "sensor", "--json"])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        let report = try BSONDocument(extendedJSON: result.stdout)
        #expect(report["passed"] == .bool(true))
        #expect(report["model"] == "rdk:builtin:fake")
        let checks = report["checks"]?.arrayValue ?? []
        #expect(checks.contains { $0.documentValue?["name"] == "capture Readings" && $0.documentValue?["result"] == "pass" })
    }

    @Test func anUnreadableConfigIsAClearError() throws {
        let result = try FerryProcess.run([
            "hil", BuiltProducts.library("FerryFake"), "--model", "fake", "--api", "sensor", "--config", "/nonexistent/attrs.json",
        ])
        #expect(result.status != 0)
        #expect(result.stderr.contains("cannot read --config /nonexistent/attrs.json"))
    }
}
