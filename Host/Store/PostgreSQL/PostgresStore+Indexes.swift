import FerryBSON
import FerryStore
import Foundation
import PostgresNIO

/// Custom indexes on readings: an expression index on `ferry_index_key(data, ARRAY[path])` after
/// `organization_id`, on the partitioned `readings` (so on every month's partition, present and
/// future; hot storage reads the same table), shared by every organisation whose index has the same
/// paths. Creating and dropping them holds an advisory lock, so replicas never race on one name.
/// Building takes a lock that holds back ingest into `readings` until it is done.
/// An index on a pipeline's sink is the same kind of expression index on `sink_documents`, after
/// `organization_id` and `pipeline_id`, on the documents' jsonb copy (`data`).
extension PostgresStore {
    /// The table an index of the hot store (`pipelineID` empty) or of a sink is built on, with the
    /// columns leading it.
    static func indexTarget(pipelineID: String) -> (table: String, leading: String) {
        pipelineID.isEmpty ? ("readings", "organization_id") : ("sink_documents", "organization_id, pipeline_id")
    }

    public func createIndex(_ index: DataIndex) async throws {
        let target = Self.indexTarget(pipelineID: index.pipelineID)
        let physical = StoreChecks.physicalIndexName(table: target.table, paths: index.paths)
        let keys = index.paths.map { Self.indexKeySQL(column: "data", path: $0) }.joined(separator: ", ")
        let logger = self.logger
        try await transaction("creating index \(index.name.debugDescription)") { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(PostgresFunctions.Lock.dataIndexes.rawValue))", logger: logger)
            if !index.pipelineID.isEmpty {
                let known = try await connection.query(
                    "SELECT 1 FROM pipelines WHERE organization_id = \(index.organizationID) AND id = \(index.pipelineID)", logger: logger
                ).collect()
                guard !known.isEmpty else { throw StoreError(.notFound, "organisation \(index.organizationID) has no pipeline \(index.pipelineID)") }
            }
            for existing in try await Self.indexes(connection, organizationID: index.organizationID, pipelineID: index.pipelineID, logger: logger)
            where existing.name == index.name || existing.paths == index.paths {
                throw StoreChecks.duplicateIndex(index, existing: existing)
            }
            let inserted = try await connection.query(
                """
                INSERT INTO data_indexes (organization_id, pipeline_id, name, spec, physical, created_at)
                SELECT \(index.organizationID), \(index.pipelineID), \(index.name), \(index.spec.extendedJSON(.canonical)), \(physical), \(index.createdAt)
                WHERE EXISTS (SELECT 1 FROM organizations WHERE id = \(index.organizationID))
                RETURNING 1
                """, logger: logger
            ).collect()
            if inserted.isEmpty { throw StoreChecks.noSuchOrganization(index.organizationID) }
            try await connection.query(
                PostgresQuery(unsafeSQL: "CREATE INDEX IF NOT EXISTS \(physical) ON \(target.table) (\(target.leading), \(keys))"), logger: logger)
        }
    }

    public func indexes(organizationID: String, pipelineID: String) async throws -> [DataIndex] {
        try await mapErrors("listing the indexes of organisation \(organizationID)") {
            try await client.withConnection { connection in
                try await Self.indexes(connection, organizationID: organizationID, pipelineID: pipelineID, logger: logger)
            }
        }
    }

    public func deleteIndex(organizationID: String, pipelineID: String, name: String) async throws -> Bool {
        let logger = self.logger
        return try await transaction("deleting index \(name.debugDescription)") { connection in
            guard
                let index = try await Self.indexes(connection, organizationID: organizationID, pipelineID: pipelineID, logger: logger)
                    .first(where: { $0.name == name })
            else { return false }
            try await Self.deleteIndex(connection, index, logger: logger)
            return true
        }
    }

    /// Deletes the record, and the physical index when no other record uses it (under the lock).
    static func deleteIndex(_ connection: PostgresConnection, _ index: DataIndex, logger: Logger) async throws {
        try await connection.query("SELECT pg_advisory_xact_lock(\(PostgresFunctions.Lock.dataIndexes.rawValue))", logger: logger)
        let deleted = try await connection.query(
            """
            DELETE FROM data_indexes WHERE organization_id = \(index.organizationID) AND pipeline_id = \(index.pipelineID) AND name = \(index.name)
            RETURNING physical
            """, logger: logger
        ).collect()
        guard let physical = try deleted.first?.decode(String.self) else { return }
        let users = try await connection.query("SELECT count(*) FROM data_indexes WHERE physical = \(physical)", logger: logger)
            .collect().first?.decode(Int64.self) ?? 0
        if users == 0 {
            try await connection.query(PostgresQuery(unsafeSQL: "DROP INDEX IF EXISTS \(physical)"), logger: logger)
        }
    }

    static func indexes(_ connection: PostgresConnection, organizationID: String, pipelineID: String = "", logger: Logger) async throws -> [DataIndex] {
        try await indexes(
            connection,
            """
            SELECT organization_id, pipeline_id, name, spec, created_at FROM data_indexes
            WHERE organization_id = \(organizationID) AND pipeline_id = \(pipelineID) ORDER BY created_at, name COLLATE "C"
            """, logger: logger)
    }

    public func allIndexes() async throws -> [DataIndex] {
        let logger = self.logger
        return try await mapErrors("listing every custom index") {
            try await client.withConnection { connection in
                try await Self.indexes(
                    connection,
                    """
                    SELECT organization_id, pipeline_id, name, spec, created_at FROM data_indexes
                    ORDER BY organization_id COLLATE "C", pipeline_id COLLATE "C", name COLLATE "C"
                    """, logger: logger)
            }
        }
    }

    private static func indexes(_ connection: PostgresConnection, _ query: PostgresQuery, logger: Logger) async throws -> [DataIndex] {
        var indexes: [DataIndex] = []
        let rows = try await connection.query(query, logger: logger)
        for try await (organizationID, pipelineID, name, spec, createdAt) in rows.decode((String, String, String, String, Int64).self) {
            do {
                indexes.append(
                    try StoreChecks.dataIndex(
                        spec: BSONDocument(extendedJSON: spec), organizationID: organizationID, pipelineID: pipelineID, createdAt: createdAt))
            } catch {
                throw StoreError(.storage, "the stored index \(name.debugDescription) cannot be read (\(error)); delete it and create it again")
            }
        }
        return indexes
    }

    public func sinkDocuments(organizationID: String, pipelineID: String, hints: [DataHint]) async throws -> [BSONDocument] {
        let logger = self.logger
        return try await mapErrors("reading results of pipeline \(pipelineID)") {
            try await client.withConnection { connection in
                let query = try await Self.sinkQuery(connection, organizationID: organizationID, pipelineID: pipelineID, hints: hints, logger: logger)
                var documents: [BSONDocument] = []
                for try await row in try await connection.query(query, logger: logger) {
                    let cells = row.makeRandomAccess()
                    documents.append(try Self.bson(cells[0], row: try cells[1].decode(Int64.self)))
                }
                return documents
            }
        }
    }

    /// EXPLAIN of `sinkDocuments(…hints:)`, one line per row (for tests and diagnosis).
    public func sinkQueryPlan(organizationID: String, pipelineID: String, hints: [DataHint]) async throws -> [String] {
        let logger = self.logger
        return try await mapErrors("explaining a sink query") {
            try await client.withConnection { connection in
                var query = try await Self.sinkQuery(connection, organizationID: organizationID, pipelineID: pipelineID, hints: hints, logger: logger)
                query.sql = "EXPLAIN " + query.sql
                var lines: [String] = []
                for try await line in try await connection.query(query, logger: logger).decode(String.self) { lines.append(line) }
                return lines
            }
        }
    }

    /// A sink's documents in window order, through the sink's custom index when one serves the
    /// hints: as for readings, the rows whose key meets them and those keyed with the sentinel
    /// (disjoint), both arms on the same parameters.
    static func sinkQuery(_ connection: PostgresConnection, organizationID: String, pipelineID: String, hints: [DataHint], logger: Logger)
        async throws -> PostgresQuery
    {
        var binds = PostgresBindings()
        func bind<T: PostgresEncodable>(_ value: T) -> String {
            try! binds.append(value)  // strings always encode
            return "$\(binds.count)"
        }
        let arm = "SELECT document, id, window_start, position FROM sink_documents WHERE organization_id = \(bind(organizationID)) AND pipeline_id = \(bind(pipelineID))"
        var sql = arm
        if !hints.isEmpty,
            let (index, hints) = StoreChecks.indexedHints(
                hints, indexes: try await indexes(connection, organizationID: organizationID, pipelineID: pipelineID, logger: logger))
        {
            let key = indexKeySQL(column: "data", path: index.paths[0])
            let hintSQL = indexedHintClauses(hints, key: key) { bind($0) }
            sql = "SELECT * FROM (\(arm) AND \(hintSQL) UNION ALL \(arm) AND \(key) = \(indexKeySentinelSQL)) AS indexed"
        }
        return PostgresQuery(unsafeSQL: sql + " ORDER BY window_start, position", binds: binds)
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
