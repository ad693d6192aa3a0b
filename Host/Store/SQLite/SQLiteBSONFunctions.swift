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

    /// `ferry_index_key(blob, 'readings.temperature')`: what a custom index keys a BSON document on
    /// (see `DataHint`): the number (INTEGER or REAL) or string at the dotted path; NULL when the path
    /// is missing or holds anything a pushed-down number or string cannot match under MongoDB's type
    /// bracketing (null, booleans, dates, documents…); and `indexKeySentinel`, a BLOB, wherever only
    /// the MQL engine can tell (an array on the path or at its end, NaN, decimals, symbols), so that
    /// a query reads those rows too. Deterministic: expression indexes are built on it, so it must
    /// be registered on every connection that writes the indexed tables.
    static func registerIndexKey(on db: OpaquePointer) -> Int32 {
        sqlite3_create_function_v2(
            db, "ferry_index_key", 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, nil,
            { context, count, arguments in
                guard let context else { return }
                guard count == 2, let document = arguments?[0], let path = arguments?[1] else {
                    sqlite3_result_error(context, "ferry_index_key takes a BSON blob and a dotted path", -1)
                    return
                }
                SQLiteBSONFunctions.indexKey(context, document, path)
            }, nil, nil, nil)
    }

    /// The key of values only the MQL engine can judge; SQL text for the query side.
    static let indexKeySentinelSQL = "x'00'"

    private static func indexKey(_ context: OpaquePointer, _ value: OpaquePointer, _ pathValue: OpaquePointer) {
        guard sqlite3_value_type(value) == SQLITE_BLOB, let bytes = sqlite3_value_blob(value), let pathText = sqlite3_value_text(pathValue)
        else {
            sqlite3_result_null(context)
            return
        }
        let document: BSONDocument
        do {
            document = try BSONDocument(bytes: UnsafeRawBufferPointer(start: bytes, count: Int(sqlite3_value_bytes(value))))
        } catch {
            sqlite3_result_error(context, "ferry_index_key: not a BSON document (\(error))", -1)
            return
        }
        var sentinel: UInt8 = 0
        var current = BSON.document(document)
        for segment in String(cString: pathText).split(separator: ".", omittingEmptySubsequences: false) {
            switch current {
            case .document(let fields):
                guard let next = fields[String(segment)] else { return sqlite3_result_null(context) }
                current = next
            case .array:
                return sqlite3_result_blob(context, &sentinel, 1, transient)
            default:
                return sqlite3_result_null(context)
            }
        }
        switch current {
        case .int32(let n): sqlite3_result_int64(context, Int64(n))
        case .int64(let n): sqlite3_result_int64(context, n)
        case .double(let d) where !d.isNaN: sqlite3_result_double(context, d)
        case .string(let s):
            var text = s
            text.withUTF8 { utf8 in
                utf8.withMemoryRebound(to: CChar.self) {
                    sqlite3_result_text64(context, $0.baseAddress, UInt64(utf8.count), transient, UInt8(SQLITE_UTF8))
                }
            }
        case .array, .double, .decimal128, .symbol: sqlite3_result_blob(context, &sentinel, 1, transient)
        default: sqlite3_result_null(context)
        }
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
