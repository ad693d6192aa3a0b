import FerryStore
import Foundation
import GRDB

extension SQLiteReadingStore {
    public func createOrganization(name: String, now: Date) async throws -> Organization {
        let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw StoreError.invalid("an organisation needs a non-empty name") }
        let organization = Organization(id: UUID().uuidString.lowercased(), name: trimmed, createdAt: now.milliseconds)
        try await write("creating organisation \(trimmed.debugDescription)") { db in
            try db.execute(
                sql: "INSERT INTO organizations (id, name, created_at) VALUES (?, ?, ?)",
                arguments: [organization.id, organization.name, organization.createdAt])
        }
        logger.info("organisation created", metadata: ["organization": "\(organization.id)"])
        return organization
    }

    public func organization(id: String) async throws -> Organization? {
        try await read("looking up organisation \(id)") { db in
            try Row.fetchOne(db, sql: "SELECT id, name, created_at FROM organizations WHERE id = ?", arguments: [id])
                .map { Organization(id: $0[0], name: $0[1], createdAt: $0[2]) }
        }
    }

    public func organizations() async throws -> [Organization] {
        try await read("listing organisations") { db in
            try Row.fetchAll(db, sql: "SELECT id, name, created_at FROM organizations ORDER BY created_at, id")
                .map { Organization(id: $0[0], name: $0[1], createdAt: $0[2]) }
        }
    }

    public func createAPIKey(
        organizationID: String, role: APIKeyRole, name: String, scope: MachineScope, now: Date
    ) async throws -> NewAPIKey {
        let secret = KeyHashing.newSecret()
        let rounds = configuration.apiKeyHashRounds
        let hash = try await Offload.run { try KeyHashing.hash(secret: secret, rounds: rounds) }
        let info = APIKeyInfo(
            id: UUID().uuidString.lowercased(), organizationID: organizationID, role: role, name: name, scope: scope,
            createdAt: now.milliseconds, revokedAt: nil)
        try await write("creating an API key for organisation \(organizationID)") { db in
            try Self.requireOrganization(db, organizationID)
            try db.execute(
                sql: """
                    INSERT INTO api_keys (id, organization_id, role, name, secret_hash, created_at, location_id, robot_id)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    info.id, info.organizationID, info.role.rawValue, info.name, hash, info.createdAt, scope.locationID,
                    scope.robotID,
                ])
        }
        logger.info("API key created", metadata: ["key": "\(info.id)", "organization": "\(organizationID)", "role": "\(role)"])
        return NewAPIKey(info: info, secret: secret)
    }

    public func verifyAPIKey(id: String, secret: String) async throws -> APIKeyIdentity? {
        let keyID = id.lowercased()
        // Real secrets are 32 characters; refusing huge ones keeps hashing cost bounded.
        guard secret.utf8.count <= 1_024, keyID.utf8.count <= 128 else { return nil }
        let found = try await read("verifying API key \(keyID)") { db -> (String, String, String, Bool, MachineScope)? in
            try Row.fetchOne(
                db, sql: "SELECT organization_id, role, secret_hash, revoked_at, location_id, robot_id FROM api_keys WHERE id = ?",
                arguments: [keyID]
            ).map { row in (row[0], row[1], row[2], row[3] as Int64? != nil, MachineScope(locationID: row[4], robotID: row[5])) }
        }
        let rounds = configuration.apiKeyHashRounds
        guard let (organizationID, roleName, stored, revoked, scope) = found else {
            // Same cost as a real check, so timing does not reveal which key ids exist.
            try await Offload.run { KeyHashing.verifyAgainstNothing(secret: secret, rounds: rounds) }
            return nil
        }
        let matches = try await Offload.run { KeyHashing.verify(secret: secret, stored: stored) }
        guard matches, !revoked, let role = APIKeyRole(rawValue: roleName) else { return nil }
        return APIKeyIdentity(keyID: keyID, organizationID: organizationID, role: role, scope: scope)
    }

    public func apiKeys(organizationID: String) async throws -> [APIKeyInfo] {
        try await read("listing API keys of organisation \(organizationID)") { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT id, organization_id, role, name, created_at, revoked_at, location_id, robot_id FROM api_keys
                    WHERE organization_id = ? ORDER BY created_at, id
                    """,
                arguments: [organizationID]
            ).map { row in
                APIKeyInfo(
                    id: row[0], organizationID: row[1], role: APIKeyRole(rawValue: row[2]) ?? .viewer, name: row[3],
                    scope: MachineScope(locationID: row[6], robotID: row[7]), createdAt: row[4], revokedAt: row[5])
            }
        }
    }

    public func revokeAPIKey(organizationID: String, id: String, now: Date) async throws -> Bool {
        let keyID = id.lowercased()
        let changed = try await write("revoking API key \(keyID)") { db in
            try db.execute(
                sql: "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND organization_id = ? AND revoked_at IS NULL",
                arguments: [now.milliseconds, keyID, organizationID])
            return db.changesCount
        }
        if changed > 0 { logger.info("API key revoked", metadata: ["key": "\(keyID)", "organization": "\(organizationID)"]) }
        return changed > 0
    }

    public func isAPIKeyActive(id: String) async throws -> Bool {
        let keyID = id.lowercased()
        return try await read("checking API key \(keyID)") { db in
            try Bool.fetchOne(db, sql: "SELECT revoked_at IS NULL FROM api_keys WHERE id = ?", arguments: [keyID]) ?? false
        }
    }

    /// Throws `.notFound` unless the organisation exists.
    static func requireOrganization(_ db: Database, _ organizationID: String) throws {
        guard try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM organizations WHERE id = ?"), arguments: [organizationID]) == true
        else { throw StoreChecks.noSuchOrganization(organizationID) }
    }
}

