import FerryTestSupport
import Foundation
import GRDB
import Testing

/// A host whose config gives one capture method Viam's `retention_policy`, syncing to the real
/// `ferry serve` (enforcing every second, `--retention-interval 1`): the policy travels with the
/// uploads, and the server keeps that method's newest readings within the size limit, and a
/// camera's newest images within its binary limit, while another method, without a policy, keeps
/// all of its own. (The days limit is enforced by the same
/// enforcer; its UTC-midnight cut is tested on an injected clock in RetentionEnforcerTests and
/// RetentionTests.)
@Suite(.serialized, .ownThreads) struct RetentionEndToEndTests {
    enum Backend: String, CaseIterable { case sqlite, postgres }

    @Test(arguments: Backend.allCases) func theServerKeepsEachMethodWithinItsUploadedSizeLimits(_ backend: Backend) async throws {
        let rig = try SyncRig()
        defer { rig.tearDown() }
        if backend == .postgres { rig.database = try await TestPostgres.freshDatabase() }
        rig.serverArguments = ["--retention-interval", "1"]
        try rig.startServer()
        // 3000 bytes of readings' data (a gigabyte is 10⁹ bytes): some dozens of the fake sensor's readings.
        let limitBytes = 3000
        func sensor(_ name: String, policy: [String: Any]?) -> [String: Any] {
            var attributes: [String: Any] = ["capture_methods": [["method": "Readings", "capture_frequency_hz": 50]]]
            if let policy { attributes["retention_policy"] = policy }
            return [
                "name": name, "api": "rdk:component:sensor", "model": "fake",
                "service_configs": [["type": "data_manager", "attributes": attributes]],
            ]
        }
        // A camera whose images may take 200 kB, set beside its capture methods (as Viam's example does).
        let binaryLimitBytes = 200_000
        let camera: [String: Any] = [
            "name": "cam", "api": "rdk:component:camera", "model": "fake",
            "service_configs": [
                [
                    "type": "data_manager",
                    "attributes": [
                        "capture_methods": [["method": "ReadImage", "capture_frequency_hz": 10, "additional_params": ["mime_type": "image/jpeg"]]],
                        "retention_policy": ["binary_limit_gb": Double(binaryLimitBytes) / 1e9],
                    ] as [String: Any],
                ]
            ],
        ]
        let machine: [String: Any] = [
            "components": [sensor("limited", policy: ["tabular_limit_gb": Double(limitBytes) / 1e9]), sensor("kept", policy: nil), camera],
            "services": [
                [
                    "name": "data_manager", "api": "rdk:service:data_manager",
                    "attributes": [
                        "capture_dir": rig.captureDir, "sync_interval_mins": 0.005, "maximum_capture_file_size_bytes": 4096,
                        "ferry": rig.serverOptions(port: rig.serverPort),
                    ] as [String: Any],
                ]
            ],
            "cloud": ["id": SyncRig.partID],
        ]
        try JSONSerialization.data(withJSONObject: machine).write(to: URL(fileURLWithPath: rig.config))
        rig.host = try FerryProcess(["run", rig.config], log: rig.directory.file("host.log"))

        /// (count, oldest capture ms, newest capture ms) of a component's stored readings.
        func stored(_ component: String) throws -> (count: Int, oldest: Int64, newest: Int64) {
            let query = try FerryProcess.run(
                ["data", "query"] + rig.storeArguments + [
                    "--org", rig.organization, "--mql",
                    #"[{"$match": {"component_name": "\#(component)"}}, {"$group": {"_id": null, "n": {"$sum": 1}, "#
                        + #""oldest": {"$min": {"$toLong": "$time_requested"}}, "newest": {"$max": {"$toLong": "$time_requested"}}}}]"#,
                ])
            #expect(query.status == 0, "\(query.stderr)")
            guard let line = query.stdout.split(separator: "\n").first,
                let row = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            else { return (0, 0, 0) }
            func number(_ key: String) -> Int64 { (row[key] as? NSNumber)?.int64Value ?? 0 }
            return (Int(number("n")), number("oldest"), number("newest"))
        }
        /// (count, bytes) of the camera's stored images.
        func images() throws -> (count: Int, bytes: Int) {
            let sql = "SELECT count(*), coalesce(sum(size), 0) FROM binary_data WHERE component_name = 'cam'"
            if let database = rig.database {
                let fields = try TestPostgres.psql(sql, database: TestPostgres.databaseName(of: database))
                    .trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "|").compactMap { Int($0) }
                return fields.count == 2 ? (fields[0], fields[1]) : (0, 0)
            }
            var configuration = Configuration()
            configuration.readonly = true
            let queue = try DatabaseQueue(path: rig.dataDirectory + "/store.sqlite", configuration: configuration)
            return try queue.read { db in
                let row = try Row.fetchOne(db, sql: sql)
                return (row?[0] ?? 0, row?[1] ?? 0)
            }
        }
        // The fake sensor's data, {"readings": {"temperature_celsius", "humidity_pct", "pressure_hpa"}}
        // (three doubles), is 93 bytes as BSON: the limit keeps the newest 32.
        let fits = limitBytes / 93
        // Enforcement has deleted some of the limited method's readings while the other's pile up.
        let enforced = eventually(timeout: 180) {
            let log = rig.log("server.log")
            return log.contains("readings and 0 binary payloads of limited Readings") && log.contains("binary payloads of cam ReadImage")
                && ((try? stored("kept").count) ?? 0) > 300
        }
        #expect(enforced, "no retention seen:\n\(rig.log("server.log").suffix(3000))\n\(rig.log("host.log").suffix(2000))")
        try rig.stopHost()
        // After the last uploads, the next pass brings the method within its limit again.
        var limited = try stored("limited")
        #expect(eventually(timeout: 60) { limited = (try? stored("limited")) ?? limited; return limited.count <= fits }, "\(limited)")
        let kept = try stored("kept")
        #expect(limited.count == fits, "the newest readings that fit stay: \(limited)")
        #expect(kept.count > 300, "kept: \(kept), limited: \(limited)")
        #expect(limited.oldest > kept.oldest, "the oldest went first: limited \(limited), kept \(kept)")
        #expect(limited.newest >= kept.newest - 5_000, "the newest stayed: limited \(limited), kept \(kept)")
        var stillImages = try images()
        #expect(
            eventually(timeout: 60) { stillImages = (try? images()) ?? stillImages; return stillImages.bytes <= binaryLimitBytes },
            "\(stillImages)")
        #expect(stillImages.count > 0, "the newest images stay: \(stillImages)")
        let log = rig.log("server.log")
        #expect(log.contains("retention deleted") && log.contains("limited Readings of part \(SyncRig.partID)"), "\(log.suffix(2000))")
        #expect(!log.contains("kept Readings of part"), "a method without a policy loses nothing")
    }
}
