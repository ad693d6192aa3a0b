import FerryBSON
import FerryStore
import GRDBSQLite

/// `bson_json(blob)`: a stored BSON document as relaxed Extended JSON text, which SQLite's JSON
/// functions read (`json_extract(data, '$.readings.temperature')`). Registered on the sandbox
/// connection, where the `readings` view applies it to `data` and `additional_parameters`.
enum SQLiteBSONFunctions {
    /// SQLite copies the result text before the call returns (SQLITE_TRANSIENT, which the C header
    /// defines as a cast of -1 and Swift does not import).
    static var transient: sqlite3_destructor_type { unsafeBitCast(-1 as Int, to: sqlite3_destructor_type.self) }

    static func register(on db: OpaquePointer) -> Int32 {
        sqlite3_create_function_v2(
            db, "bson_json", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, nil,
            { context, count, arguments in
                guard let context else { return }
                guard count == 1, let value = arguments?[0] else {
                    sqlite3_result_error(context, "bson_json takes one argument", -1)
                    return
                }
                SQLiteBSONFunctions.bsonJSON(context, value)
            }, nil, nil, nil)
    }

    private static func bsonJSON(_ context: OpaquePointer, _ value: OpaquePointer) {
        switch sqlite3_value_type(value) {
        case SQLITE_NULL:
            sqlite3_result_null(context)
        case SQLITE_BLOB:
            let count = Int(sqlite3_value_bytes(value))
            guard let bytes = sqlite3_value_blob(value) else {
                sqlite3_result_null(context)
                return
            }
            do {
                let document = try BSONDocument(bytes: UnsafeRawBufferPointer(start: bytes, count: count))
                var json = document.extendedJSON(.relaxed)
                json.withUTF8 { text in
                    text.withMemoryRebound(to: CChar.self) {
                        // SQLite reports SQLITE_TOOBIG itself if this exceeds the length limit.
                        sqlite3_result_text64(context, $0.baseAddress, UInt64(text.count), transient, UInt8(SQLITE_UTF8))
                    }
                }
            } catch {
                sqlite3_result_error(context, "bson_json: not a BSON document (\(error))", -1)
            }
        default:
            sqlite3_result_error(context, "bson_json expects a BSON blob", -1)
        }
    }
}
