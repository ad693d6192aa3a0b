import FerryBSON
import BenchmarkSupport
import FerryStore
import FerryStoreSQLite
import Foundation
import GRDBSQLite

enum StoreBenchmark {
    typealias Bench = BenchmarkSupport.Bench

    static func main() {
        let arguments = CommandLine.arguments
        let count = arguments.count > 1 ? Int(arguments[1]) ?? 100_000 : 100_000
        let batch = arguments.count > 2 ? Int(arguments[2]) ?? 100 : 100
        let done = DispatchSemaphore(value: 0)
        // Top-level code is main-actor isolated; run the async benchmark in a detached task.
        Task.detached {
            do {
                try await run(count: count, batch: batch)
            } catch {
                print("benchmark failed: \(error)")
            }
            done.signal()
        }
        done.wait()
    }

    static func run(count: Int, batch: Int) async throws {
        print("StoreBenchmark: \(count) readings, batches of \(batch)\n")
        let readings = Bench.sampleReadings(count, org: "org")
        print("| path | readings/s | vs SQLite's own insert, same schema |")
        print("|---|---|---|")
        let baselineIndexed = try Bench.rawInsert(readings, indexes: true, synchronous: "FULL")
        let baselineBare = try Bench.rawInsert(readings, indexes: false, synchronous: "FULL")
        Bench.row("SQLite prepared INSERT, one transaction, readings table + 3 indexes", baselineIndexed, baselineIndexed)
        Bench.row("SQLite prepared INSERT, one transaction, bare table (no index)", baselineBare, baselineIndexed)
        let variants: [(Int, SQLiteReadingStore.Durability, Bool, Bool)] = [
            (batch, .full, true, true), (batch, .full, false, true), (batch, .full, false, false),
            (batch, .normal, true, true), (batch, .normal, false, false), (batch * 10, .full, true, true),
        ]
        for (size, durability, hot, idempotent) in variants {
            let rate = try await storeInsert(readings, batch: size, durability: durability, hot: hot, idempotent: idempotent)
            Bench.row(
                "store.insert, batches of \(size), synchronous=\(durability.rawValue), hot storage \(hot ? "on" : "off"), idempotency key \(idempotent ? "yes" : "no")",
                rate, baselineIndexed)
        }
        try await readPaths(readings)
    }

    static func storeInsert(
        _ readings: [Reading], batch: Int, durability: SQLiteReadingStore.Durability, hot: Bool, idempotent: Bool
    ) async throws -> Double {
        let directory = try Bench.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var configuration = SQLiteReadingStore.Configuration()
        configuration.durability = durability
        configuration.hotStorageHours = hot ? 24 : nil
        configuration.logger.logLevel = .warning
        let store = try SQLiteReadingStore(dataDirectory: directory, configuration: configuration)
        let org = try await store.createOrganization(name: "bench").id
        var batches: [[Reading]] = []
        for start in stride(from: 0, to: readings.count, by: batch) {
            batches.append(readings[start..<min(readings.count, start + batch)].map { reading in
                var copy = reading
                copy.organizationID = org
                return copy
            })
        }
        let started = ContinuousClock.now
        var first = 0
        for rows in batches {
            let key = idempotent ? IdempotencyKey(fileID: "file-\(first / 10_000)", firstRecord: first % 10_000, lastRecord: first % 10_000 + rows.count) : nil
            _ = try await store.insert(rows, idempotencyKey: key)
            first += rows.count
        }
        return Double(readings.count) / Bench.seconds(ContinuousClock.now - started)
    }

    static func readPaths(_ readings: [Reading]) async throws {
        let directory = try Bench.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var configuration = SQLiteReadingStore.Configuration()
        configuration.logger.logLevel = .warning
        configuration.durability = .normal
        let store = try SQLiteReadingStore(dataDirectory: directory, configuration: configuration)
        let org = try await store.createOrganization(name: "bench").id
        for start in stride(from: 0, to: readings.count, by: 5_000) {
            let rows = readings[start..<min(readings.count, start + 5_000)].map { reading in
                var copy = reading
                copy.organizationID = org
                return copy
            }
            _ = try await store.insert(rows, idempotencyKey: nil)
        }
        print("\n| read path (\(readings.count) readings stored) | result |")
        print("|---|---|")
        var started = ContinuousClock.now
        let all = try await store.readings(organizationID: org, source: .standard, filter: .all, sortByTimeDescending: false, limit: nil)
        var elapsed = Bench.seconds(ContinuousClock.now - started)
        print("| readings(filter: .all) → BSON documents for MQL | \(Int(Double(all.count) / elapsed).formatted()) docs/s |")
        let (filter, _) = MatchPushdown.split([
            "component_name": "sensor-3",
            "time_received": ["$gte": .datetime(1_700_000_000_000 + 100_000), "$lt": .datetime(1_700_000_000_000 + 200_000)],
        ])
        started = ContinuousClock.now
        var hits = 0
        for _ in 0..<100 {
            hits = try await store.readings(organizationID: org, source: .standard, filter: filter, sortByTimeDescending: false, limit: nil).count
        }
        elapsed = Bench.seconds(ContinuousClock.now - started)
        print("| pushed-down $match (component + 100 s window, \(hits) rows) | \(String(format: "%.2f", elapsed * 10)) ms per query |")
        started = ContinuousClock.now
        var exported = 0
        try await store.forEachReadingPage(organizationID: org, source: .standard, filter: .all, pageSize: 1_000) { page in
            exported += page.count
            return true
        }
        elapsed = Bench.seconds(ContinuousClock.now - started)
        print("| paged export, 1,000 per page | \(Int(Double(exported) / elapsed).formatted()) docs/s |")
        for query in [
            "SELECT count(*) FROM readings",
            "SELECT avg(json_extract(data, '$.readings.temperature')) FROM readings",
            "SELECT component_name, max(json_extract(data, '$.readings.humidity')) FROM readings GROUP BY 1",
        ] {
            started = ContinuousClock.now
            _ = try await store.tabularDataBySQL(organizationID: org, source: .standard, query: query)
            elapsed = Bench.seconds(ContinuousClock.now - started)
            print("| SQL `\(query)` | \(String(format: "%.0f", elapsed * 1000)) ms |")
        }
    }

}
