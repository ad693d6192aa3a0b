import FerryStore
import GRDBSQLite

/// What a TabularDataBySQL query may do, decided for each action SQLite's authorizer reports while
/// it compiles the query. Everything not allowed here is denied: a query may only SELECT, call
/// functions, and read the organisation's rows through the `readings` view.
///
/// The view is two levels deep: `temp.readings` (what users name) selects from a second temp view
/// with a random per-connection name, and only that one reads the base table, filtered to the
/// organisation. The base table may be read only when SQLite reports that inner view as
/// responsible. (SQLite reports a CTE's name the same way as a view's, so checking for the name
/// `readings` alone would let `WITH readings AS (SELECT * FROM main.readings) …` through.)
struct SQLSandboxPolicy {
    /// The base table behind the view (`readings` or `hot_readings` in `main`).
    let baseTable: String
    /// The secret name of the inner, organisation-filtered view.
    let scopeView: String
    static let userView = "readings"
    /// Table-valued functions that read only their arguments.
    static let tableFunctions: Set<String> = ["json_each", "json_tree"]
    /// Functions that reach outside the query (files, extensions, tokenizer pointers).
    static let forbiddenFunctions: Set<String> = ["load_extension", "fts3_tokenizer", "readfile", "writefile", "edit"]

    enum Decision: Equatable {
        case allow
        case deny(String)
    }

    func decide(_ action: Int32, _ arg1: String?, _ arg2: String?, _ database: String?, _ source: String?) -> Decision {
        switch action {
        case SQLITE_SELECT, SQLITE_RECURSIVE:
            return .allow
        case SQLITE_READ:
            return decideRead(table: arg1 ?? "", database: database, source: source)
        case SQLITE_FUNCTION:
            let name = (arg2 ?? "").lowercased()
            if Self.forbiddenFunctions.contains(name) {
                return .deny("the function \(name)() is not available in TabularDataBySQL")
            }
            return .allow
        case SQLITE_PRAGMA:
            return .deny("PRAGMA statements are not allowed in TabularDataBySQL; the only table is `readings`")
        case SQLITE_ATTACH, SQLITE_DETACH:
            return .deny("ATTACH and DETACH are not allowed in TabularDataBySQL: queries see only this organisation's `readings`")
        case SQLITE_INSERT, SQLITE_UPDATE, SQLITE_DELETE:
            if (arg1 ?? "").lowercased().hasPrefix("sqlite_") {
                // Also what SQLite reports when a query names an unknown table-valued function.
                return .deny("TabularDataBySQL is read-only and sees only the `readings` table and json_each/json_tree")
            }
            return .deny("TabularDataBySQL is read-only: \(Self.name(of: action)) is not allowed")
        default:
            return .deny("TabularDataBySQL is read-only and allows only SELECT queries: \(Self.name(of: action)) is not allowed")
        }
    }

    private func decideRead(table: String, database: String?, source: String?) -> Decision {
        let lowered = table.lowercased()
        // No schema: a CTE or subquery result, made only of what the query could already read.
        if database == nil { return .allow }
        if database == "temp", lowered == Self.userView || table == scopeView { return .allow }
        if database == "main", table == baseTable, source == scopeView { return .allow }
        if Self.tableFunctions.contains(lowered) { return .allow }
        if lowered.hasPrefix("sqlite_") {
            return .deny("the schema table \(table) is not visible to TabularDataBySQL; query the `readings` table")
        }
        if database == "main" {
            return .deny("only the `readings` table is visible to TabularDataBySQL (write `readings`, not `main.\(table)`)")
        }
        return .deny("the table \(table) is not visible to TabularDataBySQL; query the `readings` table")
    }

    static func name(of action: Int32) -> String {
        switch action {
        case SQLITE_INSERT: "INSERT"
        case SQLITE_UPDATE: "UPDATE"
        case SQLITE_DELETE: "DELETE"
        case SQLITE_CREATE_INDEX, SQLITE_CREATE_TEMP_INDEX: "CREATE INDEX"
        case SQLITE_CREATE_TABLE, SQLITE_CREATE_TEMP_TABLE: "CREATE TABLE"
        case SQLITE_CREATE_TRIGGER, SQLITE_CREATE_TEMP_TRIGGER: "CREATE TRIGGER"
        case SQLITE_CREATE_VIEW, SQLITE_CREATE_TEMP_VIEW: "CREATE VIEW"
        case SQLITE_CREATE_VTABLE: "CREATE VIRTUAL TABLE"
        case SQLITE_DROP_INDEX, SQLITE_DROP_TEMP_INDEX: "DROP INDEX"
        case SQLITE_DROP_TABLE, SQLITE_DROP_TEMP_TABLE: "DROP TABLE"
        case SQLITE_DROP_TRIGGER, SQLITE_DROP_TEMP_TRIGGER: "DROP TRIGGER"
        case SQLITE_DROP_VIEW, SQLITE_DROP_TEMP_VIEW: "DROP VIEW"
        case SQLITE_DROP_VTABLE: "DROP VIRTUAL TABLE"
        case SQLITE_TRANSACTION: "a transaction statement"
        case SQLITE_SAVEPOINT: "SAVEPOINT"
        case SQLITE_ALTER_TABLE: "ALTER TABLE"
        case SQLITE_REINDEX: "REINDEX"
        case SQLITE_ANALYZE: "ANALYZE"
        case SQLITE_PRAGMA: "PRAGMA"
        case SQLITE_ATTACH: "ATTACH"
        case SQLITE_DETACH: "DETACH"
        default: "action \(action)"
        }
    }
}
