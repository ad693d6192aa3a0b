import FerryBSON
import Foundation
import GRDBSQLite
import Synchronization

/// Lets another thread stop a running sandboxed query (a cancelled gRPC call).
final class SQLCancellation: Sendable {
    let requested = Atomic<Bool>(false)
}

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
        guard sql.utf8.count <= Int(limits.maxSQLLength) else {
            throw StoreError.invalid("the SQL query is \(sql.utf8.count) bytes long; the limit is \(limits.maxSQLLength)")
        }
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
        let nonce = (0..<16).map { _ in String(UInt8.random(in: 0...255, using: &random), radix: 16) }.joined()
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

    private static func collectRows(_ connection: OpaquePointer, _ statement: OpaquePointer, run: SQLSandboxRun) throws
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

    /// The error for a failed prepare or step: the authorizer's reason, the budget that ran out,
    /// or SQLite's own message.
    private static func failure(_ connection: OpaquePointer, _ rc: Int32, run: SQLSandboxRun, phase: String) -> any Error {
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
        if rc & 0xFF == SQLITE_READONLY {
            return StoreError(.sqlRefused, "TabularDataBySQL is read-only: \(message)")
        }
        return StoreError(.sqlFailed, "the SQL query \(phase): \(message)")
    }
}

/// What the C callbacks of one query share, used only on the thread running that query.
final class SQLSandboxRun {
    enum Stop { case instructions, time, cancelled }
    static let progressInterval: Int32 = 4_000

    let policy: SQLSandboxPolicy
    let limits: SQLSandboxLimits
    let cancellation: SQLCancellation
    let deadline: ContinuousClock.Instant
    var denial: String?
    var stop: Stop?
    private var instructions: Int64 = 0

    init(policy: SQLSandboxPolicy, limits: SQLSandboxLimits, cancellation: SQLCancellation) {
        self.policy = policy
        self.limits = limits
        self.cancellation = cancellation
        self.deadline = .now + limits.maxDuration
    }

    func authorize(
        _ action: Int32, _ arg1: UnsafePointer<CChar>?, _ arg2: UnsafePointer<CChar>?, _ database: UnsafePointer<CChar>?,
        _ source: UnsafePointer<CChar>?
    ) -> Int32 {
        switch policy.decide(
            action, arg1.map { String(cString: $0) }, arg2.map { String(cString: $0) }, database.map { String(cString: $0) },
            source.map { String(cString: $0) })
        {
        case .allow:
            return SQLITE_OK
        case .deny(let reason):
            if denial == nil { denial = reason }
            return SQLITE_DENY
        }
    }

    /// Called every `progressInterval` instructions; non-zero interrupts the query.
    func progress() -> Int32 {
        instructions += Int64(Self.progressInterval)
        if cancellation.requested.load(ordering: .relaxed) {
            stop = .cancelled
        } else if instructions > limits.maxInstructions {
            stop = .instructions
        } else if ContinuousClock.now > deadline {
            stop = .time
        }
        return stop == nil ? 0 : 1
    }
}
