import FerryBSON
import FerryStore
import Foundation
import GRDBSQLite

enum StoreBenchmark {
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
        let readings = sampleReadings(count, org: "org")
        print("| path | readings/s | vs SQLite's own insert, same schema |")
        print("|---|---|---|")
        let baselineIndexed = try rawInsert(readings, indexes: true, synchronous: "FULL")
        let baselineBare = try rawInsert(readings, indexes: false, synchronous: "FULL")
        row("SQLite prepared INSERT, one transaction, readings table + 3 indexes", baselineIndexed, baselineIndexed)
        row("SQLite prepared INSERT, one transaction, bare table (no index)", baselineBare, baselineIndexed)
        let variants: [(Int, SQLiteReadingStore.Durability, Bool, Bool)] = [
            (batch, .full, true, true), (batch, .full, false, true), (batch, .full, false, false),
            (batch, .normal, true, true), (batch, .normal, false, false), (batch * 10, .full, true, true),
        ]
        for (size, durability, hot, idempotent) in variants {
            let rate = try await storeInsert(readings, batch: size, durability: durability, hot: hot, idempotent: idempotent)
            row(
                "store.insert, batches of \(size), synchronous=\(durability.rawValue), hot storage \(hot ? "on" : "off"), idempotency key \(idempotent ? "yes" : "no")",
                rate, baselineIndexed)
        }
        try await readPaths(readings)
    }

    static func row(_ label: String, _ rate: Double, _ baseline: Double) {
        let ratio = rate / baseline
        let versus = ratio >= 1 ? String(format: "%.2f× faster", ratio) : String(format: "%.2f× slower", 1 / ratio)
        print("| \(label) | \(Int(rate).formatted()) | \(versus) |")
    }

    static func sampleReadings(_ count: Int, org: String) -> [Reading] {
        let t0: Int64 = 1_700_000_000_000
        return (0..<count).map { i in
            let readings: BSONDocument = [
                "temperature": .double(20 + Double(i % 100) / 10), "humidity": .double(40 + Double(i % 7)),
                "pressure": .double(1013.25), "ok": .bool(true),
            ]
            let t: Int64 = t0 + Int64(i) * 10
            return Reading(
                organizationID: org, locationID: "loc", robotID: "robot-\(i % 4)", partID: "part-\(i % 4)",
                componentType: "rdk:component:sensor", componentName: "sensor-\(i % 10)", methodName: "Readings",
                timeRequested: t, timeReceived: t + 3, data: ["readings": .document(readings)])
        }
    }

    static func temporaryDirectory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ferry-store-bench-\(UUID())").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func storeInsert(
        _ readings: [Reading], batch: Int, durability: SQLiteReadingStore.Durability, hot: Bool, idempotent: Bool
    ) async throws -> Double {
        let directory = try temporaryDirectory()
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
        return Double(readings.count) / seconds(ContinuousClock.now - started)
    }

    /// SQLite's own speed for the same rows: one prepared INSERT, one transaction, through the C API.
    static func rawInsert(_ readings: [Reading], indexes: Bool, synchronous: String) throws -> Double {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var db: OpaquePointer?
        guard sqlite3_open("\(directory)/raw.sqlite", &db) == SQLITE_OK, let db else { throw BenchmarkError("open failed") }
        defer { sqlite3_close(db) }
        var schema = """
            PRAGMA journal_mode = WAL; PRAGMA synchronous = \(synchronous);
            CREATE TABLE readings (id INTEGER PRIMARY KEY, organization_id TEXT NOT NULL, location_id TEXT NOT NULL,
                robot_id TEXT NOT NULL, part_id TEXT NOT NULL, component_type TEXT NOT NULL, component_name TEXT NOT NULL,
                method_name TEXT NOT NULL, time_requested INTEGER NOT NULL, time_received INTEGER NOT NULL,
                tags TEXT NOT NULL, additional_parameters BLOB NOT NULL, data BLOB NOT NULL);
            """
        if indexes {
            schema += """
                CREATE INDEX a ON readings(organization_id, time_received);
                CREATE INDEX b ON readings(organization_id, component_name, time_received);
                CREATE INDEX c ON readings(organization_id, robot_id, time_received);
                """
        }
        guard sqlite3_exec(db, schema, nil, nil, nil) == SQLITE_OK else { throw BenchmarkError(String(cString: sqlite3_errmsg(db))) }
        // The same bytes the store writes, encoded beforehand: this measures SQLite alone.
        let encoded = readings.map { ($0, $0.data.encode(), $0.additionalParameters.encode()) }
        var statement: OpaquePointer?
        sqlite3_prepare_v2(
            db, "INSERT INTO readings VALUES (NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", -1, &statement, nil)
        defer { sqlite3_finalize(statement) }
        let transient = unsafeBitCast(-1 as Int, to: sqlite3_destructor_type.self)
        let started = ContinuousClock.now
        sqlite3_exec(db, "BEGIN", nil, nil, nil)
        for (r, data, parameters) in encoded {
            for (index, text) in [r.organizationID, r.locationID, r.robotID, r.partID, r.componentType, r.componentName, r.methodName].enumerated() {
                sqlite3_bind_text(statement, Int32(index + 1), text, -1, transient)
            }
            sqlite3_bind_int64(statement, 8, r.timeRequested)
            sqlite3_bind_int64(statement, 9, r.timeReceived)
            sqlite3_bind_text(statement, 10, "[]", -1, transient)
            parameters.withUnsafeBytes { _ = sqlite3_bind_blob(statement, 11, $0.baseAddress, Int32($0.count), transient) }
            data.withUnsafeBytes { _ = sqlite3_bind_blob(statement, 12, $0.baseAddress, Int32($0.count), transient) }
            guard sqlite3_step(statement) == SQLITE_DONE else { throw BenchmarkError(String(cString: sqlite3_errmsg(db))) }
            sqlite3_reset(statement)
        }
        sqlite3_exec(db, "COMMIT", nil, nil, nil)
        return Double(readings.count) / seconds(ContinuousClock.now - started)
    }

    static func readPaths(_ readings: [Reading]) async throws {
        let directory = try temporaryDirectory()
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
        var elapsed = seconds(ContinuousClock.now - started)
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
        elapsed = seconds(ContinuousClock.now - started)
        print("| pushed-down $match (component + 100 s window, \(hits) rows) | \(String(format: "%.2f", elapsed * 10)) ms per query |")
        started = ContinuousClock.now
        var exported = 0
        try await store.forEachReadingPage(organizationID: org, source: .standard, filter: .all, pageSize: 1_000) { page in
            exported += page.count
            return true
        }
        elapsed = seconds(ContinuousClock.now - started)
        print("| paged export, 1,000 per page | \(Int(Double(exported) / elapsed).formatted()) docs/s |")
        for query in [
            "SELECT count(*) FROM readings",
            "SELECT avg(json_extract(data, '$.readings.temperature')) FROM readings",
            "SELECT component_name, max(json_extract(data, '$.readings.humidity')) FROM readings GROUP BY 1",
        ] {
            started = ContinuousClock.now
            _ = try await store.tabularDataBySQL(organizationID: org, source: .standard, query: query)
            elapsed = seconds(ContinuousClock.now - started)
            print("| SQL `\(query)` | \(String(format: "%.0f", elapsed * 1000)) ms |")
        }
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}

struct BenchmarkError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
