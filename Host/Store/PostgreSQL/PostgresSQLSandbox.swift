import Crypto
import FerryBSON
import FerryStore
import Foundation
import Logging
import NIOCore
import PostgresNIO
import Synchronization

/// TabularDataBySQL on PostgreSQL, with PostgreSQL's own mechanisms:
/// - a login role of its own (`ferry_sql_…`, made on first use; needs CREATEROLE once) that owns
///   nothing and may read only the `ferry_sql` views, on connections of its own. Being the session
///   user, it cannot `SET ROLE` back to the store's user, and PostgreSQL refuses it every function
///   that reaches the server's files or privileged settings;
/// - the organisation is a row the store writes for the connection's backend pid before each query
///   (`ferry_sql_scopes`), which the views join on: the role can neither write nor forge it;
/// - each query runs alone (the extended protocol refuses several statements) in a `READ ONLY`
///   transaction with `SET LOCAL statement_timeout`, and is rolled back; rows and bytes are bounded
///   while they stream.
final class PostgresSQLSandbox: Sendable {
    private struct Reader {
        var client: PostgresClient
        var runner: Task<Void, Never>
    }

    let url: PostgresURL
    /// The reader's pool, made on first use. Guarded by the mutex.
    private let reader = Mutex<Reader?>(nil)

    init(url: PostgresURL) { self.url = url }

    func close() {
        reader.withLock { $0?.runner.cancel() }
    }

    /// Functions refused by name before the query reaches the server, beyond what the role's
    /// privileges refuse: settings, and anything that runs SQL text of its own.
    static let refusedFunctions = [
        "set_config", "current_setting", "pg_settings", "pg_file_settings", "pg_hba_file_rules", "pg_ident_file_mappings",
        "pg_config", "pg_read_file", "pg_read_binary_file", "pg_ls_", "pg_stat_file", "lo_import", "lo_export", "lo_get",
        "lo_open", "pg_reload_conf", "pg_cancel_backend", "pg_terminate_backend", "pg_sleep", "query_to_xml",
        "cursor_to_xml", "table_to_xml", "schema_to_xml", "database_to_xml", "dblink", "pg_advisory", "pg_notify",
        "inet_server", "pg_current_logfile", "pg_export_snapshot", "txid_", "pg_promote", "pg_log_backend",
    ]

    static func screen(_ sql: String) throws {
        let plain = sql.lowercased().replacingOccurrences(of: "\"", with: "")
        if plain.contains("u&") {
            throw StoreError(.sqlRefused, "Unicode-escaped identifiers and strings (U&…) are not allowed in TabularDataBySQL")
        }
        if let name = refusedFunctions.first(where: { plain.contains($0) }) {
            throw StoreError(
                .sqlRefused,
                "the function \(name)… is not available in TabularDataBySQL: queries read the `readings` table, not the server's settings or files")
        }
    }

    func run(_ store: PostgresStore, organizationID: String, source: ReadingSource, sql: String) async throws -> [BSONDocument] {
        let limits = store.options.sqlLimits
        try StoreChecks.screen(sql: sql, limits: limits)
        try Self.screen(sql)
        // Hot storage is the readings at or after the last prune's cutoff; none when it is off.
        var hotCutoff: PGTime?
        if source == .hotStorage, store.options.hotStorageHours != nil {
            let cutoff = try await store.rows(
                "reading the hot storage cutoff", "SELECT value FROM store_meta WHERE key = \(PostgresStore.hotCutoffKey)"
            ).first.flatMap { Int64(try $0.decode(String.self)) }
            hotCutoff = PGTime(cutoff ?? PGTime.earliest)
        }
        return try await run(store, organizationID, hotCutoff, sql, source)
    }

    private func run(_ store: PostgresStore, _ organizationID: String, _ hotCutoff: PGTime?, _ sql: String, _ source: ReadingSource)
        async throws -> [BSONDocument]
    {
        let limits = store.options.sqlLimits
        let client = try await readerClient(store)
        let logger = store.logger
        let timeout = max(1, Int64(limits.maxDuration.components.seconds * 1000 + limits.maxDuration.components.attoseconds / 1_000_000_000_000_000))
        do {
            return try await client.withConnection { connection in
                let pid = try await connection.query("SELECT pg_backend_pid()", logger: logger).collect().first!.decode(Int32.self)
                try await store.rows(
                    "scoping an SQL query",
                    """
                    INSERT INTO ferry_sql_scopes (pid, organization_id, hot_cutoff) VALUES (\(pid), \(organizationID), \(hotCutoff))
                    ON CONFLICT (pid) DO UPDATE SET organization_id = excluded.organization_id, hot_cutoff = excluded.hot_cutoff
                    """)
                let result: Result<[BSONDocument], any Error>
                do {
                    result = .success(try await Self.query(connection, sql: sql, source: source, timeout: timeout, pid: pid, store: store))
                } catch {
                    result = .failure(error)
                }
                _ = try? await store.rows("unscoping an SQL query", "DELETE FROM ferry_sql_scopes WHERE pid = \(pid)")
                return try result.get()
            }
        } catch let error as StoreError {
            throw error
        } catch let error as CancellationError {
            throw error
        } catch let error as PSQLError {
            if Task.isCancelled { throw CancellationError() }
            throw Self.refusal(error, limits: limits)
        }
    }

