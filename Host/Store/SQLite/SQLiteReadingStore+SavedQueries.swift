import FerryBSON
import FerryStore
import Foundation
import GRDB

/// Saved queries, one row each; names unique per organisation by the table's constraint, checked
/// first so that the refusal can name the clash.
extension SQLiteReadingStore {
    static let savedQueryColumns = "id, organization_id, name, stages, created_at, updated_at"

    public func createSavedQuery(_ query: SavedQuery) async throws {
        try StoreChecks.validate(savedQueryName: query.name, stages: query.stages)
        try await write("creating saved query \(query.name.debugDescription)") { db in
            try Self.requireOrganization(db, query.organizationID)
            try Self.requireFreeSavedQueryName(db, query.name, organizationID: query.organizationID, except: nil)
            try db.execute(
                sql: "INSERT INTO saved_queries (\(Self.savedQueryColumns)) VALUES (?, ?, ?, ?, ?, ?)",
                arguments: [query.id, query.organizationID, query.name, query.stagesJSON, query.createdAt, query.updatedAt])
        }
    }

    public func savedQuery(id: String, organizationID: String) async throws -> SavedQuery? {
        try await read("reading saved query \(id)") { db in
            try Row.fetchOne(
                db, sql: "SELECT \(Self.savedQueryColumns) FROM saved_queries WHERE organization_id = ? AND id = ?", arguments: [organizationID, id]
            ).map(Self.savedQuery)
        }
    }

    public func savedQuery(named name: String, organizationID: String) async throws -> SavedQuery? {
        try await read("reading saved query \(name.debugDescription)") { db in
            try Row.fetchOne(
                db, sql: "SELECT \(Self.savedQueryColumns) FROM saved_queries WHERE organization_id = ? AND name = ?",
                arguments: [organizationID, name]
            ).map(Self.savedQuery)
        }
    }

    public func savedQueries(organizationID: String, limit: Int?) async throws -> [SavedQuery] {
        try await read("listing saved queries of organisation \(organizationID)") { db in
            try Row.fetchAll(
                db, sql: "SELECT \(Self.savedQueryColumns) FROM saved_queries WHERE organization_id = ? ORDER BY created_at, id LIMIT ?",
                arguments: [organizationID, limit ?? -1]
            ).map(Self.savedQuery)
        }
    }

    public func updateSavedQuery(id: String, organizationID: String, name: String, stages: [BSONDocument], updatedAt: Int64) async throws -> Bool {
        try StoreChecks.validate(savedQueryName: name, stages: stages)
        let json = SavedQuery(id: id, organizationID: organizationID, name: name, stages: stages, createdAt: 0, updatedAt: updatedAt).stagesJSON
        return try await write("updating saved query \(id)") { db in
            try Self.requireFreeSavedQueryName(db, name, organizationID: organizationID, except: id)
            try db.execute(
                sql: "UPDATE saved_queries SET name = ?, stages = ?, updated_at = ? WHERE organization_id = ? AND id = ?",
                arguments: [name, json, updatedAt, organizationID, id])
            return db.changesCount > 0
        }
    }

    public func deleteSavedQuery(id: String, organizationID: String) async throws -> Bool {
        try await write("deleting saved query \(id)") { db in
            try db.execute(sql: "DELETE FROM saved_queries WHERE organization_id = ? AND id = ?", arguments: [organizationID, id])
            return db.changesCount > 0
        }
    }

    static func requireFreeSavedQueryName(_ db: Database, _ name: String, organizationID: String, except id: String?) throws {
        let holder = try String.fetchOne(
            db, sql: "SELECT id FROM saved_queries WHERE organization_id = ? AND name = ?", arguments: [organizationID, name])
        if let holder, holder != id { throw StoreChecks.duplicateSavedQueryName(name, organizationID: organizationID) }
    }

    static func savedQuery(_ row: Row) throws -> SavedQuery {
        SavedQuery(
            id: row["id"], organizationID: row["organization_id"], name: row["name"], stages: try SavedQuery.stages(json: row["stages"]),
            createdAt: row["created_at"], updatedAt: row["updated_at"])
    }
}
