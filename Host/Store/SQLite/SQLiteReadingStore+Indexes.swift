import FerryBSON
import FerryStore
import Foundation
import GRDB

/// Custom indexes on readings. Each is an expression index on `ferry_index_key(data, 'path')` after
/// `organization_id`, on `readings` and on `hot_readings` (the two sources MQL reads), shared by
/// every organisation whose index has the same paths; `data_indexes` records who asked for which.
/// An index on a pipeline's sink is the same kind of expression index on `sink_documents`, after
/// `organization_id` and `pipeline_id`, on paths of the result documents.
extension SQLiteReadingStore {
    /// The tables a custom index is built on.
    static let indexedTables = ["readings", "hot_readings"]

    /// The tables an index of the hot store (`pipelineID` empty) or of a sink is built on, with
    /// the columns leading it and the document column its keys read.
    static func indexTargets(pipelineID: String) -> [(table: String, leading: String, column: String)] {
        pipelineID.isEmpty
            ? indexedTables.map { ($0, "organization_id", "data") }
            : [("sink_documents", "organization_id, pipeline_id", "document")]
    }

    public func createIndex(_ index: DataIndex) async throws {
        let targets = Self.indexTargets(pipelineID: index.pipelineID)
        let physical = StoreChecks.physicalIndexName(table: index.pipelineID.isEmpty ? "readings" : targets[0].table, paths: index.paths)
        try await write("creating index \(index.name.debugDescription)") { db in
            try Self.requireOrganization(db, index.organizationID)
            if !index.pipelineID.isEmpty {
                let known = try Bool.fetchOne(
                    db, sql: "SELECT EXISTS (SELECT 1 FROM pipelines WHERE organization_id = ? AND id = ?)",
                    arguments: [index.organizationID, index.pipelineID]) ?? false
                guard known else { throw StoreError(.notFound, "organisation \(index.organizationID) has no pipeline \(index.pipelineID)") }
            }
            for existing in try Self.indexes(db, organizationID: index.organizationID, pipelineID: index.pipelineID)
            where existing.name == index.name || existing.paths == index.paths {
                throw StoreChecks.duplicateIndex(index, existing: existing)
            }
            try db.execute(
                sql: "INSERT INTO data_indexes (organization_id, pipeline_id, name, spec, physical, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                arguments: [index.organizationID, index.pipelineID, index.name, index.spec.extendedJSON(.canonical), physical, index.createdAt])
            for target in targets {
                let keys = index.paths.map { Self.indexKeySQL(column: target.column, path: $0) }.joined(separator: ", ")
                try db.execute(
                    sql: """
                        CREATE INDEX IF NOT EXISTS \(StoreChecks.physicalIndexName(table: target.table, paths: index.paths)) \
                        ON \(target.table) (\(target.leading), \(keys))
                        """)
            }
        }
    }

    public func indexes(organizationID: String, pipelineID: String) async throws -> [DataIndex] {
        try await read("listing the indexes of organisation \(organizationID)") { db in
            try Self.indexes(db, organizationID: organizationID, pipelineID: pipelineID)
        }
    }

    public func deleteIndex(organizationID: String, pipelineID: String, name: String) async throws -> Bool {
        try await write("deleting index \(name.debugDescription)") { db in
            guard let index = try Self.indexes(db, organizationID: organizationID, pipelineID: pipelineID).first(where: { $0.name == name })
            else { return false }
            try Self.deleteIndex(db, index)
            return true
        }
    }

    /// Deletes the record, and the physical index when no other record uses it.
    static func deleteIndex(_ db: Database, _ index: DataIndex) throws {
        try db.execute(
            sql: "DELETE FROM data_indexes WHERE organization_id = ? AND pipeline_id = ? AND name = ?",
            arguments: [index.organizationID, index.pipelineID, index.name])
        let targets = indexTargets(pipelineID: index.pipelineID)
        let physical = StoreChecks.physicalIndexName(table: index.pipelineID.isEmpty ? "readings" : targets[0].table, paths: index.paths)
        let users = try Int.fetchOne(db, sql: "SELECT count(*) FROM data_indexes WHERE physical = ?", arguments: [physical]) ?? 0
        if users == 0 {
            for target in targets {
                try db.execute(sql: "DROP INDEX IF EXISTS \(StoreChecks.physicalIndexName(table: target.table, paths: index.paths))")
            }
        }
    }

    static func indexes(_ db: Database, organizationID: String, pipelineID: String = "") throws -> [DataIndex] {
        try indexes(
            db, sql: "WHERE organization_id = ? AND pipeline_id = ? ORDER BY created_at, name", arguments: [organizationID, pipelineID])
    }

    public func allIndexes() async throws -> [DataIndex] {
        try await read("listing every custom index") { db in
            try Self.indexes(db, sql: "ORDER BY organization_id, pipeline_id, name", arguments: [])
        }
    }

    private static func indexes(_ db: Database, sql: String, arguments: StatementArguments) throws -> [DataIndex] {
        try Row.fetchAll(
            db, sql: "SELECT organization_id, pipeline_id, name, spec, created_at FROM data_indexes \(sql)", arguments: arguments
        ).map { row in
            let spec: String = row["spec"]
            do {
                return try StoreChecks.dataIndex(
                    spec: BSONDocument(extendedJSON: spec), organizationID: row["organization_id"], pipelineID: row["pipeline_id"],
                    createdAt: row["created_at"])
            } catch {
                throw StoreError(.storage, "the stored index \((row["name"] as String).debugDescription) cannot be read (\(error)); delete it and create it again")
            }
        }
    }

    public func sinkDocuments(organizationID: String, pipelineID: String, hints: [DataHint]) async throws -> [BSONDocument] {
        try await read("reading results of pipeline \(pipelineID)") { db in
            let (sql, arguments) = try Self.sinkQuery(db, organizationID: organizationID, pipelineID: pipelineID, hints: hints)
            let rows = try Row.fetchCursor(db, sql: sql, arguments: arguments)
            var documents: [BSONDocument] = []
            while let row = try rows.next() {
                documents.append(try ReadingDecoding.bson(row, 0, idIndex: 1))
            }
            return documents
        }
    }

    /// EXPLAIN QUERY PLAN of `sinkDocuments(…hints:)`, one line per step (for tests and diagnosis).
    public func sinkQueryPlan(organizationID: String, pipelineID: String, hints: [DataHint]) async throws -> [String] {
        try await read("explaining a sink query") { db in
            let (sql, arguments) = try Self.sinkQuery(db, organizationID: organizationID, pipelineID: pipelineID, hints: hints)
            return try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql, arguments: arguments).map { $0["detail"] }
        }
    }

