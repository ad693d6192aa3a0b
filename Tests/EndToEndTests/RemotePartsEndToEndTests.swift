import FerryBSON
import FerryTestSupport
import Foundation
import Testing

/// Two real `ferry run` hosts on loopback: "main" captures the other's board and sensor through
/// `remotes[]` (Viam's machine API over TLS, with an API key), and its own sensor too. The remote
/// is SIGKILLed mid-capture and restarted: its captures resume by themselves, and the local sensor
/// never stops.
@Suite(.serialized, .ownThreads) struct RemotePartsEndToEndTests {
    static let keyID = "5b7d9f1a-2c4e-4f60-8a1b-3c5d7e9f0a2b"
    static let key = "remote-part-key-6e0c2a9f4b7d1e35"

    final class Rig: @unchecked Sendable {
        // @unchecked: used by one test, on its own thread.
        let dir: TemporaryDirectory
        var remote: FerryProcess?
        var main: FerryProcess?
        var remotePort = 0
        var remoteStarts = 0

        init() throws { dir = try TemporaryDirectory("ferry-remotes") }

        func log(_ name: String) -> String { (try? String(contentsOfFile: dir.file(name), encoding: .utf8)) ?? "" }

        func writeRemoteConfig() throws {
            let config: [String: Any] = [
                "components": [
                    ["name": "my-esp32", "type": "board", "namespace": "rdk", "model": "fake",
                     "attributes": ["pins": [27], "analogs": [["pin": "34", "name": "A1"], ["pin": "35", "name": "A2"]]]],
                    ["name": "temp", "type": "sensor", "namespace": "rdk", "model": "fake"],
                ],
                "services": [["name": "dm", "type": "data_manager", "attributes": ["capture_dir": dir.file("remote-capture"), "sync_disabled": true]]],
                "auth": ["handlers": [["type": "api-key", "config": [RemotePartsEndToEndTests.keyID: RemotePartsEndToEndTests.key, "keys": [RemotePartsEndToEndTests.keyID]]]]],
            ]
            try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: dir.file("remote.json")))
        }

        /// The first start binds a port the kernel picks; a restart takes the same port again, as
        /// the main host's config names it.
        func startRemote() throws {
            remote = try FerryProcess(["run", dir.file("remote.json"), "--listen", "127.0.0.1:\(remotePort)"], log: dir.file("remote.log"))
            let marker = "serving Viam's machine API on 127.0.0.1:"
            let up = eventually(timeout: 120) { log("remote.log").components(separatedBy: marker).count > remoteStarts + 1 }
            #expect(up, "the remote did not start:\n\(log("remote.log"))")
            remoteStarts += 1
            if remotePort == 0, let reported = log("remote.log").components(separatedBy: marker).last?.prefix(while: \.isNumber) {
                remotePort = Int(reported) ?? 0
            }
        }

        func writeMainConfig() throws {
            func capture(_ method: String, _ resource: String, _ parameters: [String: Any]) -> [String: Any] {
                ["method": method, "capture_frequency_hz": 10, "name": resource, "additional_params": parameters, "disabled": false]
            }
            let config: [String: Any] = [
                "components": [
                    ["name": "local-temp", "type": "sensor", "namespace": "rdk", "model": "fake",
                     "service_configs": [["type": "data_manager", "attributes": ["capture_methods": [["method": "Readings", "capture_frequency_hz": 10]]]]]]
                ],
                "remotes": [[
                    "name": "esp-home", "address": "127.0.0.1:\(remotePort)",
                    "auth": ["credentials": ["type": "api-key", "payload": RemotePartsEndToEndTests.key], "entity": RemotePartsEndToEndTests.keyID],
                    "ferry": ["ca_cert": dir.file("remote-capture/.ferry/machine-api/tls-cert.pem")],
                    "service_configs": [["type": "data_manager", "attributes": ["capture_methods": [
                        capture("Analogs", "rdk:component:board/my-esp32", ["reader_name": "A1"]),
                        capture("Gpios", "rdk:component:board/my-esp32", ["pin_name": "27"]),
                        capture("Readings", "rdk:component:sensor/temp", [:]),
                    ]]]],
                ]],
                "services": [["name": "dm", "type": "data_manager", "attributes": ["capture_dir": dir.file("capture"), "sync_disabled": true]]],
            ]
            try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: dir.file("main.json")))
        }

        func records() -> [BSONDocument] {
            guard let result = try? FerryProcess.run(["capture", "cat", dir.file("capture")]) else { return [] }
            return result.stdout.split(separator: "\n").compactMap { try? BSONDocument(extendedJSON: String($0)) }
        }

        func count(_ component: String, method: String? = nil, after: Date = .distantPast) -> Int {
            records().filter {
                $0["component_name"]?.stringValue == component && (method == nil || $0["method_name"]?.stringValue == method)
                    && (($0["time_received"]).flatMap { if case .datetime(let ms) = $0 { ms } else { nil } } ?? 0) > Int64(after.timeIntervalSince1970 * 1000)
            }.count
        }

        func tearDown() {
            for process in [main, remote].compactMap({ $0 }) where process.process.isRunning {
                process.signal(SIGKILL)
                _ = process.wait()
            }
            dir.remove()
        }
    }

    @Test func aHostCapturesARemotesBoardAndSensorAndRidesOutItsKilling() throws {
        let rig = try Rig()
        defer { rig.tearDown() }
        try rig.writeRemoteConfig()
        try rig.startRemote()
        try rig.writeMainConfig()
        rig.main = try FerryProcess(["run", rig.dir.file("main.json")], log: rig.dir.file("main.log"))

        let flowing = eventually {
            rig.count("esp-home:my-esp32", method: "Analogs") >= 5 && rig.count("esp-home:my-esp32", method: "Gpios") >= 5
                && rig.count("esp-home:temp") >= 5
        }
        #expect(flowing, "no remote readings:\n\(rig.log("main.log"))\n--- remote ---\n\(rig.log("remote.log"))")
        let analog = try #require(rig.records().first { $0["component_name"] == "esp-home:my-esp32" && $0["method_name"] == "Analogs" })
        #expect(analog["component_type"] == "rdk:component:board")
        #expect(analog["method_parameters"] == ["reader_name": "A1"])
        let reading = try #require(analog["data"]?.documentValue)
        #expect(reading["max_range"] == .double(3.3), "the remote's own reading, float32 on the wire: \(reading)")
        #expect(rig.records().contains { $0["component_name"] == "esp-home:temp" && $0["data"]?.documentValue?["readings"]?.documentValue?["temperature_celsius"] != nil })

        // Kill the remote mid-capture; the main host notices, and keeps its local sensor going.
        rig.remote?.signal(SIGKILL)
        _ = rig.remote?.wait()
        let killedAt = Date()
        #expect(eventually { rig.log("main.log").contains("remote esp-home at 127.0.0.1:\(rig.remotePort) is unreachable") }, "\(rig.log("main.log"))")
        #expect(eventually { rig.count("local-temp", after: killedAt) >= 10 }, "local capture goes on while the remote is down")

        try rig.startRemote()
        let restartedAt = Date()
        let resumed = eventually {
            rig.count("esp-home:my-esp32", method: "Analogs", after: restartedAt) >= 3 && rig.count("esp-home:temp", after: restartedAt) >= 3
        }
        #expect(resumed, "captures did not resume after the restart:\n\(rig.log("main.log"))")

        rig.main?.signal(SIGINT)
        #expect(rig.main?.wait().status == 0)
        // Nothing local lost: the local sensor captured before, during and after the outage, its
        // collector never reported an error, and every file reads back whole.
        let local = rig.records().filter { $0["component_name"] == "local-temp" }.compactMap { record -> Int64? in
            if case .datetime(let ms)? = record["time_requested"] { ms } else { nil }
        }.sorted()
        let (killed, restarted) = (Int64(killedAt.timeIntervalSince1970 * 1000), Int64(restartedAt.timeIntervalSince1970 * 1000))
        #expect(local.contains { $0 < killed } && local.contains { $0 > killed && $0 < restarted } && local.contains { $0 > restarted })
        #expect(!rig.log("main.log").contains("collector local-temp"), "the local collector had no error:\n\(rig.log("main.log"))")
        #expect(CaptureRecoveryCheck.corruptFiles(in: rig.dir.file("capture")).isEmpty)
    }
}

enum CaptureRecoveryCheck {
    /// Files set aside as unreadable.
    static func corruptFiles(in directory: String) -> [String] {
        (FileManager.default.enumerator(atPath: directory)?.allObjects as? [String] ?? []).filter { $0.hasSuffix(".corrupt") }
    }
}
