import FerryStore
import GRDB
import GRDBSQLite

/// Inserts reading rows through SQLite's C API on GRDB's writer connection, inside GRDB's
/// transaction. GRDB's statement layer boxes every argument and does per-statement bookkeeping;
/// binding directly made ingest ~30% faster in StoreBenchmark, and ingest is the hot path. The
/// statement is GRDB's cached one for the connection, compiled once rather than per upload: it is
/// bound, stepped and reset here, and left reset and unbound.
struct SQLiteRowInsert {
    private let connection: OpaquePointer
    /// Keeps GRDB's statement (and so `statement`) alive while this is in use.
    private let cached: Statement
    private let statement: OpaquePointer

    init(_ db: Database, sql: String) throws {
        guard let connection = db.sqliteConnection else { throw StoreError(.storage, "the database connection is closed") }
        cached = try db.cachedStatement(sql: sql)
        statement = cached.sqliteStatement
        self.connection = connection
    }

    /// Binds `row` (after `id`, if given) as the statement's parameters, steps, and resets.
    func insert(_ row: borrowing EncodedReading, id: Int64? = nil) throws {
        var index: Int32 = 1
        if let id {
            sqlite3_bind_int64(statement, index, id)
            index += 1
        }
        let r = row.reading
        for text in [r.organizationID, r.locationID, r.robotID, r.partID, r.componentType, r.componentName, r.methodName] {
            bind(text, index)
            index += 1
        }
        sqlite3_bind_int64(statement, index, r.timeRequested)
        sqlite3_bind_int64(statement, index + 1, r.timeReceived)
        bind(row.tags, index + 2)
        bind(row.additionalParameters, index + 3)
        bind(row.data, index + 4)
        let rc = sqlite3_step(statement)
        sqlite3_reset(statement)
        sqlite3_clear_bindings(statement)
        guard rc == SQLITE_DONE else {
            throw StoreError(.storage, "inserting a reading failed: \(String(cString: sqlite3_errmsg(connection)))")
        }
    }

    var lastInsertedRowID: Int64 { sqlite3_last_insert_rowid(connection) }

    private func bind(_ text: String, _ index: Int32) {
        var text = text
        text.withUTF8 { bytes in
            guard let base = bytes.baseAddress else {
                // A NULL pointer would bind SQL NULL; an empty string must stay an empty string.
                _ = sqlite3_bind_text(statement, index, "", 0, SQLiteBSONFunctions.transient)
                return
            }
            base.withMemoryRebound(to: CChar.self, capacity: bytes.count) {
                _ = sqlite3_bind_text64(statement, index, $0, UInt64(bytes.count), SQLiteBSONFunctions.transient, UInt8(SQLITE_UTF8))
            }
        }
    }

    private func bind(_ bytes: [UInt8], _ index: Int32) {
        bytes.withUnsafeBytes { buffer in
            _ = sqlite3_bind_blob64(statement, index, buffer.baseAddress ?? UnsafeRawPointer(bitPattern: 1), UInt64(buffer.count), SQLiteBSONFunctions.transient)
        }
    }
}
