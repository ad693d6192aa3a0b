import FerryBSON
import FerryStore
import GRDBSQLite

/// Turning result rows into BSON documents: column name → value, a time column passed through
/// unchanged as a BSON date, text as strings (JSON stays text), blobs as binary.
extension SQLSandbox {
    static func collectRows(_ connection: OpaquePointer, _ statement: OpaquePointer, run: SQLSandboxRun) throws
        -> [BSONDocument]
    {
        let columnCount = sqlite3_column_count(statement)
        var names: [String] = []
        var isTime: [Bool] = []
        for index in 0..<columnCount {
            names.append(sqlite3_column_name(statement, index).map { String(cString: $0) } ?? "column\(index)")
            // A time column passed through unchanged keeps its declared type; expressions have none.
            isTime.append(sqlite3_column_decltype(statement, index).map { String(cString: $0) } == "TIMESTAMP_MS")
        }
        var rows: [BSONDocument] = []
        var resultBytes = 0
        while true {
            let rc = sqlite3_step(statement)
            if rc == SQLITE_DONE { break }
            guard rc == SQLITE_ROW else { throw failure(connection, rc, run: run, phase: "failed") }
            guard rows.count < run.limits.maxRows else {
                throw StoreError(
                    .resourceExhausted,
                    "the SQL query returns more than \(run.limits.maxRows) rows; add a LIMIT (and OFFSET to page) or aggregate")
            }
            var document = BSONDocument()
            document.elements.reserveCapacity(Int(columnCount))
            for index in 0..<columnCount {
                let value = columnValue(statement, index, isTime: isTime[Int(index)], bytes: &resultBytes)
                document.elements.append(BSONElement(names[Int(index)], value))
            }
            guard resultBytes <= run.limits.maxResultBytes else {
                throw StoreError(
                    .resourceExhausted,
                    "the SQL query result exceeds \(run.limits.maxResultBytes) bytes; select fewer columns or rows")
            }
            rows.append(document)
        }
        return rows
    }

    private static func columnValue(_ statement: OpaquePointer, _ index: Int32, isTime: Bool, bytes: inout Int) -> BSON {
        switch sqlite3_column_type(statement, index) {
        case SQLITE_INTEGER:
            let value = sqlite3_column_int64(statement, index)
            return isTime ? .datetime(value) : .int64(value)
        case SQLITE_FLOAT:
            return .double(sqlite3_column_double(statement, index))
        case SQLITE_TEXT:
            let count = Int(sqlite3_column_bytes(statement, index))
            bytes += count
            guard let text = sqlite3_column_text(statement, index) else { return .string("") }
            return .string(String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self))
        case SQLITE_BLOB:
            let count = Int(sqlite3_column_bytes(statement, index))
            bytes += count
            guard let blob = sqlite3_column_blob(statement, index) else { return .binary(BSONBinary(data: [])) }
            return .binary(BSONBinary(data: Array(UnsafeRawBufferPointer(start: blob, count: count))))
        default:
            return .null
        }
    }
}