    /// The query in a read-only transaction, rolled back whatever happens.
    private static func query(
        _ connection: PostgresConnection, sql: String, source: ReadingSource, timeout: Int64, pid: Int32, store: PostgresStore
    ) async throws -> [BSONDocument] {
        let logger = store.logger
        try await connection.query("BEGIN READ ONLY", logger: logger)
        do {
            let schema = source == .hotStorage ? "ferry_sql_hot" : "ferry_sql"
            try await connection.query(
                "SELECT set_config('statement_timeout', \(String(timeout)), true), set_config('search_path', \(schema), true)",
                logger: logger)
            let rows = try await withTaskCancellationHandler {
                try await collect(connection.query(PostgresQuery(unsafeSQL: sql), logger: logger), limits: store.options.sqlLimits)
            } onCancel: {
                Task { _ = try? await store.rows("cancelling an SQL query", "SELECT pg_cancel_backend(\(pid))") }
            }
            try await connection.query("ROLLBACK", logger: logger)
            return rows
        } catch {
            _ = try? await connection.query("ROLLBACK", logger: logger)
            throw error
        }
    }

    /// A server error as the sandbox reports it: refused, too expensive, or just failed.
    static func refusal(_ error: PSQLError, limits: SQLSandboxLimits) -> StoreError {
        let state = error.serverInfo?[.sqlState] ?? ""
        let message = error.serverInfo?[.message] ?? "\(error.code)"
        switch state {
        case "42501":
            return StoreError(.sqlRefused, "TabularDataBySQL sees only this organisation's `readings` and may not do this: \(message)")
        case "55000" where message.contains("view"):
            return StoreError(.sqlRefused, "TabularDataBySQL is read-only: \(message)")
        case "25006":
            return StoreError(.sqlRefused, "TabularDataBySQL is read-only: \(message)")
        case "57014":
            return StoreError(.resourceExhausted, "the SQL query ran longer than \(limits.maxDuration) and was stopped; narrow it (WHERE on time_received or component_name) or add a LIMIT")
        case "42601" where message.contains("multiple commands"):
            return StoreError(.sqlRefused, "TabularDataBySQL runs a single statement; remove everything after the first ';'")
        case "42P01":
            return StoreError(.sqlRefused, "the only table TabularDataBySQL sees is `readings`: \(message)")
        case "53200", "54000", "54001":
            return StoreError(.resourceExhausted, "the SQL query needs more than the server allows: \(message)")
        default:
            return StoreError(.sqlFailed, "the SQL query failed: \(message)\(state.isEmpty ? "" : " (SQLSTATE \(state))")")
        }
    }

    static func collect(_ rows: PostgresRowSequence, limits: SQLSandboxLimits) async throws -> [BSONDocument] {
        var documents: [BSONDocument] = []
        var bytes = 0
        for try await row in rows {
            guard documents.count < limits.maxRows else {
                throw StoreError(
                    .resourceExhausted,
                    "the SQL query returns more than \(limits.maxRows) rows; add a LIMIT (and OFFSET to page) or aggregate")
            }
            var document = BSONDocument()
            for cell in row {
                bytes += cell.bytes?.readableBytes ?? 0
                document.elements.append(BSONElement(cell.columnName, try value(cell)))
            }
            guard bytes <= limits.maxResultBytes else {
                throw StoreError(.resourceExhausted, "the SQL query result exceeds \(limits.maxResultBytes) bytes; select fewer columns or rows")
            }
            documents.append(document)
        }
        return documents
    }

