import FerryCaptureFile
import FerryTestSupport
import Foundation
import Testing

/// The real `ferry run` syncing to the real `ferry serve` over TLS, through cut connections and
/// SIGKILLs of either side. Every test ends the same way: capture stops, sync drains with the
/// network healthy, and the readings in the store must equal, record for record, the ones in the
/// capture files the host archived after the server confirmed them — none lost, none twice.
@Suite(.serialized, .ownThreads) struct SyncEndToEndTests {
    @Test func cutConnectionsLoseAndDuplicateNothing() throws {
        let rig = try SyncRig()
        defer { rig.tearDown() }
        try rig.startServer()
        let proxy = try CuttingProxy(upstreamPort: rig.serverPort, seed: 0xFE22, byteRange: 500..<30_000)
        defer { proxy.close() }
        try rig.startHost(serverPort: proxy.port)
        // Capture for a while, and on until the proxy has cut several uploads (slower on a loaded machine).
        Thread.sleep(forTimeInterval: 10)
        #expect(
            eventually(timeout: 120) { proxy.cuts >= 5 },
            "the proxy should have cut many uploads (cut \(proxy.cuts) of \(proxy.connections) connections)")
        try rig.stopHost()
        proxy.setCutting(false)
        try rig.drain(serverPort: proxy.port)
        try rig.expectStoreEqualsArchive()
    }

    @Test func serverKilledMidUploadAndRestarted() throws {
        let rig = try SyncRig()
        defer { rig.tearDown() }
        try rig.startServer()
        rig.server?.signal(SIGKILL)
        _ = rig.server?.wait()
        // The host starts while the server is down: it captures, reports the server offline,
        // and builds a backlog that the restarted server is then killed in the middle of.
        try rig.startHost(serverPort: rig.serverPort)
        #expect(
            eventually(timeout: 90) { rig.status()?["host"].flatMap { ($0 as? [String: Any])?["offline"] as? Bool } == true },
            "sync status should say offline while the server is down:\n\(rig.status() ?? [:])")
        #expect(eventually(timeout: 90) { ((rig.status()?["backlog_files"] as? Int) ?? 0) >= 20 }, "\(rig.status() ?? [:])")
        for pause in [0.3, 0.8, 1.5] {
            try rig.startServer()
            Thread.sleep(forTimeInterval: pause)
            rig.server?.signal(SIGKILL)
            _ = rig.server?.wait()
            Thread.sleep(forTimeInterval: 1)
        }
        try rig.startServer()
        Thread.sleep(forTimeInterval: 2)
        try rig.stopHost()
        try rig.drain(serverPort: rig.serverPort)
        try rig.expectStoreEqualsArchive()
    }

    @Test func hostKilledMidUploadAndRestarted() throws {
        let rig = try SyncRig()
        defer { rig.tearDown() }
        try rig.startServer()
        try rig.startHost(serverPort: rig.serverPort)
        for _ in 0..<3 {
            // Kill while sync is busy: some file's progress sidecar exists (best effort: a small
            // file's upload takes milliseconds, so the kill may land just after it).
            Thread.sleep(forTimeInterval: 1.5)
            #expect(eventually { rig.syncSidecarExists() }, "no upload in progress to kill:\n\(rig.log("host.log").suffix(2000))")
            rig.host?.signal(SIGKILL)
            _ = rig.host?.wait()
            try rig.startHost(serverPort: rig.serverPort)
        }
        // Enough confirmed readings for the comparison to prove something (a count, not a time: a
        // loaded machine captures and syncs slower).
        #expect(eventually(timeout: 300) { rig.archivedRecordCount() > 600 }, "\(rig.archivedRecordCount()) confirmed")
        try rig.stopHost()
        try rig.drain(serverPort: rig.serverPort)
        try rig.expectStoreEqualsArchive()
    }

    @Test func revokedKeyStopsSyncAtOnceAndSaysWhy() throws {
        let rig = try SyncRig()
        defer { rig.tearDown() }
        try rig.startServer()
        try rig.startHost(serverPort: rig.serverPort)
        #expect(eventually(timeout: 90) { ((rig.status()?["host"] as? [String: Any])?["synced_files"] as? Int ?? 0) > 0 })
        _ = try rig.ferry(["key", "revoke", "--data", rig.dataDirectory, "--org", rig.organization, rig.keyID])
        let refused = eventually(timeout: 90) {
            guard let host = rig.status()?["host"] as? [String: Any], let error = host["last_error"] as? String else { return false }
            return host["offline"] as? Bool == true && error.contains("refused the credentials")
        }
        #expect(refused, "a revoked key must stop uploads, and sync status must say why:\n\(rig.status() ?? [:])")
        // Nothing is lost meanwhile: the capture files wait.
        #expect(eventually(timeout: 90) { ((rig.status()?["backlog_files"] as? Int) ?? 0) > 3 }, "\(rig.status() ?? [:])")
        try rig.stopHost()
    }

    /// Records go up as captured, so a record whose framing is sound but whose text is not UTF-8
    /// reaches the real server, which refuses the upload naming it; the host moves the file to
    /// failed/ with that reason, and the good file beside it is stored.
    @Test func aRecordTheServerRefusesSetsItsFileAsideWithTheServersReason() throws {
        let rig = try SyncRig()
        defer { rig.tearDown() }
        try rig.startServer()
        let folder = rig.captureDir + "/rdk_component_sensor/thermo/Readings"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let header = try CaptureFile.delimited(
            CaptureFile.metadata(api: "rdk:component:sensor", component: "thermo", method: "Readings", parameters: [:], tabular: true, tags: []))
        let t0 = Date(timeIntervalSince1970: 1_767_225_600)
        let good = SensorDataEncoder.delimitedTabular(["readings": ["t": 21.5]], requested: t0, received: t0)
        // SensorData { struct (2) { fields (1) { key "t", value { string_value (3): C3 28 } } } }
        let badStruct: [UInt8] = [0x0A, 0x09, 0x0A, 0x01, 0x74, 0x12, 0x04, 0x1A, 0x02, 0xC3, 0x28]
        let bad: [UInt8] = [UInt8(badStruct.count + 2), 0x12, UInt8(badStruct.count)] + badStruct
        try Data(header + good + bad + good).write(to: URL(fileURLWithPath: folder + "/2026-01-01T00:00:00.000Z-bad.capture"))
        try Data(header + good + good).write(to: URL(fileURLWithPath: folder + "/2026-01-01T00:00:01.000Z-good.capture"))
        try rig.startHost(serverPort: rig.serverPort, captureDisabled: true)
        let reasonFile = rig.captureDir + "/failed/rdk_component_sensor/thermo/Readings/2026-01-01T00:00:00.000Z-bad.capture.reason"
        #expect(eventually(timeout: 90) { FileManager.default.fileExists(atPath: reasonFile) }, "\(rig.log("host.log").suffix(2000))")
        let reason = (try? String(contentsOfFile: reasonFile, encoding: .utf8)) ?? ""
        #expect(reason.contains("INVALID_ARGUMENT") || reason.contains("invalidArgument"), "\(reason)")
        #expect(reason.contains("sensor_contents[1]") && reason.contains("UTF-8"), "\(reason)")
        #expect(eventually(timeout: 90) { (try? rig.query(#"[{"$count": "n"}]"#).first?["n"] as? NSNumber)?.intValue == 2 })
        try rig.stopHost()
    }

    /// Viam's data manager Sync through the plugin API: a plain-C plugin calls `request_sync`
    /// (ABI 1.1) and files go up although the scheduled sync is an hour away; loaded in the host,
    /// or in a process of its own (the request then comes over the plugin channel).
    @Test(arguments: ["in-process", "process"])
    func aPluginRequestsASync(isolation: String) throws {
        let rig = try SyncRig()
        defer { rig.tearDown() }
        let source = """
            #include <ferry/plugin.h>
            #include <string.h>
            static const ferry_host_api *host_api;
            static int calls;
            static ferry_status create(void *ctx, const uint8_t *cfg, size_t n, void **out, ferry_result *r) {
                (void)ctx; (void)cfg; (void)n; (void)r; *out = &calls; return FERRY_OK;
            }
            static void close_it(void *instance) { (void)instance; }
            static ferry_status capture(void *instance, const char *method, const uint8_t *p, size_t n, ferry_result *r) {
                (void)instance; (void)method; (void)p; (void)n;
                /* Every 100th reading, ask for a sync (e.g. a mission ended). */
                if (++calls % 100 == 0 && host_api->struct_size >= sizeof(ferry_host_api)) host_api->request_sync(host_api->host_context);
                uint8_t doc[] = {5,0,0,0,0};
                r->set_document(r->context, doc, sizeof doc); return FERRY_OK;
            }
            static const char *const methods[] = {"Readings", NULL};
            static ferry_status init(const ferry_host_api *host, ferry_result *r) {
                (void)r; host_api = host;
                ferry_model m = {sizeof m, "rdk:component:sensor", "acme:demo:syncer", methods, 0, NULL,
                                 create, NULL, close_it, capture, NULL};
                return host->register_model(host->host_context, &m);
            }
            FERRY_DECLARE_PLUGIN("acme-syncer", "1.0.0", init)
            """
        try source.write(toFile: rig.directory.file("syncer.c"), atomically: true, encoding: .utf8)
        let cc = try FerryProcess.run(
            [
                "-shared", "-fPIC", "-Wall", "-Werror", "-I", ThirdPartyPluginTests.repositoryRoot.appendingPathComponent("SDK/include").path,
                "-o", rig.directory.file("libsyncer.so"), rig.directory.file("syncer.c"),
            ], executable: "/usr/bin/cc")
        #expect(cc.status == 0, "cc failed: \(cc.stderr)")
        try """
        {"modules": [{"type": "local", "name": "syncer", "executable_path": "libsyncer.so", "isolation": "\(isolation)"}],
         "components": [{"name": "s", "api": "rdk:component:sensor", "model": "acme:demo:syncer",
           "service_configs": [{"type": "data_manager", "attributes": {"capture_methods": [{"method": "Readings", "capture_frequency_hz": 200}]}}]}],
         "services": [{"name": "dm", "type": "data_manager", "attributes": {"capture_dir": "capture", "sync_interval_mins": 60,
           "maximum_capture_file_size_bytes": 1024}}]}
        """.write(toFile: rig.config, atomically: true, encoding: .utf8)
        rig.host = try FerryProcess(["run", rig.config], log: rig.directory.file("host.log"))
        let synced = eventually(timeout: 300) { ((rig.status()?["host"] as? [String: Any])?["synced_files"] as? Int ?? 0) >= 2 }
        #expect(synced, "the plugin's request_sync should have synced files:\n\(rig.status() ?? [:])\n\(rig.log("host.log").suffix(2000))")
        try rig.stopHost()
    }

    /// The disk-space policy in the real binary, driven by `capture_dir_max_bytes` (the file-system
    /// thresholds go through the same code with a `DiskUsageProbe` seam in FerrySyncTests).
    @Test func captureDirectoryOverItsCapIsThinnedEvenly() throws {
        let rig = try SyncRig()
        defer { rig.tearDown() }
        func write(captureDisabled: Bool, cap: Int?) throws {
            let camera: [String: Any] = [
                "name": "cam", "api": "rdk:component:camera", "model": "fake",
                "service_configs": [
                    ["type": "data_manager", "attributes": ["capture_methods": [["method": "ReadImage", "capture_frequency_hz": 20]]]]
                ],
            ]
            let attributes: [String: Any] = [
                "capture_dir": rig.captureDir, "sync_disabled": true, "capture_disabled": captureDisabled,
                "delete_every_nth_when_disk_full": 4, "ferry": cap.map { ["capture_dir_max_bytes": $0] } ?? [:],
            ]
            let machine: [String: Any] = [
                "components": [camera], "services": [["name": "dm", "api": "rdk:service:data_manager", "attributes": attributes]],
            ]
            try JSONSerialization.data(withJSONObject: machine).write(to: URL(fileURLWithPath: rig.config))
        }
        func size() -> Int {
            let walker = FileManager.default.enumerator(atPath: rig.captureDir)
            var bytes = 0
            while let relative = walker?.nextObject() as? String {
                if relative.hasSuffix(".capture") { bytes += (walker?.fileAttributes?[.size] as? Int) ?? 0 }
            }
            return bytes
        }
        // Capture past the cap with no cap set, so nothing is thinned before the restart (with the
        // cap set, a periodic check just before the stop could bring the directory under it).
        try write(captureDisabled: false, cap: nil)
        rig.host = try FerryProcess(["run", rig.config], log: rig.directory.file("host.log"))
        #expect(eventually(timeout: 300) { size() > (1 << 20) + (1 << 18) }, "\(rig.log("host.log").suffix(2000))")
        try rig.stopHost()
        let before = captureFileCounts(rig.captureDir).finished
        #expect(size() > 1 << 20)
        try? FileManager.default.removeItem(atPath: rig.captureDir + "/.ferry/sync-status.json")
        // A restart with the cap checks at once: every 4th finished file goes, and what is left is counted.
        try write(captureDisabled: true, cap: 1 << 20)
        rig.host = try FerryProcess(["run", rig.config], log: rig.directory.file("host.log"))
        // Wait for the status file (written after the thinning), not the log line that precedes it.
        let thinned = { (rig.status()?["host"] as? [String: Any])?["thinned_files"] as? Int ?? 0 }
        #expect(eventually(timeout: 300) { thinned() > 0 }, "\(rig.log("host.log").suffix(2000))")
        #expect(rig.log("host.log").contains("over capture_dir_max_bytes"))
        try rig.stopHost()
        let after = captureFileCounts(rig.captureDir).finished
        #expect(before - after == (before + 3) / 4, "every 4th of \(before) files should be deleted, \(before - after) were")
        #expect(thinned() == before - after)
    }

    @Test func embeddedServerWhenNoneIsConfigured() throws {
        let rig = try SyncRig()
        defer { rig.tearDown() }
        try rig.writeConfig(ferry: ["archive_dir": rig.archive], captureDisabled: false)
        rig.host = try FerryProcess(["run", rig.config], log: rig.directory.file("host.log"))
        let embedded = rig.directory.file("ferry-data/embedded.json")
        #expect(eventually(timeout: 300) { FileManager.default.fileExists(atPath: embedded) }, "\(rig.log("host.log"))")
        Thread.sleep(forTimeInterval: 3)
        try rig.stopHost()
        try rig.writeConfig(ferry: ["archive_dir": rig.archive], captureDisabled: true)
        rig.host = try FerryProcess(["run", rig.config], log: rig.directory.file("host.log"))
        let now = try FerryProcess.run(["sync", "now", rig.config, "--wait", "60"])
        #expect(now.status == 0, "\(now.stdout)\(now.stderr)\n\(rig.log("host.log"))")
        try rig.stopHost()
        let credentials = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: embedded))) as! [String: Any]
        rig.organization = credentials["organization_id"] as! String
        rig.dataDirectory = rig.directory.file("ferry-data")
        try rig.expectStoreEqualsArchive()
    }
}

