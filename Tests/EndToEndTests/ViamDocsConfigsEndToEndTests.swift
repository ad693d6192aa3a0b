import FerryBSON
import FerryTestSupport
import Foundation
import Testing

/// The example configs of Viam's data capture docs (Tests/Fixtures/viam-configs) run in the real
/// `ferry run`, unchanged but for fake models where hardware would be needed. `"capture_dir": ""`
/// is the default directory, so each host gets its own HOME.
@Suite(.ownThreads) struct ViamDocsConfigsEndToEndTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/viam-configs")

    struct Host {
        let home: TemporaryDirectory
        let process: FerryProcess
        var captureDir: String { home.file(".ferry/capture") }
        var log: String { (try? String(contentsOfFile: home.file("ferry.log"), encoding: .utf8)) ?? "" }

        /// Every record captured so far (open files' whole records included).
        func records() throws -> [BSONDocument] {
            let result = try FerryProcess.run(["capture", "cat", captureDir])
            return try result.stdout.split(separator: "\n").map { try BSONDocument(extendedJSON: String($0)) }
        }

        func stop() -> Int32 {
            process.signal(SIGINT)
            return process.wait().status
        }
    }

    static func start(_ fixture: String) throws -> Host {
        let home = try TemporaryDirectory("ferry-viam-docs")
        let process = try FerryProcess(
            ["run", fixtures.appendingPathComponent(fixture).path], environment: ["HOME": home.path], log: home.file("ferry.log"))
        return Host(home: home, process: process)
    }

    @Test func theMongoExampleCapturesAndSyncsIntoTheEmbeddedServer() throws {
        let host = try Self.start("dm-mongo-capture.json")
        defer { host.home.remove() }
        let synced = eventually { (SyncStatusFile.syncedRecords(captureDir: host.captureDir) ?? 0) >= 1 }
        #expect(host.stop() == 0)
        #expect(synced, "no reading reached the embedded data server:\n\(host.log)")
        #expect(FileManager.default.fileExists(atPath: host.home.file(".ferry/ferry-data/embedded.json")), "the default place, under HOME")
        let warnings = host.log.split(separator: "\n").filter { $0.contains("mongo_capture_config") }
        #expect(warnings.count == 1, "one warning line for the key:\n\(host.log)")
        #expect(warnings.first?.contains("has no effect in Ferry") == true)
    }

    /// The two data manager examples, which configure no component: each host runs as published,
    /// syncing the default capture directory under HOME at the published interval, and warns once
    /// about each key Ferry does not act on (and about nothing else).
    @Test(arguments: [
        (fixture: "dm-sync-disabled.json", seconds: 60.0, ignored: ["delete_data_on_part_deletion"]),
        (fixture: "dm-additional-sync-paths.json", seconds: 180.0, ignored: []),
    ])
    func theDataManagerExamplesRunAsPublished(fixture: String, seconds: Double, ignored: [String]) throws {
        let host = try Self.start(fixture)
        defer { host.home.remove() }
        let syncing = "syncing \(host.captureDir) to 127.0.0.1:"
        let started = eventually { host.log.contains(syncing) }
        #expect(host.stop() == 0)
        #expect(started, "\(fixture): \(host.log)")
        let line = try #require(host.log.split(separator: "\n").first { $0.contains(syncing) })
        #expect(line.hasSuffix("every \(seconds) seconds"), "\(line)")
        let warnings = host.log.split(separator: "\n").filter { $0.contains("has no effect in Ferry") }
        #expect(warnings.count == ignored.count, "\(fixture): \(warnings)")
        for key in ignored { #expect(warnings.contains { $0.contains(key) }, "\(key): \(warnings)") }
    }

    @Test func theSensorExampleCapturesBothSensors() throws {
        let host = try Self.start("sensors-temperature-wifi.json")
        defer { host.home.remove() }
        // Read while it runs: sync uploads the files (and deletes them) at any time, stopping included.
        var records: [BSONDocument] = []
        let captured = eventually {
            records = (try? host.records()) ?? []
            return Set(records.compactMap { $0["component_name"]?.stringValue }) == ["tmp36", "my-wifi-sensor"]
        }
        #expect(host.stop() == 0)
        #expect(captured, "\(host.log)")
        #expect(host.log.split(separator: "\n").filter { $0.contains("cache_size_kb") }.count == 1, "\(host.log)")
        let tmp36 = try #require(records.first { $0["component_name"] == "tmp36" })
        #expect(tmp36["data"]?.documentValue?["readings"]?.documentValue?["temperature_celsius"] != nil)
    }

    @Test func theESP32ExampleCapturesEachAnalogReader() throws {
        let host = try Self.start("board-esp32.json")
        defer { host.home.remove() }
        let captured = eventually {
            let readers = Set(((try? host.records()) ?? []).compactMap { $0["method_parameters"]?.documentValue?["reader_name"]?.stringValue })
            return readers == ["A1", "A2"]
        }
        #expect(host.stop() == 0)
        #expect(captured, "\(host.log)")
    }

    /// The camera example, with its elided remote filled in: a remote nothing is captured from is
    /// not dialled, `depends_on` may name it, and the camera captures JPEGs.
    @Test func theCameraExampleCapturesJPEGs() throws {
        let home = try TemporaryDirectory("ferry-viam-docs")
        defer { home.remove() }
        let text = try String(contentsOf: Self.fixtures.appendingPathComponent("camera-read-image.json"), encoding: .utf8)
        try text.replacingOccurrences(of: "REMOTE_ADDRESS", with: "127.0.0.1:9").write(
            toFile: home.file("machine.json"), atomically: true, encoding: .utf8)
        let host = Host(
            home: home, process: try FerryProcess(["run", home.file("machine.json")], environment: ["HOME": home.path], log: home.file("ferry.log")))
        // Read while it runs: sync uploads the files (and deletes them) at any time, stopping included.
        var seen: BSONDocument?
        let captured = eventually {
            seen = ((try? host.records()) ?? []).first { $0["component_name"] == "cam" }
            return seen != nil
        }
        #expect(host.stop() == 0)
        #expect(captured, "\(host.log)")
        let image = try #require(seen)
        #expect(image["binary"]?.documentValue?["mime_type"] == "image/jpeg")
        #expect(!host.log.contains("retention_policy"), "retention_policy is acted on (it travels with the uploads), not warned about")
        #expect(!host.log.contains("127.0.0.1:9"), "the remote was never dialled")
    }

    /// The two remote-part examples against a real Ferry host serving the ESP32 example's board
    /// (and a camera): each is run as published, with the address filled in and an API key given
    /// beside Viam's location secret, which Ferry does not take.
    @Test func theRemotePartExamplesCaptureTheRemotesBoardAndCamera() throws {
        let remoteHome = try TemporaryDirectory("ferry-viam-docs-remote")
        defer { remoteHome.remove() }
        let keyID = "9d3c1b7a-5e2f-4a60-8b1c-2d4e6f8a0b1c", key = "docs-remote-key-3a9f1c7e5b2d4e60"
        var board = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: Self.fixtures.appendingPathComponent("board-esp32.json"))) as? [String: Any])
        var components = try #require(board["components"] as? [[String: Any]])
        // Small frames: each capture is a machine-API call with a deadline, and a debug build
        // encoding full-size JPEGs on a loaded machine can miss it.
        components.append(["name": "cam", "type": "camera", "namespace": "rdk", "model": "fake", "attributes": ["width": 64, "height": 48]])
        board["components"] = components
        board["auth"] = ["handlers": [["type": "api-key", "config": [keyID: key, "keys": [keyID]]]]]
        try JSONSerialization.data(withJSONObject: board).write(to: URL(fileURLWithPath: remoteHome.file("remote.json")))
        let remote = try FerryProcess(
            ["run", remoteHome.file("remote.json"), "--listen", "127.0.0.1:0"], environment: ["HOME": remoteHome.path],
            log: remoteHome.file("remote.log"))
        defer {
            remote.signal(SIGKILL)
            _ = remote.wait()
        }
        let marker = "serving Viam's machine API on 127.0.0.1:"
        func remoteLog() -> String { (try? String(contentsOfFile: remoteHome.file("remote.log"), encoding: .utf8)) ?? "" }
        #expect(eventually { remoteLog().contains(marker) }, "\(remoteLog())")
        let port = try #require(remoteLog().components(separatedBy: marker).last.map { String($0.prefix(while: \.isNumber)) })
        let certificate = remoteHome.file(".ferry/capture/.ferry/machine-api/tls-cert.pem")
        let auth = """
            "secret": "REDACTED", "auth": {"credentials": {"type": "api-key", "payload": "\(key)"}, "entity": "\(keyID)"},
            "ferry": {"ca_cert": "\(certificate)"}
            """

        for (fixture, expected) in [
            ("remote-esp32-analogs-and-gpio.json", ["Analogs A1", "Analogs A2", "Gpios 27"]), ("remote-camera-read-image.json", ["ReadImage"]),
        ] {
            let home = try TemporaryDirectory("ferry-viam-docs")
            defer { home.remove() }
            let text = try String(contentsOf: Self.fixtures.appendingPathComponent(fixture), encoding: .utf8)
            #expect(text.contains(#""secret": "REDACTED""#))
            try text.replacingOccurrences(of: "REMOTE_ADDRESS", with: "127.0.0.1:\(port)")
                .replacingOccurrences(of: #""secret": "REDACTED""#, with: auth)
                .write(toFile: home.file("machine.json"), atomically: true, encoding: .utf8)
            let host = Host(
                home: home,
                process: try FerryProcess(["run", home.file("machine.json")], environment: ["HOME": home.path], log: home.file("ferry.log")))
            var records: [BSONDocument] = []  // as last read while it ran (sync deletes uploaded files)
            func seen() -> Set<String> {
                records = (try? host.records()) ?? []
                return Set(records.map { record in
                    let parameters = record["method_parameters"]?.documentValue
                    let which = parameters?["reader_name"]?.stringValue.flatMap { record["method_name"] == "ReadImage" ? nil : $0 } ?? parameters?["pin_name"]?.stringValue
                    return [record["method_name"]?.stringValue, which].compactMap { $0 }.joined(separator: " ")
                })
            }
            let captured = eventually { seen().isSuperset(of: expected) }
            #expect(host.stop() == 0)
            #expect(captured, "\(fixture): \(records.count) records\n\(host.log)")
            let names = Set(records.compactMap { $0["component_name"]?.stringValue })
            #expect(names == [fixture.contains("esp32") ? "esp-home:my-esp32" : "pi-test-main:cam"], "\(names)")
            #expect(host.log.contains("secret") && host.log.contains("has no effect in Ferry"), "\(host.log)")
        }
    }

    /// A webcam has no point clouds: asking for them is a config error at load, naming the method.
    @Test func aWebcamPointCloudIsRefusedAtLoad() throws {
        let dir = try TemporaryDirectory("ferry-webcam-pcd")
        defer { dir.remove() }
        let config = """
            {"components": [{"name": "cam", "type": "camera", "model": "webcam", "attributes": {"video_path": "video0"},
              "service_configs": [{"type": "data_manager", "attributes": {"capture_methods": [{"method": "NextPointCloud", "capture_frequency_hz": 1}]}}]}],
             "services": [{"name": "dm", "type": "data_manager", "attributes": {"capture_dir": "capture", "sync_disabled": true}}]}
            """
        try config.write(toFile: dir.file("machine.json"), atomically: true, encoding: .utf8)
        let result = try FerryProcess.run(["run", dir.file("machine.json")])
        #expect(result.status != 0)
        #expect(
            result.stderr.contains(
                #"components[0].service_configs[0].attributes.capture_methods[0].method: "NextPointCloud" is not a capture method of rdk:component:camera model rdk:builtin:webcam; it has GetImages, ReadImage"#),
            "\(result.stderr)")
    }
}

/// `<capture_dir>/.ferry/sync-status.json`, which the host rewrites as it syncs.
enum SyncStatusFile {
    static func syncedRecords(captureDir: String) -> Int? {
        guard let data = FileManager.default.contents(atPath: captureDir + "/.ferry/sync-status.json"),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return nil }
        return object["synced_records"] as? Int
    }
}
