import FerryBSON
import FerryCaptureFile
import FerryTestSupport
import Foundation
import Testing

/// The real `ferry` binary against a scripted I2C bus (Tests/Fixtures/umockdev/i2c_bus.py).
extension Umockdev {
    /// Starts `ferry ARGS` with the bus described by `script` (a JSON file).
    /// `log`: where the scripted bus writes its trace.
    static func start(script: String, ferry arguments: [String], log: String? = nil) throws -> FerryProcess {
        try FerryProcess(
            [python, fixtures.appendingPathComponent("i2c_bus.py").path, script, "--", BuiltProducts.ferry] + arguments,
            environment: log.map { ["FERRY_UMOCKDEV_LOG": $0] } ?? [:], executable: wrapper)
    }
}

/// A machine config with data capture on the given components, into `dir/capture` (sync off: the
/// tests read the capture files).
struct CaptureMachine {
    let dir: TemporaryDirectory
    var captureDir: String { dir.file("capture") }
    var configPath: String { dir.file("machine.json") }

    static func component(_ name: String, model: String, attributes: String, hz: Double = 20) -> String {
        #"{"name": "\#(name)", "api": "rdk:component:sensor", "model": "\#(model)", "attributes": \#(attributes), "service_configs": [{"type": "data_manager", "attributes": {"capture_methods": [{"method": "Readings", "capture_frequency_hz": \#(hz)}]}}]}"#
    }

    func write(components: [String], modules: String = "[]") throws {
        let json = """
            {"modules": \(modules), "components": [\(components.joined(separator: ","))],
             "services": [{"name": "dm", "api": "rdk:service:data_manager", "attributes": {
                "capture_dir": "\(captureDir)", "maximum_capture_file_size_bytes": 1024, "sync_disabled": true}}]}
            """
        try json.write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    /// Closed capture files of component `name`.
    func files(of name: String) -> [String] {
        CaptureRecovery.files(in: captureDir, withExtension: "capture").filter { $0.contains("/\(name)/") }
    }

    /// Every record's `data.readings`, by component name, through `ferry capture cat`.
    func readings() throws -> [String: [BSONDocument]] {
        let result = try FerryProcess.run(["capture", "cat", captureDir])
        #expect(result.status == 0, "capture cat failed: \(result.stderr)")
        var byName: [String: [BSONDocument]] = [:]
        for line in result.stdout.split(separator: "\n") {
            let record = try BSONDocument(extendedJSON: String(line))
            guard let name = record["component_name"]?.stringValue,
                let readings = record["data"]?.documentValue?["readings"]?.documentValue
            else { continue }
            byName[name, default: []].append(readings)
        }
        return byName
    }

    /// Stops the harness (it forwards SIGTERM to ferry) and returns its exit status.
    static func stop(_ process: FerryProcess) -> Int32 {
        process.signal(SIGTERM)
        return process.wait().status
    }
}

func closeTo(_ value: BSON?, _ expected: Double, within tolerance: Double) -> Bool {
    guard let number = value?.doubleValue else { return false }
    return abs(number - expected) <= tolerance
}