/// One server data directory, one host config, the processes, and the comparison.
final class SyncRig: @unchecked Sendable {
    // @unchecked: used by one test at a time, on its own thread.
    let directory: TemporaryDirectory
    /// 0 until the first server start binds a port the kernel picks; restarts reuse that port, as
    /// the host's config names it.
    private(set) var serverPort = 0
    var dataDirectory: String
    /// A PostgreSQL URL: the store is there, and `dataDirectory` keeps only the servers' certificate.
    var database: String?
    /// How `ferry` commands name the store.
    var storeArguments: [String] { database.map { ["--database", $0] } ?? ["--data", dataDirectory] }
    var organization = ""
    var keyID = ""
    var key = ""
    var server: FerryProcess?
    var host: FerryProcess?
    /// More `ferry serve` flags (pipeline timing, say).
    var serverArguments: [String] = []
    /// More environment for both processes (OTEL_*, say).
    var environment: [String: String] = [:]
    var config: String { directory.file("machine.json") }
    var captureDir: String { directory.file("capture") }
    var archive: String { directory.file("archive") }

    /// The machine part (Viam's `cloud.id`) this rig's host captures as; every reading of it must name it.
    let partID: String
    /// Parts of other rigs syncing into the same store (their readings are theirs to compare).
    var siblingParts: Set<String> = []

