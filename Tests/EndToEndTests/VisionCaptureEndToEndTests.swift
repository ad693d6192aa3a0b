import FerryBSON
import FerryTestSupport
import Foundation
import GRDB
import Testing

/// Viam's vision example (Tests/Fixtures/viam-configs/vision-capture-all-from-camera.json: a
/// vision service capturing CaptureAllFromCamera from camera-1 with min_confidence_score "0.7"),
/// with the fake camera and the fake vision model, syncing into a real `ferry serve`: each image
/// arrives with its detections and classifications kept beside it.
@Suite(.ownThreads) struct VisionCaptureEndToEndTests {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/viam-configs/vision-capture-all-from-camera.json")

    @Test func imagesReachTheDataServerWithTheirAnnotations() throws {
        let dir = try TemporaryDirectory("ferry-vision")
        defer { dir.remove() }
        let data = dir.file("data")
        let org = try FerryProcess.run(["org", "create", "vision", "--data", data]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let key = try FerryProcess.run(["key", "create", "--data", data, "--org", org, "--role", "operator"]).stdout.split(separator: " ")
        let server = try FerryProcess(
            ["serve", "--data", data, "--listen", "127.0.0.1:0", "--metrics-listen", "off"], log: dir.file("server.log"))
        defer {
            server.signal(SIGKILL)
            _ = server.wait()
        }
        let marker = "serving Viam's data API on 127.0.0.1:"
        #expect(eventually { ((try? String(contentsOfFile: dir.file("server.log"), encoding: .utf8)) ?? "").contains(marker) })
        let log = try String(contentsOfFile: dir.file("server.log"), encoding: .utf8)
        let port = try #require(log.components(separatedBy: marker).last.map { String($0.prefix(while: \.isNumber)) })

        // The published config, plus Ferry's own key naming the server (its one place for that).
        var config = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: Self.fixture)) as? [String: Any])
        var services = try #require(config["services"] as? [[String: Any]])
        let index = try #require(services.firstIndex { $0["type"] as? String == "data_manager" })
        var attributes = try #require(services[index]["attributes"] as? [String: Any])
        attributes["ferry"] = [
            "server": "127.0.0.1:\(port)", "api_key_id": String(key[0]), "api_key": String(key[1]).trimmingCharacters(in: .whitespacesAndNewlines),
            "ca_cert": "\(data)/tls-cert.pem",
        ]
        services[index]["attributes"] = attributes
        config["services"] = services
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: dir.file("machine.json")))

        let host = try FerryProcess(["run", dir.file("machine.json")], environment: ["HOME": dir.path], log: dir.file("host.log"))
        defer {
            host.signal(SIGKILL)
            _ = host.wait()
        }
        var rows: [Row] = []
        let stored = eventually {
            rows = (try? Self.binaries(in: data)) ?? []
            return rows.count >= 3
        }
        #expect(stored, "no annotated image reached the server:\n\(String(decoding: FileManager.default.contents(atPath: dir.file("host.log")) ?? Data(), as: UTF8.self))")
        for row in rows {
            #expect(row["component_type"] as String == "rdk:service:vision")
            #expect(row["component_name"] as String == "vision-1")
            #expect(row["method_name"] as String == "CaptureAllFromCamera")
            #expect(row["mime_type"] as String == "image/jpeg")
            let annotations = try BSONDocument(extendedJSON: try #require(row["annotations"] as String?))
            let boxes = annotations["bboxes"]?.arrayValue?.compactMap(\.documentValue) ?? []
            let classifications = annotations["classifications"]?.arrayValue?.compactMap(\.documentValue) ?? []
            #expect(boxes.contains { $0["label"] == "color-bars" }, "\(annotations)")
            #expect(classifications.contains { $0["label"] == "test-scene" })
            for item in boxes + classifications {
                #expect((item["confidence"]?.doubleValue ?? 0) >= 0.7, "min_confidence_score \"0.7\" filters: \(item)")
            }
            for box in boxes {
                let (x0, y0, x1, y1) = (box["x_min_normalized"]?.doubleValue ?? -1, box["y_min_normalized"]?.doubleValue ?? -1,
                                        box["x_max_normalized"]?.doubleValue ?? -1, box["y_max_normalized"]?.doubleValue ?? -1)
                #expect(0 <= x0 && x0 < x1 && x1 <= 1 && 0 <= y0 && y0 < y1 && y1 <= 1, "a box inside the image: \(box)")
            }
        }
        let hostLog = String(decoding: FileManager.default.contents(atPath: dir.file("host.log")) ?? Data(), as: UTF8.self)
        #expect(hostLog.contains("mlmodel-1"), "the ML model service no plugin provides is reported, and skipped")
    }

    /// The server's binary metadata rows, read from its SQLite store as they are written.
    static func binaries(in data: String) throws -> [Row] {
        var configuration = Configuration()
        configuration.readonly = true
        let queue = try DatabaseQueue(path: data + "/store.sqlite", configuration: configuration)
        return try queue.read { db in
            try Row.fetchAll(db, sql: "SELECT component_type, component_name, method_name, mime_type, annotations FROM binary_data")
        }
    }
}
