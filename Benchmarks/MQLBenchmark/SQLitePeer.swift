import CSQLite3
import FerryBSON

/// The peer: SQLite's own SQL through the system libsqlite3, over an in-memory database holding the
/// same readings as rows (`time_received INTEGER` in ms, `data TEXT` the reading as JSON).
final class SQLitePeer {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    let db: OpaquePointer

    static let hourly = """
        SELECT (time_received/3600000)*3600000 AS hour,
               avg(json_extract(data, '$.readings.temperature')), min(json_extract(data, '$.readings.temperature')),
               max(json_extract(data, '$.readings.temperature')), sum(json_extract(data, '$.readings.temperature')),
               count(*)
        FROM readings GROUP BY hour ORDER BY hour
        """
    static let perComponent = """
        SELECT (time_received/3600000)*3600000 AS hour, component_name,
               avg(json_extract(data, '$.readings.temperature')), min(json_extract(data, '$.readings.temperature')),
               max(json_extract(data, '$.readings.temperature')), sum(json_extract(data, '$.readings.temperature')),
               count(*)
        FROM readings GROUP BY hour, component_name ORDER BY hour, component_name
        """

    /// Opens an in-memory database. Temporary b-trees and sorters stay in memory too, and the page
    /// cache may grow to 1 GiB, so the query never touches the disk (as FerryMQL's never does).
    init() throws {
        var handle: OpaquePointer?
        guard sqlite3_open(":memory:", &handle) == SQLITE_OK, let handle else {
            throw Failure(description: "cannot open an in-memory SQLite database")
        }
        db = handle
        try execute("PRAGMA temp_store = MEMORY")
        try execute("PRAGMA cache_size = -1048576")
        try execute(
            "CREATE TABLE readings (organization_id TEXT, component_name TEXT, method_name TEXT, time_received INTEGER, data TEXT)")
    }

    deinit { sqlite3_close(db) }

    var version: String { String(cString: sqlite3_libversion()) }

    func execute(_ sql: String) throws {
        var message: UnsafeMutablePointer<CChar>?
        if sqlite3_exec(db, sql, nil, nil, &message) != SQLITE_OK {
            let text = message.map { String(cString: $0) } ?? "unknown error"
            sqlite3_free(message)
            throw Failure(description: "\(sql): \(text)")
        }
    }

    func prepare(_ sql: String) throws -> OpaquePointer {
        var stmt: OpaquePointer?
        guard sqlite3_prepare_v2(db, sql, -1, &stmt, nil) == SQLITE_OK, let stmt else {
            throw Failure(description: "\(sql): \(String(cString: sqlite3_errmsg(db)))")
        }
        return stmt
    }

    /// Inserts the readings in one transaction; `data` is the reading's `data` field as JSON text.
    func load(_ docs: [BSONDocument]) throws {
        try execute("BEGIN")
        let stmt = try prepare(
            "INSERT INTO readings (organization_id, component_name, method_name, time_received, data) VALUES (?, ?, ?, ?, ?)")
        defer { sqlite3_finalize(stmt) }
        for d in docs {
            guard case .string(let org)? = d["organization_id"], case .string(let component)? = d["component_name"],
                case .string(let method)? = d["method_name"], case .datetime(let t)? = d["time_received"],
                case .document(let data)? = d["data"]
            else { throw Failure(description: "unexpected reading \(d.extendedJSON())") }
            sqlite3_bind_text(stmt, 1, org, -1, ferry_sqlite3_transient())
            sqlite3_bind_text(stmt, 2, component, -1, ferry_sqlite3_transient())
            sqlite3_bind_text(stmt, 3, method, -1, ferry_sqlite3_transient())
            sqlite3_bind_int64(stmt, 4, t)
            sqlite3_bind_text(stmt, 5, data.extendedJSON(), -1, ferry_sqlite3_transient())
            guard sqlite3_step(stmt) == SQLITE_DONE else { throw Failure(description: String(cString: sqlite3_errmsg(db))) }
            sqlite3_reset(stmt)
        }
        try execute("COMMIT")
    }

    /// Runs one of the queries above (prepare, step through every row, read the columns).
    func query(_ sql: String, perComponent: Bool) throws -> [Bucket] {
        let stmt = try prepare(sql)
        defer { sqlite3_finalize(stmt) }
        var out: [Bucket] = []
        var rc = sqlite3_step(stmt)
        let first: Int32 = perComponent ? 2 : 1
        while rc == SQLITE_ROW {
            out.append(
                Bucket(
                    hour: sqlite3_column_int64(stmt, 0),
                    component: perComponent ? String(cString: sqlite3_column_text(stmt, 1)) : nil,
                    avg: sqlite3_column_double(stmt, first), min: sqlite3_column_double(stmt, first + 1),
                    max: sqlite3_column_double(stmt, first + 2), sum: sqlite3_column_double(stmt, first + 3),
                    n: sqlite3_column_int64(stmt, first + 4)))
            rc = sqlite3_step(stmt)
        }
        guard rc == SQLITE_DONE else { throw Failure(description: String(cString: sqlite3_errmsg(db))) }
        return out
    }
}