    init(partID: String = SyncRig.partID) throws {
        directory = try TemporaryDirectory("ferry-sync")
        dataDirectory = directory.file("data")
        self.partID = partID
    }

    /// Makes this rig a second host and replica of `other`'s store: the same database, organisation,
    /// key and certificate (so each host trusts either replica); `startServer` then starts a replica.
    func share(storeOf other: SyncRig) {
        database = other.database
        dataDirectory = other.dataDirectory
        organization = other.organization
        keyID = other.keyID
        key = other.key
        siblingParts.insert(other.partID)
        other.siblingParts.insert(partID)
    }

    func tearDown() {
        for process in [host, server].compactMap({ $0 }) where process.process.isRunning {
            process.signal(SIGKILL)
            _ = process.wait()
        }
        directory.remove()
    }

    func log(_ name: String) -> String { (try? String(contentsOfFile: directory.file(name), encoding: .utf8)) ?? "" }

    func startServer() throws {
        if organization.isEmpty {
            organization = try ferry(["org", "create", "sync-test"] + storeArguments)
            let parts = try ferry(["key", "create"] + storeArguments + ["--org", organization, "--role", "operator"])
                .split(separator: " ")
            keyID = String(parts[0])
            key = String(parts[1])
        }
        (server, serverPort) = try startServe(port: serverPort, logName: "server.log")
    }

