import BenchmarkSupport
import Dispatch
import FerryBSON
import FerryStore
import FerryStoreFactory
import FerryStoreSQLite
import FerryTestSupport
import Foundation
import GRDB

enum PipelineBenchmark {
    static func main() {
        let count = Int(ProcessInfo.processInfo.environment["PIPELINE_BENCH_READINGS"] ?? "") ?? 1_000_000
        let postgres = CommandLine.arguments.contains("--postgres")
        let done = DispatchSemaphore(value: 0)
        // Top-level code is main-actor isolated; run the async benchmark in a detached task.
        Task.detached {
            do {
                try await postgres ? runPostgres(count: count) : runSQLite(count: count)
            } catch {
                print("benchmark failed: \(error)")
            }
            done.signal()
        }
        done.wait()
    }

    static let sqlitePeerSQL = """
        SELECT (time_received / 3600000) * 3600000 AS hour, location_id,
               avg(json_extract(data, '$.readings.temperature')) AS avg_temp, count(*) AS count
        FROM readings WHERE component_name = 'sensor' GROUP BY hour, location_id
        """

    /// The SQLite store (BSON documents) beside the same rows in a peer SQLite file (JSON text, SQLite's own SQL).
    static func runSQLite(count: Int) async throws {
        let directory = try Bench.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var configuration = SQLiteReadingStore.Configuration()
        configuration.durability = .normal
        configuration.hotStorageHours = nil
        configuration.logger.logLevel = .warning
        let store = try SQLiteReadingStore(dataDirectory: directory, configuration: configuration)
        let org = try await store.createOrganization(name: "bench").id
        print("PipelineBenchmark (SQLite): \(count.formatted()) readings over one year (\(YearBackfill.hours.formatted()) hourly windows)\n")

        let peer = try DatabaseQueue(path: directory + "/peer.sqlite")
        try await peer.write { db in
            try db.execute(sql: "PRAGMA journal_mode = WAL")
            try db.execute(
                sql: "CREATE TABLE readings (organization_id TEXT, location_id TEXT, component_name TEXT, time_received INTEGER, data TEXT)")
        }
        let loadStart = ContinuousClock.now
        try await YearBackfill.load(count, into: store, organization: org) { rows in
            try await peer.write { db in
                let insert = try db.makeStatement(sql: "INSERT INTO readings VALUES (?, ?, ?, ?, ?)")
                for r in rows {
                    try insert.execute(arguments: [r.organizationID, r.locationID, r.componentName, r.timeReceived, r.data.extendedJSON(.relaxed)])
                }
            }
        }
        try await peer.write { db in try db.execute(sql: "CREATE INDEX readings_by_time ON readings(organization_id, time_received)") }
        print("loaded both stores in \(fmt(Bench.seconds(ContinuousClock.now - loadStart))) s\n")

        let peerStart = ContinuousClock.now
        let peerCPUStart = Bench.processCPUSeconds()
        let peerRows = try peer.read { db in try Row.fetchAll(db, sql: sqlitePeerSQL) }
        let peerSeconds = Bench.seconds(ContinuousClock.now - peerStart)
        let peerCPU = Bench.processCPUSeconds() - peerCPUStart
        var peerCounts: [String: Int] = [:]
        for row in peerRows {
            let hour: Int64 = row["hour"]
            let location: String = row["location_id"]
            peerCounts["\(hour)/\(location)"] = row["count"]
        }
        let whole = try await YearBackfill.run(store: store, organization: org, name: "hourly-whole", readsOnlyNeededFields: false)
        let ferry = try await YearBackfill.run(store: store, organization: org)
        report(peer: "SQLite: one full-scan GROUP BY hour, location (JSON text, json_extract)", peerSeconds, peerCPU, peerCounts, whole, ferry)
    }