    /// A sink's documents in window order, through the sink's custom index when one serves the
    /// hints: as for readings, the rows whose key meets them and those keyed with the sentinel
    /// (disjoint), each a seek.
    static func sinkQuery(_ db: Database, organizationID: String, pipelineID: String, hints: [DataHint]) throws
        -> (sql: String, arguments: StatementArguments)
    {
        let arm = "SELECT document, id, window_start, position FROM sink_documents WHERE organization_id = ? AND pipeline_id = ?"
        var sql = arm
        var arguments: StatementArguments = [organizationID, pipelineID]
        if !hints.isEmpty,
            let (index, hints) = StoreChecks.indexedHints(hints, indexes: try indexes(db, organizationID: organizationID, pipelineID: pipelineID))
        {
            let key = indexKeySQL(column: "document", path: index.paths[0])
            let (hintSQL, hintArguments) = indexedHintClauses(hints, key: key)
            // INDEXED BY: for the sentinel's arm SQLite would otherwise prefer the window index,
            // which gives the order but reads the whole sink.
            let indexed = arm.replacingOccurrences(
                of: "FROM sink_documents", with: "FROM sink_documents INDEXED BY \(StoreChecks.physicalIndexName(table: "sink_documents", paths: index.paths))")
            sql = "SELECT * FROM (\(indexed) AND \(hintSQL) UNION ALL \(indexed) AND \(key) = \(SQLiteBSONFunctions.indexKeySentinelSQL))"
            arguments = arguments + hintArguments + arguments
        }
        return (sql + " ORDER BY window_start, position", arguments)
    }

    /// `ferry_index_key(column, 'a.b')`: the indexed expression, textually the same in the index
    /// and in queries (SQLite matches expression indexes by their text).
    static func indexKeySQL(column: String, path: [String]) -> String {
        "ferry_index_key(\(column), '\(path.joined(separator: ".").replacingOccurrences(of: "'", with: "''"))')"
    }

    /// The conditions on the index key for `hints` (all on one path): a row whose key meets them
    /// may match, as may every row keyed with the sentinel. Numbers sort below text and blobs in
    /// SQLite, so a lower bound also keeps the key below '' (the least text).
    static func indexedHintClauses(_ hints: [DataHint], key: String) -> (sql: String, arguments: StatementArguments) {
        var clauses: [String] = []
        var arguments = StatementArguments()
        for hint in hints {
            switch hint.test {
            case .oneOf(let values):
                clauses.append("\(key) IN (\(Array(repeating: "?", count: values.count).joined(separator: ", ")))")
                for value in values { arguments += [databaseValue(value)] }
            case .compare(let comparison, let value):
                clauses.append("\(key) \(comparison.rawValue) ?")
                arguments += [databaseValue(value)]
                if comparison == .greaterThan || comparison == .atLeast { clauses.append("\(key) < ''") }
            }
        }
        return (clauses.joined(separator: " AND "), arguments)
    }

    static func databaseValue(_ value: DataIndexValue) -> DatabaseValue {
        switch value {
        case .int(let n): n.databaseValue
        case .double(let d): d.databaseValue
        case .string(let s): s.databaseValue
        }
    }
}