    /// Starts a `ferry serve` on `port` (0: one the kernel picks) logging to `logName`, waits
    /// until it serves, and returns it with its port. Replicas share the store and the data
    /// directory (with PostgreSQL it holds only their certificate, so the host trusts all).
    func startServe(port: Int, logName: String) throws -> (FerryProcess, Int) {
        let marker = "serving Viam's data API on 127.0.0.1:"
        let started = log(logName).components(separatedBy: marker).count
        let serve = try FerryProcess(
            ["serve"] + storeArguments + (database == nil ? [] : ["--data", dataDirectory])
                + ["--listen", "127.0.0.1:\(port)", "--metrics-listen", "off"] + serverArguments,
            environment: environment, log: directory.file(logName))
        let up = eventually(timeout: 120) { log(logName).components(separatedBy: marker).count > started || !serve.process.isRunning }
        let parts = log(logName).components(separatedBy: marker)
        #expect(up && parts.count > started, "ferry serve did not start:\n\(log(logName))")
        let reported = parts.count > started ? Int(parts.last?.prefix(while: \.isNumber) ?? "") ?? 0 : 0
        #expect(reported != 0, "ferry serve did not report its port:\n\(log(logName))")
        return (serve, port == 0 ? reported : port)
    }

    func writeConfig(ferry: [String: Any], captureDisabled: Bool) throws {
        let sensor: (String, Double) -> [String: Any] = { name, hz in
            [
                "name": name, "api": "rdk:component:sensor", "model": "fake",
                "service_configs": [
                    ["type": "data_manager", "attributes": ["capture_methods": [["method": "Readings", "capture_frequency_hz": hz]]]]
                ],
            ]
        }
        var attributes: [String: Any] = [
            "capture_dir": captureDir, "sync_interval_mins": 0.005, "maximum_capture_file_size_bytes": 4096,
            "capture_disabled": captureDisabled, "tags": ["sync-test"], "maximum_num_sync_threads": 3,
        ]
        var options = ferry
        options["fsync_interval_ms"] = 100
        attributes["ferry"] = options
        let machine: [String: Any] = [
            "components": [sensor("fast", 200), sensor("slow", 50)],
            "services": [["name": "data_manager", "api": "rdk:service:data_manager", "attributes": attributes]],
            "cloud": ["id": partID],
        ]
        try JSONSerialization.data(withJSONObject: machine, options: [.prettyPrinted]).write(to: URL(fileURLWithPath: config))
    }

