import FerryBSON
import FerryStore
import Foundation
import GRDB

/// Custom indexes on readings. Each is an expression index on `ferry_index_key(data, 'path')` after
/// `organization_id`, on `readings` and on `hot_readings` (the two sources MQL reads), shared by
/// every organisation whose index has the same paths; `data_indexes` records who asked for which.
extension SQLiteReadingStore {
    /// The tables a custom index is built on.
    static let indexedTables = ["readings", "hot_readings"]

    public func createIndex(_ index: DataIndex) async throws {
        let physical = StoreChecks.physicalIndexName(table: "readings", paths: index.paths)
        try await write("creating index \(index.name.debugDescription)") { db in
            try Self.requireOrganization(db, index.organizationID)
            for existing in try Self.indexes(db, organizationID: index.organizationID)
            where existing.name == index.name || existing.paths == index.paths {
                throw StoreChecks.duplicateIndex(index, existing: existing)
            }
            try db.execute(
                sql: "INSERT INTO data_indexes (organization_id, pipeline_id, name, spec, physical, created_at) VALUES (?, '', ?, ?, ?, ?)",
                arguments: [index.organizationID, index.name, index.spec.extendedJSON(.canonical), physical, index.createdAt])
            for table in Self.indexedTables {
                let keys = index.paths.map { Self.indexKeySQL(column: "data", path: $0) }.joined(separator: ", ")
                try db.execute(
                    sql: "CREATE INDEX IF NOT EXISTS \(StoreChecks.physicalIndexName(table: table, paths: index.paths)) ON \(table) (organization_id, \(keys))")
            }
        }
    }

    public func indexes(organizationID: String) async throws -> [DataIndex] {
        try await read("listing the indexes of organisation \(organizationID)") { db in
            try Self.indexes(db, organizationID: organizationID)
        }
    }

    public func deleteIndex(organizationID: String, name: String) async throws -> Bool {
        try await write("deleting index \(name.debugDescription)") { db in
            guard let index = try Self.indexes(db, organizationID: organizationID).first(where: { $0.name == name }) else { return false }
            let physical = StoreChecks.physicalIndexName(table: "readings", paths: index.paths)
            try db.execute(
                sql: "DELETE FROM data_indexes WHERE organization_id = ? AND pipeline_id = '' AND name = ?", arguments: [organizationID, name])
            let users = try Int.fetchOne(db, sql: "SELECT count(*) FROM data_indexes WHERE physical = ?", arguments: [physical]) ?? 0
            if users == 0 {
                for table in Self.indexedTables {
                    try db.execute(sql: "DROP INDEX IF EXISTS \(StoreChecks.physicalIndexName(table: table, paths: index.paths))")
                }
            }
            return true
        }
    }

    static func indexes(_ db: Database, organizationID: String) throws -> [DataIndex] {
        try Row.fetchAll(
            db, sql: "SELECT name, spec, created_at FROM data_indexes WHERE organization_id = ? AND pipeline_id = '' ORDER BY created_at, name",
            arguments: [organizationID]
        ).map { row in
            let spec: String = row["spec"]
            do {
                return try StoreChecks.dataIndex(spec: BSONDocument(extendedJSON: spec), organizationID: organizationID, createdAt: row["created_at"])
            } catch {
                throw StoreError(.storage, "the stored index \((row["name"] as String).debugDescription) cannot be read (\(error)); delete it and create it again")
            }
        }
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
