import FerryBSON
import FerryStore
import Foundation
import GRDBSQLite

/// Runs one user query on its own read-only SQLite connection, opened for that query and closed
/// after it. GRDB's connections are not used: GRDB keeps its own authorizer on every connection
/// it opens (to track what statements read and write) and offers no way to add another, so the
/// sandbox uses the C API directly on a connection nothing else touches.
///
/// Layers, each enough to stop a write on its own: the file is opened `SQLITE_OPEN_READONLY`;
/// `PRAGMA query_only` is on; the authorizer denies every action but SELECT, READ through the
/// scoped views, and harmless functions; and a compiled statement must be read-only and not
/// EXPLAIN. Organisation scoping rests on the views and the authorizer (see `SQLSandboxPolicy`).
/// A progress handler bounds work and time; result size is bounded by rows and bytes.
enum SQLSandbox {
    static func run(
        databasePath: String, organizationID: String, source: ReadingSource, sql: String, limits: SQLSandboxLimits,
        cancellation: SQLCancellation
    ) throws -> [BSONDocument] {
        // A clear answer for the obvious cases; the authorizer below is what enforces it.
        try StoreChecks.screen(sql: sql, limits: limits)
        let connection = try open(databasePath, limits: limits)
        defer { sqlite3_close_v2(connection) }
        let policy = try installViews(connection, organizationID: organizationID, source: source)
        let run = SQLSandboxRun(policy: policy, limits: limits, cancellation: cancellation)
        let context = Unmanaged.passUnretained(run).toOpaque()
        // The authorizer and progress handler reach `run` through `context`; `run` outlives the
        // connection's use because the handlers are removed before this function returns.
        defer {
            sqlite3_progress_handler(connection, 0, nil, nil)
            sqlite3_set_authorizer(connection, nil, nil)
            withExtendedLifetime(run) {}
        }
        sqlite3_set_authorizer(
            connection,
            { context, action, arg1, arg2, database, source in
                Unmanaged<SQLSandboxRun>.fromOpaque(context!).takeUnretainedValue()
                    .authorize(action, arg1, arg2, database, source)
            }, context)
        sqlite3_progress_handler(
            connection, SQLSandboxRun.progressInterval,
            { context in Unmanaged<SQLSandboxRun>.fromOpaque(context!).takeUnretainedValue().progress() }, context)

        let statement = try prepare(connection, sql, run: run)
        defer { sqlite3_finalize(statement) }
        return try collectRows(connection, statement, run: run)
    }

    private static func open(_ path: String, limits: SQLSandboxLimits) throws -> OpaquePointer {
        var connection: OpaquePointer?
        let rc = sqlite3_open_v2(path, &connection, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_PRIVATECACHE, nil)
        guard rc == SQLITE_OK, let connection else {
            let message = connection.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close_v2(connection)
            throw StoreError(.storage, "cannot open the store at \(path) for an SQL query: \(message)")
        }
        sqlite3_extended_result_codes(connection, 1)
        sqlite3_busy_timeout(connection, 5_000)
        sqlite3_limit(connection, SQLITE_LIMIT_ATTACHED, 0)
        sqlite3_limit(connection, SQLITE_LIMIT_LENGTH, limits.maxValueBytes)
        sqlite3_limit(connection, SQLITE_LIMIT_SQL_LENGTH, limits.maxSQLLength)
        sqlite3_limit(connection, SQLITE_LIMIT_EXPR_DEPTH, 200)
        sqlite3_limit(connection, SQLITE_LIMIT_COMPOUND_SELECT, 100)
        sqlite3_limit(connection, SQLITE_LIMIT_TRIGGER_DEPTH, 0)
        sqlite3_limit(connection, SQLITE_LIMIT_WORKER_THREADS, 0)
        guard SQLiteBSONFunctions.register(on: connection) == SQLITE_OK else {
            let message = String(cString: sqlite3_errmsg(connection))
            sqlite3_close_v2(connection)
            throw StoreError(.storage, "cannot prepare the SQL sandbox: \(message)")
        }
        return connection
    }