    /// `ferry` attributes syncing to the server on `port`, or to replicas on `ports` in that order.
    func serverOptions(port: Int) -> [String: Any] { serverOptions(ports: [port]) }
    func serverOptions(ports: [Int]) -> [String: Any] {
        let servers = ports.map { "127.0.0.1:\($0)" }
        return [
            "server": servers.count == 1 ? servers[0] as Any : servers, "api_key_id": keyID, "api_key": key, "ca_cert": "\(dataDirectory)/tls-cert.pem",
            "archive_dir": archive,
        ]
    }

    func startHost(serverPort port: Int, captureDisabled: Bool = false) throws {
        try startHost(serverPorts: [port], captureDisabled: captureDisabled)
    }
    func startHost(serverPorts ports: [Int], captureDisabled: Bool = false) throws {
        try writeConfig(ferry: serverOptions(ports: ports), captureDisabled: captureDisabled)
        host = try FerryProcess(["run", config], environment: environment, log: directory.file("host.log"))
    }

    func stopHost() throws {
        guard let host else { return }
        let result = host.terminateOnceUp()
        #expect(result.status == 0, "ferry run did not stop cleanly:\n\(log("host.log").suffix(3000))")
        self.host = nil
    }

    /// With capture off, the host uploads what is left; returns when the capture directory holds
    /// no more finished or open files.
    func drain(serverPort port: Int) throws { try drain(serverPorts: [port]) }
    func drain(serverPorts ports: [Int]) throws {
        try startHost(serverPorts: ports, captureDisabled: true)
        let empty = eventually(timeout: 180) {
            let scan = captureFileCounts(captureDir)
            return scan.finished == 0 && scan.inProgress == 0
        }
        #expect(empty, "the backlog did not drain:\n\(status() ?? [:])\n\(log("host.log").suffix(3000))")
        try stopHost()
    }

