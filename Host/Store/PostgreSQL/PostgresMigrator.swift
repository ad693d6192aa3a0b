import Crypto
import FerryBSON
import FerryStore
import Foundation
import PostgresNIO

/// Brings a database to the current schema: each migration of `PostgresSchema` not yet recorded,
/// in order, each in its own transaction; then the functions, if their text changed. A session
/// advisory lock serialises replicas starting at once.
enum PostgresMigrator {
    static func migrate(_ store: PostgresStore, upTo last: String? = nil) async throws {
        try await store.mapErrors("migrating the PostgreSQL schema of \(store.url)") {
            try await store.client.withConnection { connection in
                let logger = store.logger
                try await connection.query("SELECT pg_advisory_lock(\(PostgresFunctions.Lock.migrations.rawValue))", logger: logger)
                do {
                    try await apply(connection, logger: logger, upTo: last)
                } catch {
                    _ = try? await connection.query("ROLLBACK", logger: logger)
                    _ = try? await connection.query(
                        "SELECT pg_advisory_unlock(\(PostgresFunctions.Lock.migrations.rawValue))", logger: logger)
                    throw error
                }
                try await connection.query("SELECT pg_advisory_unlock(\(PostgresFunctions.Lock.migrations.rawValue))", logger: logger)
            }
        }
    }

    private static func apply(_ connection: PostgresConnection, logger: Logger, upTo last: String?) async throws {
        try await connection.query(
            """
            CREATE TABLE IF NOT EXISTS ferry_migrations (
                name text PRIMARY KEY,
                checksum text NOT NULL DEFAULT '',
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """, logger: logger)
        var applied = Set<String>()
        for try await name in try await connection.query("SELECT name FROM ferry_migrations", logger: logger).decode(String.self) {
            applied.insert(name)
        }
        if let unknown = applied.subtracting(PostgresSchema.migrations.map(\.name)).subtracting(["functions"]).sorted().first {
            throw StoreError(
                .storage,
                "the database has migration \(unknown), which this ferry does not know: it was written by a newer version. Run that version (or newer) of ferry against it")
        }
        for migration in PostgresSchema.migrations where !applied.contains(migration.name) {
            try await connection.query("BEGIN", logger: logger)
            try await simple(connection, migration.sql, logger: logger)
            try await migration.fill?(connection, logger)
            try await connection.query("INSERT INTO ferry_migrations (name) VALUES (\(migration.name))", logger: logger)
            try await connection.query("COMMIT", logger: logger)
            logger.info("database migrated", metadata: ["migration": "\(migration.name)"])
            if migration.name == last { return }
        }
        if last != nil { return }
        let checksum = Hex.encode(SHA256.hash(data: Array(PostgresFunctions.sql.utf8)))
        let current = try await connection.query(
            "SELECT checksum FROM ferry_migrations WHERE name = 'functions'", logger: logger
        ).collect().first.map { try $0.decode(String.self) }
        guard current != checksum else { return }
        try await connection.query("BEGIN", logger: logger)
        try await simple(connection, PostgresFunctions.sql, logger: logger)
        try await connection.query(
            """
            INSERT INTO ferry_migrations (name, checksum) VALUES ('functions', \(checksum))
            ON CONFLICT (name) DO UPDATE SET checksum = excluded.checksum, applied_at = now()
            """, logger: logger)
        try await connection.query("COMMIT", logger: logger)
    }

    /// Runs a script of several statements (the simple-query protocol, which takes no parameters).
    static func simple(_ connection: PostgresConnection, _ sql: String, logger: Logger) async throws {
        for statement in statements(sql) {
            try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
        }
    }

    /// Splits a script at top-level semicolons (outside quotes, dollar quotes and comments).
    static func statements(_ sql: String) -> [String] {
        var result: [String] = []
        var current = ""
        let chars = Array(sql)
        var i = 0
        var dollarTag: String?
        var inString = false
        while i < chars.count {
            let c = chars[i]
            if let tag = dollarTag {
                if c == "$", String(chars[i..<min(chars.count, i + tag.count)]) == tag {
                    current += tag
                    i += tag.count
                    dollarTag = nil
                    continue
                }
            } else if inString {
                if c == "'" { inString = false }
            } else if c == "'" {
                inString = true
            } else if c == "-", i + 1 < chars.count, chars[i + 1] == "-" {
                while i < chars.count, chars[i] != "\n" { i += 1 }
                continue
            } else if c == "$" {
                var j = i + 1
                while j < chars.count, chars[j].isLetter || chars[j] == "_" { j += 1 }
                if j < chars.count, chars[j] == "$" {
                    let tag = String(chars[i...j])
                    dollarTag = tag
                    current += tag
                    i = j + 1
                    continue
                }
            } else if c == ";" {
                let trimmed = current.trimmingCharacters(in: .whitespacesAndNewlines)
                if !trimmed.isEmpty { result.append(trimmed) }
                current = ""
                i += 1
                continue
            }
            current.append(c)
            i += 1
        }
        let trimmed = current.trimmingCharacters(in: .whitespacesAndNewlines)
        if !trimmed.isEmpty { result.append(trimmed) }
        return result
    }
}
