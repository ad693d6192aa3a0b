import FerryBSON
import FerryCaptureFile
import FerryTestSupport
import Foundation
import Testing

/// End-to-end tests that block for minutes (real processes killed and restarted, a file system
/// filled), one at a time: run side by side they would hold every thread of the cooperative pool
/// (as many as cores) and stall the async tests and in-process servers running meanwhile.
@Suite(.serialized, .ownThreads) enum HeavyEndToEnd {}

/// Crash loops with the real binaries: `ferry run` SIGKILLed at seeded random moments while it
/// captures and syncs, `ferry serve` SIGKILLed while it takes uploads and runs pipelines, each
/// restarted at once, over and over. Afterwards nothing may be unreadable, half-open, stored twice
/// or lost.
///
/// CI runs a short loop; `FERRY_CRASH_LOOPS=full swift test --filter CrashLoopTests` runs the full
/// counts (100 host kills, 20 server kills). `FERRY_CRASH_SEED` replays another seed.
extension HeavyEndToEnd {
@Suite(.serialized, .ownThreads) struct CrashLoopTests {
    static let full = ProcessInfo.processInfo.environment["FERRY_CRASH_LOOPS"] == "full"
    static let seed = ProcessInfo.processInfo.environment["FERRY_CRASH_SEED"].flatMap { UInt64($0) } ?? 0xC4A5_11E5

    /// A SIGKILL cannot lose what the kernel already has (the page cache outlives the process; only
    /// a power cut loses what was not yet fsync'd, which the fsync interval bounds). So the check is
    /// strict: every record that was in a capture file on disk at the moment of a kill, in the open
    /// `.prog` or a finished file, must be in the store after the loop, exactly once.
    @Test func hostKilledAtRandomMomentsLosesNothingAndStoresNothingTwice() throws {
        let kills = Self.full ? 100 : 10
        var random = SeededGenerator(seed: Self.seed)
        let rig = try SyncRig()
        defer { rig.tearDown() }
        try rig.startServer()
        try rig.startHost(serverPort: rig.serverPort)
        var onDiskAtKills: Set<String> = []
        var killedWhileUploading = 0
        for kill in 0..<kills {
            // Every other kill lands during start-up (recovery, plugin loading); the others once
            // the host is up, deep into capture and sync however slowly a loaded machine starts it.
            if kill % 2 == 1 { _ = eventually(timeout: 120) { rig.host?.loggedOutput().contains("Ctrl-C to stop") ?? true } }
            Thread.sleep(forTimeInterval: Double.random(in: 0.05...2.5, using: &random))
            let snapshot = rig.recordsOnDisk()
            let uploading = rig.syncSidecarExists()
            rig.host?.signal(SIGKILL)
            let exit = rig.host?.wait()
            #expect(exit?.status == SIGKILL, "kill \(kill): ferry run had already exited:\n\(rig.log("host.log").suffix(2000))")
            onDiskAtKills.formUnion(snapshot)
            if uploading { killedWhileUploading += 1 }
            try rig.startHost(serverPort: rig.serverPort)
        }
        // Enough confirmed to prove something, however slowly a loaded machine started the host.
        _ = eventually(timeout: 300) { rig.archivedRecordCount() > 600 }
        try rig.stopHost()
        try rig.drain(serverPort: rig.serverPort)
        // No `.prog` is left (drain waited for none), none was set aside as unreadable, and the
        // store holds every confirmed record exactly once.
        try rig.expectStoreEqualsArchive()
        let stored = try rig.storedRecords()
        let lost = onDiskAtKills.subtracting(stored.keys)
        #expect(lost.isEmpty, "\(lost.count) of \(onDiskAtKills.count) records on disk at a kill are not in the store: \(Array(lost.prefix(5)))")
        #expect(onDiskAtKills.count > 100, "too little was on disk at the kills to prove anything: \(onDiskAtKills.count) records")
        // The loop should have hit uploads in flight, not only idle moments.
        #expect(killedWhileUploading > 0, "no kill landed during an upload (seed \(Self.seed))")
        print("host crash loop: \(kills) kills (\(killedWhileUploading) during an upload), \(onDiskAtKills.count) records on disk at kills, \(stored.count) stored")
    }

