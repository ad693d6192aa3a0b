import FerryBSON
import FerryStore
import Foundation
import GRDBSQLite

/// What the benchmarks share: sample rows, SQLite's own bulk insert as the peer, table rows.
public enum Bench {
    public static func row(_ label: String, _ rate: Double, _ baseline: Double) {
        let ratio = rate / baseline
        let versus = ratio >= 1 ? String(format: "%.2f× faster", ratio) : String(format: "%.2f× slower", 1 / ratio)
        print("| \(label) | \(Int(rate).formatted()) | \(versus) |")
    }

    public static func sampleReadings(_ count: Int, org: String) -> [Reading] {
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

    public static func temporaryDirectory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ferry-store-bench-\(UUID())").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// SQLite's own speed for the same rows: one prepared INSERT, one transaction, through the C API.
    public static func rawInsert(_ readings: [Reading], indexes: Bool, synchronous: String) throws -> Double {
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

    public static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}

public struct BenchmarkError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

extension Bench {
    /// CPU seconds (user + system) this process has used so far, all threads: steadier than wall
    /// time on a machine other builds load, since waiting for a core does not count.
    public static func processCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }
}
