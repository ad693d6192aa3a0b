import FerryBSON
import FerryCaptureFile
import FerryTestSupport
import Foundation
import Testing

/// The real `ferry` binary, run as a user runs it.
@Suite(.serialized, .ownThreads) struct HostEndToEndTests {
    let dir: TemporaryDirectory
    var captureDir: String { dir.file("capture") }
    var configPath: String { dir.file("machine.json") }

    init() throws { dir = try TemporaryDirectory("ferry-e2e") }

    func writeConfig(components: String, extra: String = "") throws {
        let json = """
            {"components": [\(components)],
             "services": [{"name": "dm", "api": "rdk:service:data_manager", "attributes": {
                "capture_dir": "\(captureDir)", "maximum_capture_file_size_bytes": 4096, "tags": ["e2e"],
                "sync_disabled": true \(extra)}}]}
            """
        // Write then rename, as editors do, so the host never reads a half-written file.
        try json.write(toFile: configPath + ".tmp", atomically: false, encoding: .utf8)
        _ = rename(configPath + ".tmp", configPath)
    }

    static func sensor(_ name: String, hz: Double) -> String {
        #"{"name": "\#(name)", "api": "rdk:component:sensor", "model": "fake", "service_configs": [{"type": "data_manager", "attributes": {"capture_methods": [{"method": "Readings", "capture_frequency_hz": \#(hz)}]}}]}"#
    }
    static let camera =
        #"{"name": "cam", "api": "rdk:component:camera", "model": "fake", "service_configs": [{"type": "data_manager", "attributes": {"capture_methods": [{"method": "ReadImage", "capture_frequency_hz": 4}, {"method": "NextPointCloud", "capture_frequency_hz": 1}]}}]}"#
    static let motor =
        #"{"name": "wheel", "api": "rdk:component:motor", "model": "fake", "service_configs": [{"type": "data_manager", "attributes": {"capture_methods": [{"method": "Position", "capture_frequency_hz": 20}]}}]}"#

    func files(_ ext: String) -> [String] { CaptureRecovery.files(in: captureDir, withExtension: ext) }

    /// Every record in the capture dir through `ferry capture cat`, parsed back.
    func catRecords() throws -> [BSONDocument] {
        let result = try FerryProcess.run(["capture", "cat", captureDir])
        #expect(result.status == 0, "capture cat failed: \(result.stderr)")
        return try result.stdout.split(separator: "\n").map { try BSONDocument(extendedJSON: String($0)) }
    }

    @Test func runCapturesAndCtrlCClosesEveryFile() throws {
        defer { dir.remove() }
        try writeConfig(components: [Self.sensor("temp", hz: 200), Self.camera].joined(separator: ","))
        let host = try FerryProcess(["run", configPath])
        // A finished file of readings (4 KiB: dozens of them) and an image, whatever the machine's load.
        #expect(eventually { files("capture").contains { $0.contains("/Readings/") } && files("capture").contains { $0.contains("ReadImage") } })
        host.signal(SIGINT)
        let result = host.wait()
        #expect(result.status == 0, "\(result.stderr)")
        #expect(files("prog").isEmpty, "SIGINT leaves no .prog: \(files("prog"))")
        let records = try catRecords()
        let readings = records.filter { $0["method_name"] == "Readings" }
        #expect(readings.count > 10)
        for record in readings {
            #expect(record["component_type"] == "rdk:component:sensor")
            #expect(record["component_name"] == "temp")
            #expect(record["tags"] == ["e2e"])
            guard case .datetime(let requested) = record["time_requested"], case .datetime(let received) = record["time_received"] else {
                Issue.record("dates in \(record)")
                continue
            }
            #expect(requested <= received)
            #expect(record["data"]?.documentValue?["readings"]?.documentValue?.isEmpty == false)
        }
        let image = try #require(records.first { $0["method_name"] == "ReadImage" })
        #expect(image["binary"]?.documentValue?["mime_type"] == "image/png")
        #expect(records.contains { $0["method_name"] == "NextPointCloud" && $0["binary"]?.documentValue?["mime_type"] == "pointcloud/pcd" })
    }