    /// The server dies at random moments while the host uploads and a per-minute pipeline runs
    /// (backfill and late-data re-runs, with no start delay; a run lasts milliseconds here, so few
    /// kills land inside one: the count is printed), and restarts on the same data directory,
    /// waiting out the killed scheduler's lease. Afterwards the
    /// readings equal the confirmed capture files, no run is left STARTED, and every closed
    /// window's sink holds exactly what its query gives over the stored readings: once.
    @Test func serverKilledDuringUploadsAndPipelineRunsKeepsReadingsAndResultsExact() throws {
        let kills = Self.full ? 20 : 5
        var random = SeededGenerator(seed: Self.seed ^ 0x5E_4E4)
        let rig = try SyncRig()
        defer { rig.tearDown() }
        rig.serverArguments = ["--pipeline-start-delay", "0", "--backfill-throttle", "0", "--pipeline-poll", "0.2"]
        try rig.startServer()
        // A sink's _id is unique across windows (as in Viam's): the component moves to a field of its own.
        let stages = #"[{"$group": {"_id": "$component_name", "n": {"$sum": 1}, "t": {"$sum": "$data.readings.temperature_celsius"}}}, {"$project": {"_id": 0, "component": "$_id", "n": 1, "t": 1}}]"#
        let pipeline = try rig.ferry([
            "pipelines", "create", "--data", rig.dataDirectory, "--org-id", rig.organization, "--name", "per-minute",
            "--schedule", "* * * * *", "--enable-backfill=true", "--mql", stages,
        ])
        try rig.startHost(serverPort: rig.serverPort)
        var killedWhileRunning = 0
        for kill in 0..<kills {
            Thread.sleep(forTimeInterval: Double.random(in: 0.3...4, using: &random))
            let running = (try? rig.pipelineRuns(pipeline))?.contains { $0["status"] as? String == "STARTED" } ?? false
            rig.server?.signal(SIGKILL)
            let exit = rig.server?.wait()
            #expect(exit?.status == SIGKILL, "kill \(kill): ferry serve had already exited:\n\(rig.log("server.log").suffix(2000))")
            if running { killedWhileRunning += 1 }
            try rig.startServer()
        }
        try rig.stopHost()
        try rig.drain(serverPort: rig.serverPort)
        try rig.expectStoreEqualsArchive()

        // Every window up to the last reading's minute must close and settle: wait for the minute
        // after it, for no run to be pending, and for the sink to hold what the readings give (a
        // restarted server stands by until the killed one's lease expires, and only then re-runs
        // the windows that late uploads touched).
        let readings = try rig.query(#"[{"$project": {"_id": 0, "c": "$component_name", "t": "$data.readings.temperature_celsius", "r": {"$toLong": "$time_received"}}}]"#)
        let times = readings.compactMap { ($0["r"] as? NSNumber)?.int64Value }
        let last = try #require(times.max())
        let minute: Int64 = 60_000
        let lastWindowEnd = (last / minute + 1) * minute
        // Expected: per window and component, the count and the sum of the stored readings.
        var expected: [String: (n: Int, t: Double)] = [:]
        for row in readings {
            guard let received = (row["r"] as? NSNumber)?.int64Value, let component = row["c"] as? String else { continue }
            let window = received / minute * minute
            let value = (row["t"] as? NSNumber)?.doubleValue ?? 0
            expected["\(window)|\(component)", default: (0, 0)].n += 1
            expected["\(window)|\(component)", default: (0, 0)].t += value
        }
        func sinkResults() throws -> (actual: [String: (n: Int, t: Double)], duplicated: [String]) {
            var actual: [String: (n: Int, t: Double)] = [:]
            var duplicated: [String] = []
            for document in try rig.sink(pipeline) {
                guard let run = document["_viam_pipeline_run"] as? [String: Any], let interval = run["interval"] as? [String: Any],
                    let start = Self.millis(interval["start"]), let component = document["component"] as? String
                else {
                    Issue.record("a sink document without its window: \(document)")
                    continue
                }
                let key = "\(start)|\(component)"
                if actual[key] != nil { duplicated.append(key) }
                actual[key] = ((document["n"] as? NSNumber)?.intValue ?? -1, (document["t"] as? NSNumber)?.doubleValue ?? .nan)
            }
            return (actual, duplicated)
        }
        func differences(_ actual: [String: (n: Int, t: Double)]) -> [String: (n: Int, t: Double)] {
            expected.filter { key, value in
                guard let got = actual[key] else { return true }
                return got.n != value.n || abs(got.t - value.t) > 1e-6 * max(1, abs(value.t))
            }
        }
        let settled = eventually(timeout: 180) {
            guard Date().timeIntervalSince1970 * 1000 > Double(lastWindowEnd), let runs = try? rig.pipelineRuns(pipeline) else { return false }
            let covered = runs.contains { (Self.millis($0["data_end_time"]) ?? 0) >= lastWindowEnd && $0["status"] as? String == "COMPLETED" }
            guard covered && runs.allSatisfy({ ["COMPLETED", "FAILED"].contains($0["status"] as? String ?? "") }) else { return false }
            guard let sink = try? sinkResults() else { return false }
            return Set(sink.actual.keys) == Set(expected.keys) && differences(sink.actual).isEmpty
        }
        #expect(settled, "the pipeline did not settle:\n\((try? rig.pipelineRuns(pipeline)) ?? [])\n\(rig.log("server.log").suffix(3000))")
        try rig.stopServer()

        let (actual, duplicated) = try sinkResults()
        #expect(duplicated.isEmpty, "windows with their results twice in the sink: \(duplicated.prefix(5))")
        #expect(Set(actual.keys) == Set(expected.keys), "windows: sink \(actual.keys.sorted().prefix(5)) vs readings \(expected.keys.sorted().prefix(5))")
        let wrong = differences(actual)
        #expect(wrong.isEmpty, "windows whose results differ from their readings: \(wrong.prefix(5).map { "\($0.key): \($0.value) vs \(String(describing: actual[$0.key]))" })")
        #expect(expected.count >= 2, "too few windows to prove anything: \(expected.count)")
        print("server crash loop: \(kills) kills (\(killedWhileRunning) with a run STARTED), \(readings.count) readings, \(expected.count) window results")
    }

    /// Milliseconds from a number or an Extended JSON date (`$date` as a number, `$numberLong` or
    /// ISO-8601 text, with or without fractional seconds), read by FerryBSON's own parser.
    static func millis(_ value: Any?) -> Int64? {
        if let number = value as? NSNumber { return number.int64Value }
        guard let date = value as? [String: Any], JSONSerialization.isValidJSONObject(date),
            let json = try? JSONSerialization.data(withJSONObject: ["d": date]),
            case .datetime(let milliseconds)? = (try? BSONDocument(extendedJSON: String(decoding: json, as: UTF8.self)))?["d"]
        else { return nil }
        return milliseconds
    }
}
}

extension SyncRig {
    /// (component, time_requested ms, temperature) of every whole record now in a capture file:
    /// open ones read leniently (a record being written is not yet on disk), finished and archived
    /// ones strictly. Files renamed or removed while being read are skipped.
    func recordsOnDisk() -> Set<String> {
        var records: Set<String> = []
        for root in [captureDir, archive] {
            let walker = FileManager.default.enumerator(atPath: root)
            while let relative = walker?.nextObject() as? String {
                let isOpen = relative.hasSuffix(".prog")
                guard isOpen || relative.hasSuffix(".capture"), !relative.hasPrefix("failed") else { continue }
                guard let contents = try? CaptureFileReader.read(path: (root as NSString).appendingPathComponent(relative), strict: !isOpen)
                else { continue }
                for record in contents.records { records.insert(Self.key(component: contents.metadata.componentName, record)) }
            }
        }
        return records
    }

