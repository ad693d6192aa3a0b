import FerryBSON
import FerryStore
import Foundation
import PostgresNIO

/// Custom indexes on readings: an expression index on `ferry_index_key(data, ARRAY[path])` after
/// `organization_id`, on the partitioned `readings` (so on every month's partition, present and
/// future; hot storage reads the same table), shared by every organisation whose index has the same
/// paths. Creating and dropping them holds an advisory lock, so replicas never race on one name.
/// Building takes a lock that holds back ingest into `readings` until it is done.
extension PostgresStore {
    public func createIndex(_ index: DataIndex) async throws {
        let physical = StoreChecks.physicalIndexName(table: "readings", paths: index.paths)
        let keys = index.paths.map { Self.indexKeySQL(column: "data", path: $0) }.joined(separator: ", ")
        let logger = self.logger
        try await transaction("creating index \(index.name.debugDescription)") { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(PostgresFunctions.Lock.dataIndexes.rawValue))", logger: logger)
            for existing in try await Self.indexes(connection, organizationID: index.organizationID, logger: logger)
            where existing.name == index.name || existing.paths == index.paths {
                throw StoreChecks.duplicateIndex(index, existing: existing)
            }
            let inserted = try await connection.query(
                """
                INSERT INTO data_indexes (organization_id, pipeline_id, name, spec, physical, created_at)
                SELECT \(index.organizationID), '', \(index.name), \(index.spec.extendedJSON(.canonical)), \(physical), \(index.createdAt)
                WHERE EXISTS (SELECT 1 FROM organizations WHERE id = \(index.organizationID))
                RETURNING 1
                """, logger: logger
            ).collect()
            if inserted.isEmpty { throw StoreChecks.noSuchOrganization(index.organizationID) }
            try await connection.query(
                PostgresQuery(unsafeSQL: "CREATE INDEX IF NOT EXISTS \(physical) ON readings (organization_id, \(keys))"), logger: logger)
        }
    }

    public func indexes(organizationID: String) async throws -> [DataIndex] {
        try await mapErrors("listing the indexes of organisation \(organizationID)") {
            try await client.withConnection { connection in
                try await Self.indexes(connection, organizationID: organizationID, logger: logger)
            }
        }
    }

    public func deleteIndex(organizationID: String, name: String) async throws -> Bool {
        let logger = self.logger
        return try await transaction("deleting index \(name.debugDescription)") { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(PostgresFunctions.Lock.dataIndexes.rawValue))", logger: logger)
            let deleted = try await connection.query(
                "DELETE FROM data_indexes WHERE organization_id = \(organizationID) AND pipeline_id = '' AND name = \(name) RETURNING physical",
                logger: logger
            ).collect()
            guard let physical = try deleted.first?.decode(String.self) else { return false }
            let users = try await connection.query("SELECT count(*) FROM data_indexes WHERE physical = \(physical)", logger: logger)
                .collect().first?.decode(Int64.self) ?? 0
            if users == 0 {
                try await connection.query(PostgresQuery(unsafeSQL: "DROP INDEX IF EXISTS \(physical)"), logger: logger)
            }
            return true
        }
    }

    static func indexes(_ connection: PostgresConnection, organizationID: String, logger: Logger) async throws -> [DataIndex] {
        var indexes: [DataIndex] = []
        let rows = try await connection.query(
            """
            SELECT name, spec, created_at FROM data_indexes WHERE organization_id = \(organizationID) AND pipeline_id = ''
            ORDER BY created_at, name COLLATE "C"
            """, logger: logger)
        for try await (name, spec, createdAt) in rows.decode((String, String, Int64).self) {
            do {
                indexes.append(try StoreChecks.dataIndex(spec: BSONDocument(extendedJSON: spec), organizationID: organizationID, createdAt: createdAt))
            } catch {
                throw StoreError(.storage, "the stored index \(name.debugDescription) cannot be read (\(error)); delete it and create it again")
            }
        }
        return indexes
    }

    /// `ferry_index_key(column, ARRAY['a', 'b'])`: the indexed expression, the same in the index and
    /// in queries (the path is a literal, never a parameter, so the planner can match the two).
    static func indexKeySQL(column: String, path: [String]) -> String {
        let elements = path.map { "'" + $0.replacingOccurrences(of: "'", with: "''") + "'" }.joined(separator: ", ")
        return "ferry_index_key(\(column), ARRAY[\(elements)]::text[])"
    }

    /// The sentinel key of values only the MQL engine can judge.
    static let indexKeySentinelSQL = "'[3]'::jsonb"

    /// The conditions on the index key for `hints` (all on one path), binding values with `bind`.
    /// Keys are `[1, number]` and `[2, string]`; jsonb compares arrays element by element, so
    /// numbers lie strictly between `[1, null]` and `[2, null]`.
    static func indexedHintClauses(_ hints: [DataHint], key: String, bind: (String) -> String) -> String {
        var clauses: [String] = []
        for hint in hints {
            switch hint.test {
            case .oneOf(let values):
                clauses.append("\(key) IN (\(values.map { bind(indexKeyJSON($0)) + "::jsonb" }.joined(separator: ", ")))")
            case .compare(let comparison, let value):
                clauses.append("\(key) \(comparison.rawValue) \(bind(indexKeyJSON(value)))::jsonb")
                switch comparison {
                case .greaterThan, .atLeast: clauses.append("\(key) < '[2, null]'::jsonb")
                case .lessThan, .atMost: clauses.append("\(key) > '[1, null]'::jsonb")
                }
            }
        }
        return clauses.joined(separator: " AND ")
    }

    /// A hint's value as the index key `ferry_index_key` gives it (JSON text).
    static func indexKeyJSON(_ value: DataIndexValue) -> String {
        switch value {
        case .int(let n): BSON.array([.int32(1), .int64(n)]).extendedJSON(.relaxed)
        case .double(let d): BSON.array([.int32(1), .double(d)]).extendedJSON(.relaxed)
        case .string(let s): PGJSON.withoutNUL(BSON.array([.int32(2), .string(s)]).extendedJSON(.relaxed))
        }
    }
}