    @Test func sigkillMidCaptureIsRecoveredAtRestart() throws {
        defer { dir.remove() }
        try writeConfig(components: Self.sensor("temp", hz: 500))
        var orphansLeft = 0
        for round in 0..<3 {
            let host = try FerryProcess(["run", configPath])
            #expect(eventually { !files("prog").isEmpty && files("capture").count > round })
            host.signal(SIGKILL)
            _ = host.wait()
            // Usually the open file is left as .prog; a kill just after a rotation leaves none.
            orphansLeft += files("prog").count
        }
        let before = files("prog").count + files("capture").count
        #expect(orphansLeft > 0, "SIGKILL leaves open files as .prog for recovery")
        // Restart: recovery promotes every .prog before capture resumes.
        let host = try FerryProcess(["run", configPath])
        // Recovered, and capturing again into a new file.
        #expect(eventually { files("capture").count >= before && !files("prog").isEmpty })
        host.signal(SIGTERM)
        let result = host.wait()
        #expect(result.status == 0, "\(result.stderr)")
        #expect(files("prog").isEmpty)
        for file in files("capture") {
            #expect(throws: Never.self) { try CaptureFileReader.read(path: file, strict: true) }
        }
        #expect(try catRecords().count > 0)
    }

    @Test func configEditsApplyWhileRunningAndABadEditIsRefused() throws {
        defer { dir.remove() }
        try writeConfig(components: Self.sensor("temp", hz: 50))
        let host = try FerryProcess(["run", configPath])
        #expect(eventually { !files("prog").isEmpty || !files("capture").isEmpty })
        try writeConfig(components: [Self.sensor("temp", hz: 50), Self.motor].joined(separator: ","))
        #expect(eventually { (files("prog") + files("capture")).contains { $0.contains("/rdk_component_motor/wheel/Position/") } })
        // An invalid edit: the motor is asked for a method it lacks. The old config keeps running.
        try writeConfig(components: Self.motor.replacingOccurrences(of: "\"Position\"", with: "\"Readings\""))
        Thread.sleep(forTimeInterval: 2.5)
        let sensorRecordsBefore = try FerryProcess.run(["capture", "cat", captureDir]).stdout.components(separatedBy: "\"Readings\"").count
        #expect(try eventually { try FerryProcess.run(["capture", "cat", captureDir]).stdout.components(separatedBy: "\"Readings\"").count > sensorRecordsBefore })
        // Removing the motor closes its file cleanly while the host runs on.
        try writeConfig(components: Self.sensor("temp", hz: 50))
        #expect(eventually { !files("prog").contains { $0.contains("rdk_component_motor") } })
        host.signal(SIGINT)
        let result = host.wait()
        #expect(result.status == 0)
        #expect(result.stderr.contains("config change refused, the previous config keeps running"))
        #expect(result.stderr.contains(#"components[0].service_configs[0].attributes.capture_methods[0].method: "Readings" is not a capture method of rdk:component:motor model rdk:builtin:fake; it has Position, IsPowered"#))
    }

    @Test func anInvalidConfigAtStartIsRefusedWithItsPath() throws {
        defer { dir.remove() }
        try writeConfig(components: Self.sensor("temp", hz: 5).replacingOccurrences(of: "\"Readings\"", with: "\"Reading\""))
        let result = try FerryProcess.run(["run", configPath])
        #expect(result.status != 0)
        #expect(result.stderr.contains(#"components[0].service_configs[0].attributes.capture_methods[0].method: "Reading" is not a capture method of rdk:component:sensor model rdk:builtin:fake; it has Readings"#))
    }

    @Test func aBrokenPluginIsReportedAndTheHostRunsWithoutIt() throws {
        defer { dir.remove() }
        try writeConfig(components: Self.sensor("temp", hz: 20))
        let broken = BuiltProducts.library("FixtureNoEntry")
        let host = try FerryProcess(["run", configPath], environment: ["FERRY_PLUGIN_PATH": broken + ":/nonexistent/libGone.so"])
        #expect(eventually { !files("prog").isEmpty || !files("capture").isEmpty })
        host.signal(SIGINT)
        let result = host.wait()
        #expect(result.status == 0)
        #expect(result.stderr.contains("plugin \(broken): no ferry_plugin_entry symbol"))
        #expect(result.stderr.contains("plugin /nonexistent/libGone.so: file not found"))
    }

