import FerryBSON
import FerryStore
import Foundation
import PostgresNIO

/// Saved queries, one row each; names unique per organisation by the table's constraint (also
/// between replicas saving the same name at once), reported as `.alreadyExists`.
extension PostgresStore {
    static let savedQueryColumns = "id, organization_id, name, stages, created_at, updated_at"

    public func createSavedQuery(_ query: SavedQuery) async throws {
        try StoreChecks.validate(savedQueryName: query.name, stages: query.stages)
        let inserted = try await mapErrors("creating saved query \(query.name.debugDescription)") {
            try await Self.uniqueSavedQueryName(query.name, organizationID: query.organizationID) {
                try await client.query(
                """
                INSERT INTO saved_queries (id, organization_id, name, stages, created_at, updated_at)
                SELECT \(query.id), \(query.organizationID), \(query.name), \(query.stagesJSON), \(query.createdAt), \(query.updatedAt)
                WHERE EXISTS (SELECT 1 FROM organizations WHERE id = \(query.organizationID))
                RETURNING 1
                """, logger: logger
                ).collect()
            }
        }
        if inserted.isEmpty { throw StoreChecks.noSuchOrganization(query.organizationID) }
    }

    public func savedQuery(id: String, organizationID: String) async throws -> SavedQuery? {
        try await rows(
            "reading saved query \(id)",
            "SELECT id, organization_id, name, stages, created_at, updated_at FROM saved_queries WHERE organization_id = \(organizationID) AND id = \(id)"
        ).first.map(Self.savedQuery)
    }

    public func savedQuery(named name: String, organizationID: String) async throws -> SavedQuery? {
        try await rows(
            "reading saved query \(name.debugDescription)",
            "SELECT id, organization_id, name, stages, created_at, updated_at FROM saved_queries WHERE organization_id = \(organizationID) AND name = \(name)"
        ).first.map(Self.savedQuery)
    }

    public func savedQueries(organizationID: String, limit: Int?) async throws -> [SavedQuery] {
        try await rows(
            "listing saved queries of organisation \(organizationID)",
            """
            SELECT id, organization_id, name, stages, created_at, updated_at FROM saved_queries WHERE organization_id = \(organizationID)
            ORDER BY created_at, id COLLATE "C" LIMIT \(limit.map(Int64.init))
            """
        ).map(Self.savedQuery)
    }

    public func updateSavedQuery(id: String, organizationID: String, name: String, stages: [BSONDocument], updatedAt: Int64) async throws -> Bool {
        try StoreChecks.validate(savedQueryName: name, stages: stages)
        let json = SavedQuery(id: id, organizationID: organizationID, name: name, stages: stages, createdAt: 0, updatedAt: updatedAt).stagesJSON
        let updated = try await mapErrors("updating saved query \(id)") {
            try await Self.uniqueSavedQueryName(name, organizationID: organizationID) {
                try await client.query(
                    """
                    UPDATE saved_queries SET name = \(name), stages = \(json), updated_at = \(updatedAt)
                    WHERE organization_id = \(organizationID) AND id = \(id) RETURNING 1
                    """, logger: logger
                ).collect()
            }
        }
        return !updated.isEmpty
    }

    public func deleteSavedQuery(id: String, organizationID: String) async throws -> Bool {
        try await !rows(
            "deleting saved query \(id)", "DELETE FROM saved_queries WHERE organization_id = \(organizationID) AND id = \(id) RETURNING 1"
        ).isEmpty
    }

    /// Runs `body`, reporting a clash with the unique (organisation, name) constraint as the duplicate name.
    private static func uniqueSavedQueryName<T>(_ name: String, organizationID: String, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23505" {
            throw StoreChecks.duplicateSavedQueryName(name, organizationID: organizationID)
        }
    }

    static func savedQuery(_ row: PostgresRow) throws -> SavedQuery {
        let (id, organizationID, name, stages, createdAt, updatedAt) = try row.decode((String, String, String, String, Int64, Int64).self)
        return SavedQuery(
            id: id, organizationID: organizationID, name: name, stages: try SavedQuery.stages(json: stages), createdAt: createdAt,
            updatedAt: updatedAt)
    }
}
