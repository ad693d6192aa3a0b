import Crypto
import FerryBSON
import FerryStore
import Foundation
import PostgresNIO

extension PostgresStore {
    public func createOrganization(name: String, now: Date) async throws -> Organization {
        let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw StoreError.invalid("an organisation needs a non-empty name") }
        try StoreChecks.validate(text: trimmed, what: "an organisation name")
        let organization = Organization(id: UUID().uuidString.lowercased(), name: trimmed, createdAt: now.milliseconds)
        try await rows(
            "creating organisation \(trimmed.debugDescription)",
            "INSERT INTO organizations (id, name, created_at) VALUES (\(organization.id), \(organization.name), \(organization.createdAt))")
        logger.info("organisation created", metadata: ["organization": "\(organization.id)"])
        return organization
    }

    public func organization(id: String) async throws -> Organization? {
        try await rows("looking up organisation \(id)", "SELECT id, name, created_at FROM organizations WHERE id = \(id)")
            .first.map(Self.organization)
    }

    public func organizations() async throws -> [Organization] {
        try await rows("listing organisations", "SELECT id, name, created_at FROM organizations ORDER BY created_at, id")
            .map(Self.organization)
    }

    static func organization(_ row: PostgresRow) throws -> Organization {
        let (id, name, created) = try row.decode((String, String, Int64).self)
        return Organization(id: id, name: name, createdAt: created)
    }

    public func createAPIKey(
        organizationID: String, role: APIKeyRole, name: String, scope: MachineScope, now: Date
    ) async throws -> NewAPIKey {
        try StoreChecks.validate(text: name, what: "a key name")
        let secret = KeyHashing.newSecret()
        let rounds = options.apiKeyHashRounds
        let hash = try await Offload.run { try KeyHashing.hash(secret: secret, rounds: rounds) }
        let info = APIKeyInfo(
            id: UUID().uuidString.lowercased(), organizationID: organizationID, role: role, name: name, scope: scope,
            createdAt: now.milliseconds, revokedAt: nil)
        let inserted = try await rows(
            "creating an API key for organisation \(organizationID)",
            """
            INSERT INTO api_keys (id, organization_id, role, name, secret_hash, created_at, location_id, robot_id)
            SELECT \(info.id), \(organizationID), \(role.rawValue), \(name), \(hash), \(info.createdAt), \(scope.locationID), \(scope.robotID)
            WHERE EXISTS (SELECT 1 FROM organizations WHERE id = \(organizationID))
            RETURNING id
            """)
        guard !inserted.isEmpty else { throw StoreChecks.noSuchOrganization(organizationID) }
        logger.info("API key created", metadata: ["key": "\(info.id)", "organization": "\(organizationID)", "role": "\(role)"])
        return NewAPIKey(info: info, secret: secret)
    }

    public func verifyAPIKey(id: String, secret: String) async throws -> APIKeyIdentity? {
        let keyID = id.lowercased()
        // Real secrets are 32 characters; refusing huge ones keeps hashing cost bounded.
        guard secret.utf8.count <= 1_024, keyID.utf8.count <= 128, !keyID.utf8.contains(0) else { return nil }
        let found = try await rows(
            "checking API key \(keyID)",
            "SELECT organization_id, role, secret_hash, revoked_at IS NOT NULL, location_id, robot_id FROM api_keys WHERE id = \(keyID)"
        ).first
        let rounds = options.apiKeyHashRounds
        guard let found else {
            // Same cost as a real check, so timing does not reveal which key ids exist.
            try await Offload.run { KeyHashing.verifyAgainstNothing(secret: secret, rounds: rounds) }
            return nil
        }
        let (organizationID, roleName, stored, revoked, location, robot) = try found.decode(
            (String, String, String, Bool, String, String).self)
        let matches = try await Offload.run { KeyHashing.verify(secret: secret, stored: stored) }
        guard matches, !revoked, let role = APIKeyRole(rawValue: roleName) else { return nil }
        return APIKeyIdentity(
            keyID: keyID, organizationID: organizationID, role: role, scope: MachineScope(locationID: location, robotID: robot))
    }

    public func apiKeys(organizationID: String) async throws -> [APIKeyInfo] {
        try await rows(
            "listing API keys of organisation \(organizationID)",
            """
            SELECT id, organization_id, role, name, created_at, revoked_at, location_id, robot_id FROM api_keys
            WHERE organization_id = \(organizationID) ORDER BY created_at, id
            """
        ).map { row in
            let (id, org, role, name, created, revoked, location, robot) = try row.decode(
                (String, String, String, String, Int64, Int64?, String, String).self)
            return APIKeyInfo(
                id: id, organizationID: org, role: APIKeyRole(rawValue: role) ?? .viewer, name: name,
                scope: MachineScope(locationID: location, robotID: robot), createdAt: created, revokedAt: revoked)
        }
    }

    public func revokeAPIKey(organizationID: String, id: String, now: Date) async throws -> Bool {
        let keyID = id.lowercased()
        let changed = try await rows(
            "revoking API key \(keyID)",
            """
            UPDATE api_keys SET revoked_at = \(now.milliseconds)
            WHERE id = \(keyID) AND organization_id = \(organizationID) AND revoked_at IS NULL RETURNING id
            """)
        if !changed.isEmpty { logger.info("API key revoked", metadata: ["key": "\(keyID)", "organization": "\(organizationID)"]) }
        return !changed.isEmpty
    }

    public func isAPIKeyActive(id: String) async throws -> Bool {
        let keyID = id.lowercased()
        return try await rows("checking API key \(keyID)", "SELECT revoked_at IS NULL FROM api_keys WHERE id = \(keyID)")
            .first.map { try $0.decode(Bool.self) } ?? false
    }

    /// Made by the first server to ask. `ON CONFLICT DO NOTHING` makes replicas racing on a fresh
    /// database keep the one row written first; a loser whose statement could not see that row
    /// (it committed meanwhile) reads it with a second statement.
    public func tokenSigningKey() async throws -> [UInt8] {
        let fresh = SymmetricKey(size: .bits256).withUnsafeBytes { Hex.encode([UInt8]($0)) }
        var key = try await rows(
            "reading the token signing key",
            """
            WITH made AS (
                INSERT INTO store_meta (key, value) VALUES ('token_signing_key', \(fresh))
                ON CONFLICT (key) DO NOTHING RETURNING value
            )
            SELECT value FROM made UNION ALL SELECT value FROM store_meta WHERE key = 'token_signing_key'
            """
        ).first.map { try $0.decode(String.self) }
        if key == nil {
            key = try await rows("reading the token signing key", "SELECT value FROM store_meta WHERE key = 'token_signing_key'")
                .first.map { try $0.decode(String.self) }
        }
        guard let key, let bytes = Hex.decode(key), bytes.count == 32 else {
            throw StoreError(.storage, "the token signing key in store_meta is not 32 bytes of hex; delete that row to make a new one")
        }
        return bytes
    }
}