    /// Creates the two temp views (before the authorizer is installed) and turns on query_only.
    private static func installViews(_ connection: OpaquePointer, organizationID: String, source: ReadingSource) throws
        -> SQLSandboxPolicy
    {
        var random = SystemRandomNumberGenerator()
        let nonce = (0..<16).map { _ in String(UInt16.random(in: 0...255, using: &random) | 0x100, radix: 16).dropFirst() }.joined()
        let policy = SQLSandboxPolicy(baseTable: ReadingQuery.table(source), scopeView: "ferry_scope_\(nonce)")
        let literal = "'" + organizationID.replacingOccurrences(of: "'", with: "''") + "'"
        let setup = """
            PRAGMA trusted_schema = OFF;
            CREATE TEMP VIEW "\(policy.scopeView)" AS
                SELECT * FROM main."\(policy.baseTable)" WHERE organization_id = \(literal);
            CREATE TEMP VIEW readings AS SELECT
                organization_id, location_id, robot_id, part_id, component_type, component_name, method_name,
                time_requested, time_received, tags,
                bson_json(additional_parameters) AS additional_parameters, bson_json(data) AS data
                FROM temp."\(policy.scopeView)";
            -- SQLite 3.40 authorizes a schema UPDATE the first time a connection uses an eponymous
            -- table-valued function; doing that here, before the authorizer, keeps it out of queries.
            SELECT count(*) FROM json_each('[]'), json_tree('[]');
            PRAGMA query_only = ON;
            """
        var error: UnsafeMutablePointer<CChar>?
        guard sqlite3_exec(connection, setup, nil, nil, &error) == SQLITE_OK else {
            let message = error.map { String(cString: $0) } ?? String(cString: sqlite3_errmsg(connection))
            sqlite3_free(error)
            throw StoreError(.storage, "cannot prepare the SQL sandbox: \(message)")
        }
        return policy
    }

    private static func prepare(_ connection: OpaquePointer, _ sql: String, run: SQLSandboxRun) throws -> OpaquePointer {
        var statement: OpaquePointer?
        var tail: UnsafePointer<CChar>?
        let trailing: String = try sql.withCString { text in
            let rc = sqlite3_prepare_v3(connection, text, -1, 0, &statement, &tail)
            guard rc == SQLITE_OK else { throw failure(connection, rc, run: run, phase: "is not valid") }
            return tail.map { String(cString: $0) } ?? ""
        }
        guard let statement else {
            throw StoreError(.sqlFailed, "the SQL query is empty; write a SELECT over `readings`")
        }
        do {
            try requireNothingAfter(trailing, connection, run: run)
            if sqlite3_stmt_readonly(statement) == 0 {
                throw StoreError(.sqlRefused, "TabularDataBySQL is read-only: this statement would change the database")
            }
            if sqlite3_stmt_isexplain(statement) != 0 {
                throw StoreError(.sqlRefused, "EXPLAIN is not available in TabularDataBySQL")
            }
        } catch {
            sqlite3_finalize(statement)
            throw error
        }
        return statement
    }

    /// One statement per query: anything after it but comments and semicolons is refused, so a
    /// second statement can never ride along.
    private static func requireNothingAfter(_ trailing: String, _ connection: OpaquePointer, run: SQLSandboxRun) throws {
        guard trailing.contains(where: { !$0.isWhitespace && $0 != ";" }) else { return }
        var next: OpaquePointer?
        let rc = trailing.withCString { sqlite3_prepare_v3(connection, $0, -1, 0, &next, nil) }
        sqlite3_finalize(next)
        if rc == SQLITE_OK && next == nil { return }  // only comments
        run.denial = nil
        throw StoreError(.sqlRefused, "TabularDataBySQL runs a single statement; remove everything after the first ';'")
    }

    /// The error for a failed prepare or step: the authorizer's reason, the budget that ran out,
    /// or SQLite's own message.
    static func failure(_ connection: OpaquePointer, _ rc: Int32, run: SQLSandboxRun, phase: String) -> any Error {
        if let denial = run.denial { return StoreError(.sqlRefused, denial) }
        if let stop = run.stop {
            switch stop {
            case .cancelled: return CancellationError()
            case .instructions:
                return StoreError(
                    .resourceExhausted,
                    "the SQL query did more than \(run.limits.maxInstructions) steps of work and was stopped; narrow it with WHERE on time_received or component_name, or add a LIMIT")
            case .time:
                return StoreError(
                    .resourceExhausted, "the SQL query ran longer than \(run.limits.maxDuration) and was stopped; narrow it or add a LIMIT")
            }
        }
        let message = String(cString: sqlite3_errmsg(connection))
        if rc & 0xFF == SQLITE_READONLY || message.hasPrefix("cannot modify") {
            return StoreError(.sqlRefused, "TabularDataBySQL is read-only: \(message)")
        }
        return StoreError(.sqlFailed, "the SQL query \(phase): \(message)")
    }
}
