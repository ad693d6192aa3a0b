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

    /// --isolate: the same suite with the plugin in `ferry plugin-host`, over the channel; a
    /// failure inside the plugin is the same clean status as in process.
    @Test func theSuiteRunsOnAPluginInAProcessOfItsOwn() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let camera = directory.file("camera.json")
        try #"{"width": 80, "height": 60, "mime_type": "image/jpeg"}"#.write(toFile: camera, atomically: true, encoding: .utf8)
        let passing = try FerryProcess.run([
            "hil", BuiltProducts.library("FerryFake"), "--model", "fake", "--api", "camera", "--config", camera, "--iterations", "2", "--isolate",
        ])
        #expect(passing.status == 0, "\(passing.stdout)\(passing.stderr)")
        #expect(passing.stdout.contains("in a process of its own"))
        #expect(passing.stdout.contains("image/jpeg 80x60"))
        #expect(passing.stdout.contains("0 failed: conforms"))

        let motor = directory.file("motor.json")
        try #"{"max_rpm": -5}"#.write(toFile: motor, atomically: true, encoding: .utf8)
        let failing = try FerryProcess.run(["hil", BuiltProducts.library("FerryFake"), "--model", "fake", "--api", "motor", "--config", motor, "--isolate"])
        #expect(failing.status == 1)
        #expect(failing.stdout.contains("FAIL  create"))
        #expect(failing.stdout.contains("max_rpm"))
    }

    @Test func anUnreadableConfigIsAClearError() throws {
        let result = try FerryProcess.run([
            "hil", BuiltProducts.library("FerryFake"), "--model", "fake", "--api", "sensor", "--config", "/nonexistent/attrs.json",
        ])
        #expect(result.status != 0)
        #expect(result.stderr.contains("cannot read --config /nonexistent/attrs.json"))
    }
}