    static func key(component: String, _ record: SensorData) -> String {
        let time = record.metadata.timeRequested
        let millis = time.seconds * 1000 + Int64(time.nanos / 1_000_000)
        let value = record.struct.fields["readings"]?.structValue.fields["temperature_celsius"]?.numberValue ?? .nan
        return "\(component)|\(millis)|\(value)"
    }

    /// The same key of every stored reading, with how often it is stored.
    func storedRecords() throws -> [String: Int] {
        var stored: [String: Int] = [:]
        for row in try query(#"[{"$project": {"_id": 0, "c": "$component_name", "t": {"$toLong": "$time_requested"}, "v": "$data.readings.temperature_celsius"}}]"#) {
            let millis = (row["t"] as! NSNumber).int64Value
            let value = (row["v"] as! NSNumber).doubleValue
            stored["\(row["c"] as! String)|\(millis)|\(value)", default: 0] += 1
        }
        return stored
    }

    func query(_ mql: String, extra: [String] = []) throws -> [[String: Any]] {
        let result = try FerryProcess.run(["data", "query", "--data", dataDirectory, "--org", organization, "--mql", mql] + extra)
        guard result.status == 0 else { throw RigError("ferry data query failed: \(result.stderr)") }
        return try result.stdout.split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
    }

    func sink(_ pipeline: String) throws -> [[String: Any]] {
        let result = try FerryProcess.run(["data", "query", "--data", dataDirectory, "--pipeline-sink", pipeline, "--mql", "[]"])
        guard result.status == 0 else { throw RigError("ferry data query --pipeline-sink failed: \(result.stderr)") }
        return try result.stdout.split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
    }

    func pipelineRuns(_ pipeline: String) throws -> [[String: Any]] {
        let result = try FerryProcess.run(["pipelines", "runs", "--data", dataDirectory, "--id", pipeline, "--page-size", "1000", "--json"])
        guard result.status == 0 else { throw RigError("ferry pipelines runs failed: \(result.stderr)") }
        return try result.stdout.split(separator: "\n").compactMap { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    func stopServer() throws {
        guard let server else { return }
        server.signal(SIGKILL)
        _ = server.wait()
        self.server = nil
    }
}
