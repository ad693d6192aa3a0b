import FerryTestSupport
import Foundation
import Testing

/// A host whose config gives one capture method Viam's `retention_policy`, syncing to the real
/// `ferry serve` (enforcing every second, `--retention-interval 1`): the policy travels with the
/// uploads, and the server keeps that method's newest readings within the size limit while
/// another method, without a policy, keeps all of its own. (The days limit is enforced by the same
/// enforcer; its UTC-midnight cut is tested on an injected clock in RetentionEnforcerTests and
/// RetentionTests.)
@Suite(.serialized, .ownThreads) struct RetentionEndToEndTests {
    enum Backend: String, CaseIterable { case sqlite, postgres }

    @Test(arguments: Backend.allCases) func theServerKeepsAMethodWithinItsUploadedSizeLimit(_ backend: Backend) async throws {
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
        let machine: [String: Any] = [
            "components": [sensor("limited", policy: ["tabular_limit_gb": Double(limitBytes) / 1e9]), sensor("kept", policy: nil)],
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
        // The fake sensor's data, {"readings": {"temperature_celsius", "humidity_pct", "pressure_hpa"}}
        // (three doubles), is 93 bytes as BSON: the limit keeps the newest 32.
        let fits = limitBytes / 93
        // Enforcement has deleted some of the limited method's readings while the other's pile up.
        let enforced = eventually(timeout: 180) {
            rig.log("server.log").contains("retention deleted") && ((try? stored("kept").count) ?? 0) > 300
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
        let log = rig.log("server.log")
        #expect(log.contains("retention deleted") && log.contains("limited Readings of part \(SyncRig.partID)"), "\(log.suffix(2000))")
        #expect(!log.contains("kept Readings of part"), "a method without a policy loses nothing")
    }
}