    /// A result value as BSON: times as dates, JSON as its text (as on SQLite), numbers as numbers.
    static func value(_ cell: PostgresCell) throws -> BSON {
        guard cell.bytes != nil else { return .null }
        switch cell.dataType {
        case .bool: return .bool(try cell.decode(Bool.self))
        case .int2, .int4: return .int32(try cell.decode(Int32.self))
        case .int8: return .int64(try cell.decode(Int64.self))
        case .float4, .float8: return .double(try cell.decode(Double.self))
        case .numeric:
            let text = try cell.decode(String.self)
            return Double(text).map(BSON.double) ?? .string(text)
        case .timestamptz, .timestamp: return .datetime(try cell.decode(PGTime.self).ms)
        case .bytea: return .binary(BSONBinary(data: try cell.decode(ByteBuffer.self).bytes))
        case .jsonb:
            var buffer = cell.bytes!
            if cell.format == .binary { buffer.moveReaderIndex(forwardBy: 1) }
            return .string(buffer.readString(length: buffer.readableBytes) ?? "")
        case .text, .varchar, .name, .bpchar, .json, .uuid:
            return .string(try cell.decode(String.self))
        default:
            if cell.format == .text, var buffer = cell.bytes { return .string(buffer.readString(length: buffer.readableBytes) ?? "") }
            throw StoreError(
                .sqlFailed, "column \(cell.columnName) has type \(cell.dataType), which TabularDataBySQL cannot return; cast it to text (::text)")
        }
    }

    // MARK: The reader role

    /// The pool of connections as the reader role, creating the role on first use.
    private func readerClient(_ store: PostgresStore) async throws -> PostgresClient {
        if let client = reader.withLock({ $0?.client }) { return client }
        let (role, password) = try await PostgresSQLReaderRole.ensure(store)
        let configuration = try PostgresStore.clientConfiguration(url, user: role, password: password, maxConnections: 4)
        let client = PostgresClient(configuration: configuration)
        return reader.withLock { current in
            if let existing = current { return existing.client }
            current = Reader(client: client, runner: Task { await client.run() })
            return client
        }
    }
}

/// The reader role's name and password: one role per database (roles are cluster-wide), its
/// password random and kept in `store_meta`, readable only by the store's user.
enum PostgresSQLReaderRole {
    static func ensure(_ store: PostgresStore) async throws -> (role: String, password: String) {
        let database = store.url.database
        let role = name(database: database)
        if let saved = try await store.rows("reading the SQL reader role", "SELECT value FROM store_meta WHERE key = 'sql_reader_password'")
            .first.map({ try $0.decode(String.self) })
        {
            return (role, saved)
        }
        var generator = SystemRandomNumberGenerator()
        let password = Hex.encode((0..<24).map { _ in UInt8.random(in: 0...255, using: &generator) })
        do {
            try await store.transaction("creating the SQL reader role \(role)") { connection in
                let logger = store.logger
                try await connection.query("SELECT pg_advisory_xact_lock(\(PostgresFunctions.Lock.migrations.rawValue))", logger: logger)
                if try await !connection.query("SELECT 1 FROM store_meta WHERE key = 'sql_reader_password'", logger: logger).collect().isEmpty {
                    return
                }
                let exists = try await !connection.query("SELECT 1 FROM pg_roles WHERE rolname = \(role)", logger: logger).collect().isEmpty
                let verb = exists ? "ALTER" : "CREATE"
                // Identifiers and the password are made here (hex and letters): safe to splice.
                for statement in [
                    "\(verb) ROLE \(role) LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION NOBYPASSRLS CONNECTION LIMIT 8 PASSWORD '\(password)'",
                    "ALTER ROLE \(role) SET default_transaction_read_only = on",
                    "GRANT \(role) TO CURRENT_USER",
                    "GRANT CONNECT ON DATABASE \(quoted(database)) TO \(role)",
                    "GRANT USAGE ON SCHEMA ferry_sql, ferry_sql_hot TO \(role)",
                    "GRANT SELECT ON ferry_sql.readings, ferry_sql_hot.readings TO \(role)",
                ] {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.query(
                    "INSERT INTO store_meta (key, value) VALUES ('sql_reader_password', \(password))", logger: logger)
            }
        } catch let error as StoreError {
            throw StoreError(
                .storage,
                "TabularDataBySQL needs its own read-only login role \(role), and creating it failed (\(error.message)). Let the store's user create roles once (ALTER ROLE \(store.url.user) CREATEROLE), or create it yourself: CREATE ROLE \(role) LOGIN PASSWORD '…', then INSERT the password into store_meta as sql_reader_password")
        }
        guard let saved = try await store.rows("reading the SQL reader role", "SELECT value FROM store_meta WHERE key = 'sql_reader_password'")
            .first.map({ try $0.decode(String.self) })
        else { throw StoreError(.storage, "the SQL reader role \(role) has no password in store_meta") }
        return (role, saved)
    }

    static func name(database: String) -> String {
        let safe = String(database.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "_" }.prefix(30))
        let hash = Hex.encode(Array(SHA256.hash(data: Array(database.utf8)).prefix(4)))
        return "ferry_sql_\(safe)_\(hash)"
    }

    static func quoted(_ identifier: String) -> String { "\"" + identifier.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }
}
