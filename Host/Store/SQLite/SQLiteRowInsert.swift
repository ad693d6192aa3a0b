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

    /// Binds `row` as the statement's parameters, steps, and resets.
    /// The values are bound without copies (SQLITE_STATIC): they point into `row`'s buffers,
    /// which this call holds, and the bindings are cleared before it returns.
    func insert(_ row: borrowing EncodedReading) throws {
        let rc = row.text.withUnsafeBytes { text in
            row.additionalParameters.withUnsafeBytes { parameters in
                row.data.withUnsafeBytes { data in
                    var start = 0
                    for column in 0..<8 {
                        let end = Int(row.textEnds[column])
                        // Parameters are numbered from 1; the tags (the eighth text) follow the two times.
                        let parameter = column < 7 ? Int32(column) + 1 : 10
                        bindText(text, start..<end, parameter)
                        start = end
                    }
                    sqlite3_bind_int64(statement, 8, row.reading.timeRequested)
                    sqlite3_bind_int64(statement, 9, row.reading.timeReceived)
                    bindBlob(parameters, 11)
                    bindBlob(data, 12)
                    let rc = sqlite3_step(statement)
                    sqlite3_reset(statement)
                    sqlite3_clear_bindings(statement)
                    return rc
                }
            }
        }
        guard rc == SQLITE_DONE else {
            throw StoreError(.storage, "inserting a reading failed: \(String(cString: sqlite3_errmsg(connection)))")
        }
    }

    var lastInsertedRowID: Int64 { sqlite3_last_insert_rowid(connection) }

    private func bindText(_ text: UnsafeRawBufferPointer, _ range: Range<Int>, _ index: Int32) {
        // A NULL pointer would bind SQL NULL; an empty string must stay an empty string.
        guard let base = text.baseAddress else {
            _ = sqlite3_bind_text(statement, index, "", 0, SQLiteBSONFunctions.transient)
            return
        }
        _ = sqlite3_bind_text64(
            statement, index, (base + range.lowerBound).assumingMemoryBound(to: CChar.self), UInt64(range.count), nil, UInt8(SQLITE_UTF8))
    }

    private func bindBlob(_ bytes: UnsafeRawBufferPointer, _ index: Int32) {
        _ = sqlite3_bind_blob64(statement, index, bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 1), UInt64(bytes.count), nil)
    }
}
