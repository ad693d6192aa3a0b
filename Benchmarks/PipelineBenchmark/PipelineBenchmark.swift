import Dispatch
import FerryBSON
import FerryClock
import FerryMQL
import FerryPipelines
import FerryStore
import FerryStoreSQLite
import Foundation
import GRDB
import Logging

/// Holds "now" at the end of the benchmark year, so every window is history to backfill.
struct FixedClock: FerryClock {
    let millis: Int64
    func now() -> Date { Date(unixMilliseconds: millis) }
    func uptime() -> Duration { SystemClock().uptime() }
    func sleep(for duration: Duration) async { await Task.yield() }
    func repeatingTimer(queue: DispatchQueue, every interval: Duration, handler: @escaping @Sendable () -> Void) -> any RepeatingTimer {
        SystemClock().repeatingTimer(queue: queue, every: interval, handler: handler)
    }
}

enum PipelineBenchmark {
    static let year0: Int64 = 1_672_531_200_000  // 2023-01-01T00:00:00Z
    static let hourMillis: Int64 = 3_600_000
    static let hours: Int64 = 8_760
    static let stages: [BSONDocument] = [
        ["$match": ["component_name": "sensor"]],
        ["$group": ["_id": "$location_id", "avg_temp": ["$avg": "$data.readings.temperature"], "count": ["$sum": 1]]],
        ["$project": ["location": "$_id", "avg_temp": 1, "count": 1, "_id": 0]],
    ]
    static let peerSQL = """
        SELECT (time_received / 3600000) * 3600000 AS hour, location_id,
               avg(json_extract(data, '$.readings.temperature')) AS avg_temp, count(*) AS count
        FROM readings WHERE component_name = 'sensor' GROUP BY hour, location_id
        """

    static func main() {
        let count = Int(ProcessInfo.processInfo.environment["PIPELINE_BENCH_READINGS"] ?? "") ?? 1_000_000
        let done = DispatchSemaphore(value: 0)
        // Top-level code is main-actor isolated; run the async benchmark in a detached task.
        Task.detached {
            do {
                try await run(count: count)
            } catch {
                print("benchmark failed: \(error)")
            }
            done.signal()
        }
        done.wait()
    }

    static func reading(_ i: Int, of count: Int) -> Reading {
        let t = year0 + Int64(Double(i) * Double(hours * hourMillis) / Double(count))
        return Reading(
            organizationID: "", locationID: "loc-\(i % 3)", robotID: "robot", partID: "part",
            componentType: "rdk:component:sensor", componentName: i % 10 == 9 ? "other" : "sensor", methodName: "Readings",
            timeRequested: t - 2, timeReceived: t,
            data: ["readings": ["temperature": .double(15 + Double(i % 200) / 10), "humidity": .double(40 + Double(i % 7))]])
    }

    static func run(count: Int) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ferry-pipeline-bench-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var configuration = SQLiteReadingStore.Configuration()
        configuration.durability = .normal
        configuration.hotStorageHours = nil
        configuration.logger.logLevel = .warning
        let store = try SQLiteReadingStore(dataDirectory: directory, configuration: configuration)
        let org = try await store.createOrganization(name: "bench").id
        print("PipelineBenchmark: \(count.formatted()) readings over one year (\(hours.formatted()) hourly windows)\n")

        // The same rows in the store (BSON documents) and in a peer SQLite file (JSON text, SQLite's own SQL).
        let peerPath = directory + "/peer.sqlite"
        let peer = try DatabaseQueue(path: peerPath)
        try await peer.write { db in
            try db.execute(sql: "PRAGMA journal_mode = WAL")
            try db.execute(
                sql: "CREATE TABLE readings (organization_id TEXT, location_id TEXT, component_name TEXT, time_received INTEGER, data TEXT)")
        }
        let generateStart = ContinuousClock.now
        let batch = 20_000
        for first in stride(from: 0, to: count, by: batch) {
            var rows: [Reading] = []
            rows.reserveCapacity(batch)
            for i in first..<min(count, first + batch) {
                var r = reading(i, of: count)
                r.organizationID = org
                rows.append(r)
            }
            _ = try await store.insert(rows, idempotencyKey: nil)
            let copy = rows
            try await peer.write { db in
                let insert = try db.makeStatement(sql: "INSERT INTO readings VALUES (?, ?, ?, ?, ?)")
                for r in copy {
                    try insert.execute(arguments: [
                        r.organizationID, r.locationID, r.componentName, r.timeReceived, r.data.extendedJSON(.relaxed),
                    ])
                }
            }
        }
        try await peer.write { db in
            try db.execute(sql: "CREATE INDEX readings_by_time ON readings(organization_id, time_received)")
        }
        print("loaded both stores in \(seconds(since: generateStart)) s\n")