    /// Whether some capture file has a `.sync` progress sidecar: an upload has begun and not ended.
    func syncSidecarExists() -> Bool {
        let walker = FileManager.default.enumerator(atPath: captureDir)
        while let relative = walker?.nextObject() as? String {
            if relative.hasSuffix(".sync") { return true }
        }
        return false
    }

    func status() -> [String: Any]? {
        guard let output = try? FerryProcess.run(["sync", "status", "--capture-dir", captureDir, "--json"]), output.status == 0 else {
            return nil
        }
        return try? JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any]
    }

    func ferry(_ arguments: [String]) throws -> String {
        let result = try FerryProcess.run(arguments)
        guard result.status == 0 else { throw RigError("ferry \(arguments.joined(separator: " ")) failed: \(result.stderr)") }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// (component, time_requested ms, temperature) of every record the host archived after the
    /// server confirmed it, against the same of every reading in the store.
    /// The default machine part (Viam's `cloud.id`) of a rig's host.
    static let partID = "sync-rig-part"

    /// How many records the host has archived (the server confirmed them) so far.
    func archivedRecordCount() -> Int {
        let walker = FileManager.default.enumerator(atPath: archive)
        var count = 0
        while let relative = walker?.nextObject() as? String {
            guard relative.hasSuffix(".capture") else { continue }
            count += (try? CaptureFileReader.read(path: (archive as NSString).appendingPathComponent(relative)).records.count) ?? 0
        }
        return count
    }

    func expectStoreEqualsArchive() throws {
        // The archive holds only what the server confirmed: a file refused, or set aside as corrupt,
        // would be missing from both sides, so none may exist.
        let captured = FileManager.default.enumerator(atPath: captureDir)
        var setAside: [String] = []
        while let relative = captured?.nextObject() as? String {
            if relative.hasPrefix("failed/") || relative.hasSuffix(".corrupt") { setAside.append(relative) }
        }
        #expect(setAside.isEmpty, "files were set aside instead of synced: \(setAside)")
        var archived: [String: Int] = [:]
        var files = 0
        let walker = FileManager.default.enumerator(atPath: archive)
        while let relative = walker?.nextObject() as? String {
            guard relative.hasSuffix(".capture") else { continue }
            files += 1
            let contents = try CaptureFileReader.read(path: (archive as NSString).appendingPathComponent(relative))
            for record in contents.records {
                let time = record.metadata.timeRequested
                let millis = time.seconds * 1000 + Int64(time.nanos / 1_000_000)
                let value = record.struct.fields["readings"]?.structValue.fields["temperature_celsius"]?.numberValue ?? .nan
                archived["\(contents.metadata.componentName)|\(millis)|\(value)", default: 0] += 1
            }
        }
        let query = try FerryProcess.run(
            ["data", "query"] + storeArguments + [
                "--org", organization, "--mql",
                #"[{"$project": {"_id": 0, "c": "$component_name", "t": {"$toLong": "$time_requested"}, "v": "$data.readings.temperature_celsius", "p": "$part_id"}}]"#,
            ])
        #expect(query.status == 0, "\(query.stderr)")
        var stored: [String: Int] = [:]
        var otherParts: Set<String> = []
        for line in query.stdout.split(separator: "\n") {
            let row = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            let part = row["p"] as? String ?? "none"
            if siblingParts.contains(part) { continue }
            if part != partID { otherParts.insert(part) }
            let millis = (row["t"] as! NSNumber).int64Value
            let value = (row["v"] as! NSNumber).doubleValue
            stored["\(row["c"] as! String)|\(millis)|\(value)", default: 0] += 1
        }
        #expect(otherParts.isEmpty, "every reading should name the config's part \(partID), not \(otherParts)")
        let archivedCount = archived.values.reduce(0, +)
        let storedCount = stored.values.reduce(0, +)
        #expect(files > 5 && archivedCount > 500, "too little was captured to prove anything: \(files) files, \(archivedCount) records")
        #expect(storedCount == archivedCount, "store has \(storedCount) readings, the confirmed capture files \(archivedCount)")
        // A fast collector can capture twice within one millisecond (same time, same value), so
        // a duplicate is a reading stored more often than it was captured.
        let duplicates = stored.filter { $0.value > archived[$0.key, default: 0] }
        #expect(duplicates.isEmpty, "readings stored more often than captured: \(Array(duplicates.prefix(5)))")
        let missing = archived.filter { stored[$0.key] != $0.value }
        #expect(missing.isEmpty, "captured readings missing or miscounted in the store: \(Array(missing.prefix(5)))")
        #expect(Self.checksum(stored) == Self.checksum(archived))
    }

    /// FNV-1a over the sorted (reading, count) lines: equal multisets, equal checksums.
    static func checksum(_ counts: [String: Int]) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in counts.map({ "\($0.key)#\($0.value)\n" }).sorted().joined().utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
        }
        return hash
    }
}

struct RigError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Finished and open capture files, excluding Ferry's own state and failed/.
func captureFileCounts(_ captureDir: String) -> (finished: Int, inProgress: Int) {
    var finished = 0
    var inProgress = 0
    let walker = FileManager.default.enumerator(atPath: captureDir)
    while let relative = walker?.nextObject() as? String {
        if relative.hasPrefix(".ferry") || relative.hasPrefix("failed") { continue }
        if relative.hasSuffix(".capture") { finished += 1 }
        if relative.hasSuffix(".prog") { inProgress += 1 }
    }
    return (finished, inProgress)
}
