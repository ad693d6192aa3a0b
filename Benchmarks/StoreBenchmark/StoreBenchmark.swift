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
        // Hot storage's copies are made after each batch is stored: the clock stops once all are.
        if hot {
            _ = try await store.readings(organizationID: org, source: .hotStorage, filter: .all, sortByTimeDescending: false, limit: 1)
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
        // Hot storage keeps the newer half: the cutoff is the middle reading's time.
        let middle = readings[readings.count / 2].timeReceived
        _ = try await store.pruneHotStorage(now: Date(timeIntervalSince1970: Double(middle) / 1000 + 24 * 3600))
        print("\n| read path (\(readings.count) readings stored, the newer half in hot storage) | standard | hot storage |")
        print("|---|---|---|")
        func timed(_ body: (ReadingSource) async throws -> Int) async throws -> [(count: Int, seconds: Double)] {
            var results: [(Int, Double)] = []
            for source in [ReadingSource.standard, .hotStorage] {
                let started = ContinuousClock.now
                let count = try await body(source)
                results.append((count, Bench.seconds(ContinuousClock.now - started)))
            }
            return results
        }
        func row(_ label: String, _ results: [(count: Int, seconds: Double)], _ cell: ((count: Int, seconds: Double)) -> String) {
            print("| \(label) | \(results.map(cell).joined(separator: " | ")) |")
        }
        let perSecond = { (r: (count: Int, seconds: Double)) in "\(Int(Double(r.count) / r.seconds).formatted()) docs/s (\(r.count.formatted()))" }
        row("readings(filter: .all) → BSON documents for MQL", try await timed { source in
            try await store.readings(organizationID: org, source: source, filter: .all, sortByTimeDescending: false, limit: nil).count
        }, perSecond)
        // A window in the hot half, so both sources return the same rows.
        let (filter, _) = MatchPushdown.split([
            "component_name": "sensor-3",
            "time_received": ["$gte": .datetime(middle + 100_000), "$lt": .datetime(middle + 200_000)],
        ])
        var hits = 0
        row("pushed-down $match (component + 100 s window), 100 queries", try await timed { source in
            for _ in 0..<100 {
                hits = try await store.readings(organizationID: org, source: source, filter: filter, sortByTimeDescending: false, limit: nil).count
            }
            return hits
        }) { r in "\(String(format: "%.2f", r.seconds * 10)) ms per query (\(r.count) rows)" }
        row("paged export, 1,000 per page", try await timed { source in
            var exported = 0
            try await store.forEachReadingPage(organizationID: org, source: source, filter: .all, pageSize: 1_000) { page in
                exported += page.count
                return true
            }
            return exported
        }, perSecond)
        for query in [
            "SELECT count(*) FROM readings",
            "SELECT avg(json_extract(data, '$.readings.temperature')) FROM readings",
            "SELECT component_name, max(json_extract(data, '$.readings.humidity')) FROM readings GROUP BY 1",
        ] {
            row("SQL `\(query)`", try await timed { source in
                try await store.tabularDataBySQL(organizationID: org, source: source, query: query).count
            }) { r in "\(String(format: "%.0f", r.seconds * 1000)) ms" }
        }
    }

}