    @Test func pluginInspectPrintsModelsAndABI() throws {
        defer { dir.remove() }
        let text = try FerryProcess.run(["plugin", "inspect", BuiltProducts.library("FerrySystemStats")])
        #expect(text.status == 0)
        #expect(text.stdout.contains("abi      1.2"))
        #expect(text.stdout.contains("rdk:component:sensor  ferry:linux:system-stats"))
        let json = try FerryProcess.run(["plugin", "inspect", "--json", BuiltProducts.library("FerryFake")])
        let document = try BSONDocument(extendedJSON: json.stdout)
        #expect(document["models"]?.arrayValue?.count == 10)
        let bad = try FerryProcess.run(["plugin", "inspect", BuiltProducts.library("FixtureABIMajor")])
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("built for plugin ABI 2.0 but this host speaks 1.2"))
    }

    /// --isolate: what a plugin process reports; a plugin that crashes while loading is a clear error.
    @Test func pluginInspectInAProcessOfItsOwn() throws {
        defer { dir.remove() }
        let text = try FerryProcess.run(["plugin", "inspect", "--isolate", BuiltProducts.library("FerryMQLSensor")])
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.stdout.contains("process  its own"))
        #expect(text.stdout.contains("$lttb (stage)"))
        let json = try FerryProcess.run(["plugin", "inspect", "--isolate", "--json", BuiltProducts.library("FerryFake")])
        #expect(try BSONDocument(extendedJSON: json.stdout)["models"]?.arrayValue?.count == 10)
        let crashing = try FerryProcess.run(["plugin", "inspect", "--isolate", BuiltProducts.library("FixtureInitCrashes")])
        #expect(crashing.status != 0)
        #expect(crashing.stderr.contains("was killed by SIGSEGV"), "\(crashing.stderr)")
        #expect(crashing.stderr.contains("fixture: init crashes"))
    }
}

/// `ferry capture cat` on a single file and on a damaged one.
@Suite(.ownThreads) struct CaptureCatTests {
    @Test func aCorruptFileIsReportedAndTheOthersStillPrint() throws {
        let dir = try TemporaryDirectory("ferry-cat")
        defer { dir.remove() }
        let folder = dir.file("rdk_component_sensor/s/Readings")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let metadata = CaptureFile.metadata(api: "rdk:component:sensor", component: "s", method: "Readings", parameters: ["k": "v"], tabular: true, tags: [])
        var good = try CaptureFile.delimited(metadata)
        let at = Date(timeIntervalSince1970: 1_700_000_000.5)
        good += try CaptureFile.delimited(CaptureFile.tabularRecord(["readings": ["t": 21.5]], requested: at, received: at))
        _ = FileManager.default.createFile(atPath: folder + "/a.capture", contents: Data(good))
        _ = FileManager.default.createFile(atPath: folder + "/b.capture", contents: Data(good.dropLast(2)))
        let single = try FerryProcess.run(["capture", "cat", folder + "/a.capture"])
        #expect(single.status == 0)
        let line = try BSONDocument(extendedJSON: single.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(line["method_parameters"] == ["k": "v"])
        #expect(line["time_received"] == .datetime(1_700_000_000_500))
        #expect(line["data"] == ["readings": ["t": 21.5]])
        let all = try FerryProcess.run(["capture", "cat", dir.path])
        #expect(all.status == 1)
        #expect(all.stdout.split(separator: "\n").count == 1)
        #expect(all.stderr.contains("b.capture: at byte"))
        #expect(all.stderr.contains("bytes after the last whole record"))
    }

    /// A collector opens a new file and writes its header at once: an empty `.prog` met while
    /// scanning a capture directory is one being started, not damage. Named alone, it is reported.
    @Test func anEmptyProgFileInADirectoryIsOneBeingStarted() throws {
        let dir = try TemporaryDirectory("ferry-cat-prog")
        defer { dir.remove() }
        let folder = dir.file("rdk_component_sensor/s/Readings")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var good = try CaptureFile.delimited(
            CaptureFile.metadata(api: "rdk:component:sensor", component: "s", method: "Readings", parameters: [:], tabular: true, tags: []))
        let at = Date(timeIntervalSince1970: 1_700_000_000)
        good += try CaptureFile.delimited(CaptureFile.tabularRecord(["readings": ["t": 1]], requested: at, received: at))
        _ = FileManager.default.createFile(atPath: folder + "/a.capture", contents: Data(good))
        _ = FileManager.default.createFile(atPath: folder + "/b.prog", contents: Data())
        let all = try FerryProcess.run(["capture", "cat", dir.path])
        #expect(all.status == 0, "\(all.stderr)")
        #expect(all.stdout.split(separator: "\n").count == 1)
        let alone = try FerryProcess.run(["capture", "cat", folder + "/b.prog"])
        #expect(alone.status == 1)
        #expect(alone.stderr.contains("no complete metadata header"))
    }
}