    /// The PostgreSQL store, and one GROUP BY over the same rows, in the same table, in PostgreSQL's own SQL.
    static func runPostgres(count: Int) async throws {
        let url = try await TestPostgres.freshDatabase()
        var options = StoreOptions()
        options.hotStorageHours = nil
        options.logger.logLevel = .warning
        let store = try await StoreFactory.open(.database(url), options: options)
        let org = try await store.createOrganization(name: "bench").id
        print("PipelineBenchmark (PostgreSQL): \(count.formatted()) readings over one year (\(YearBackfill.hours.formatted()) hourly windows)\n")
        let loadStart = ContinuousClock.now
        try await YearBackfill.load(count, into: store, organization: org)
        let database = TestPostgres.databaseName(of: url)
        try TestPostgres.psql("VACUUM ANALYZE readings", database: database)
        print("loaded the store in \(fmt(Bench.seconds(ContinuousClock.now - loadStart))) s\n")

        let sql = """
            SELECT (extract(epoch FROM date_trunc('hour', time_received)) * 1000)::bigint AS hour, location_id,
                   avg((data->'readings'->>'temperature')::float8) AS avg_temp, count(*) AS count
            FROM readings WHERE organization_id = '\(org)' AND component_name = 'sensor' GROUP BY 1, 2
            """
        let peerStart = ContinuousClock.now
        let output = try TestPostgres.psql(sql, database: database)
        let peerSeconds = Bench.seconds(ContinuousClock.now - peerStart)
        var peerCounts: [String: Int] = [:]
        for line in output.split(separator: "\n") {
            let fields = line.split(separator: "|").map(String.init)
            guard fields.count == 4 else { continue }
            peerCounts["\(fields[0])/\(fields[1])"] = Int(fields[3])
        }
        let whole = try await YearBackfill.run(store: store, organization: org, name: "hourly-whole", readsOnlyNeededFields: false)
        let ferry = try await YearBackfill.run(store: store, organization: org)
        report(peer: "PostgreSQL: one GROUP BY hour, location over the same table (jsonb, psql)", peerSeconds, nil, peerCounts, whole, ferry)
    }

    /// The peer, then the backfill reading whole readings and the one reading only the fields the
    /// stages use, side by side. CPU time is this process's (user + system): for SQLite both sides
    /// run here and compare without the waits a loaded machine adds; PostgreSQL's server time is
    /// in neither.
    static func report(
        peer: String, _ peerSeconds: Double, _ peerCPU: Double?, _ peerCounts: [String: Int], _ whole: YearBackfill.Result,
        _ ferry: YearBackfill.Result
    ) {
        print("| what | time | windows/s | result rows | vs the GROUP BY | CPU time (this process) | CPU vs the GROUP BY |")
        print("|---|---|---|---|---|---|---|")
        print("| \(peer) | \(fmt(peerSeconds)) s | – | \(peerCounts.count.formatted()) | 1.0× | \(peerCPU.map { "\(fmt($0)) s" } ?? "in the server") | \(peerCPU == nil ? "–" : "1.0×") |")
        for (label, result) in [("whole readings", whole), ("only the fields the stages read", ferry)] {
            print(
                "| Ferry: backfill of \(result.windows.formatted()) hourly windows (\(result.steps) steps, batches of \(YearBackfill.batchSize)), \(label) | \(fmt(result.seconds)) s | \(Int(Double(result.windows) / result.seconds).formatted()) | \(result.sink.count.formatted()) | \(fmt(result.seconds / peerSeconds))× | \(fmt(result.cpuSeconds)) s | \(peerCPU.map { "\(fmt(result.cpuSeconds / $0))×" } ?? "–") |")
        }
        print("\nruns: \(whole.runs) (whole), \(ferry.runs) (fields); results differing from the GROUP BY's: \(YearBackfill.mismatches(whole.sink, peer: peerCounts)) (whole), \(YearBackfill.mismatches(ferry.sink, peer: peerCounts)) (fields)")
    }

    static func fmt(_ value: Double) -> String { String(format: "%.2f", value) }
}