        // Peer: one full-scan GROUP BY over the whole year.
        let peerStart = ContinuousClock.now
        let peerRows = try peer.read { db in try Row.fetchAll(db, sql: peerSQL) }
        let peerSeconds = seconds(since: peerStart)
        var peerCounts: [String: Int] = [:]
        for row in peerRows {
            let hour: Int64 = row["hour"]
            let location: String = row["location_id"]
            peerCounts["\(hour)/\(location)"] = row["count"]
        }

        // Ferry: create the pipeline with backfill at the end of the year, and let the scheduler run
        // every window (batches of 10 at once, no throttle), newest first.
        var options = PipelineScheduler.Options()
        options.backfillThrottle = .zero
        options.startDelay = .zero
        options.maxOutputDocuments = 10_000
        let clock = FixedClock(millis: year0 + hours * hourMillis + 30 * 60_000)
        let manager = PipelineManager(store: store, operators: .builtin, clock: clock)
        let pipeline = try await manager.create(
            organizationID: org, name: "hourly", schedule: "0 * * * *", stages: stages, enableBackfill: true, source: .standard)
        var logger = Logger(label: "ferry.pipelines")
        logger.logLevel = .warning
        let scheduler = PipelineScheduler(store: store, operators: .builtin, clock: clock, options: options, logger: logger)
        let backfillStart = ContinuousClock.now
        var steps = 0
        while true {
            try await scheduler.step()
            await scheduler.waitForRuns()
            steps += 1
            let current = try await store.pipeline(id: pipeline.id)
            if current?.backfillCursor == nil, try await store.activeRuns().isEmpty { break }
        }
        let backfillSeconds = seconds(since: backfillStart)
        let counts = try await store.runCounts(pipelineID: pipeline.id)

        // Same answers?
        let sink = try await store.sinkDocuments(organizationID: org, pipelineID: pipeline.id, window: nil, limit: nil)
        var mismatches = 0
        for document in sink {
            guard case .document(let meta)? = document["_viam_pipeline_run"], case .document(let interval)? = meta["interval"],
                case .datetime(let start)? = interval["start"], let location = document["location"]?.stringValue
            else {
                mismatches += 1
                continue
            }
            if peerCounts["\(start)/\(location)"] != document["count"]?.int64Value.map(Int.init) { mismatches += 1 }
        }
        if sink.count != peerRows.count { mismatches += abs(sink.count - peerRows.count) }

        let windows = counts.values.reduce(0, +)
        print("| what | time | windows/s | result rows | vs SQLite full scan |")
        print("|---|---|---|---|---|")
        print("| SQLite: one full-scan GROUP BY hour, location (JSON text, json_extract) | \(fmt(peerSeconds)) s | – | \(peerRows.count.formatted()) | 1.0× |")
        print(
            "| Ferry: backfill of \(windows.formatted()) hourly windows through the scheduler (\(steps) steps, 10 windows at once) | \(fmt(backfillSeconds)) s | \(Int(Double(windows) / backfillSeconds).formatted()) | \(sink.count.formatted()) | \(fmt(backfillSeconds / peerSeconds))× the time |")
        print(
            "\nruns: \(counts.map { "\($0.value) \($0.key.rawValue.lowercased())" }.sorted().joined(separator: ", ")); results differing from SQLite's: \(mismatches)")
    }

    static func seconds(since start: ContinuousClock.Instant) -> Double {
        let d = ContinuousClock.now - start
        return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    static func fmt(_ value: Double) -> String { String(format: "%.2f", value) }
}
