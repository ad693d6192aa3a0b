import FerryStore
import Foundation
import PostgresNIO

extension PostgresStore {
    /// One statement, so replicas configuring the same user at once leave one consistent row.
    public func configureDatabaseUser(organizationID: String, credential: DatabaseUserCredential, mayInsert: Bool?, now: Date)
        async throws -> DatabaseUser
    {
        try StoreChecks.validate(credential)
        let at = now.milliseconds
        let rows = try await rows(
            "configuring the database user of organisation \(organizationID)",
            """
            INSERT INTO database_users (organization_id, salt, iterations, stored_key, server_key, may_insert, created_at, updated_at)
            SELECT \(organizationID), \(credential.salt.byteBuffer), \(Int64(credential.iterations)), \(credential.storedKey.byteBuffer),
                \(credential.serverKey.byteBuffer), COALESCE(\(mayInsert)::boolean, false), \(at), \(at)
            WHERE EXISTS (SELECT 1 FROM organizations WHERE id = \(organizationID))
            ON CONFLICT (organization_id) DO UPDATE SET salt = excluded.salt, iterations = excluded.iterations,
                stored_key = excluded.stored_key, server_key = excluded.server_key,
                may_insert = COALESCE(\(mayInsert)::boolean, database_users.may_insert), updated_at = excluded.updated_at
            RETURNING may_insert, created_at
            """)
        guard let row = rows.first else { throw StoreChecks.noSuchOrganization(organizationID) }
        let (insert, created) = try row.decode((Bool, Int64).self)
        logger.info("database user configured", metadata: ["organization": "\(organizationID)", "may_insert": "\(insert)"])
        return DatabaseUser(organizationID: organizationID, credential: credential, mayInsert: insert, createdAt: created, updatedAt: at)
    }

    public func databaseUser(organizationID: String) async throws -> DatabaseUser? {
        try await rows(
            "looking up the database user of organisation \(organizationID)",
            """
            SELECT salt, iterations, stored_key, server_key, may_insert, created_at, updated_at FROM database_users
            WHERE organization_id = \(organizationID)
            """
        ).first.map { row in
            let (salt, iterations, storedKey, serverKey, insert, created, updated) = try row.decode(
                (ByteBuffer, Int64, ByteBuffer, ByteBuffer, Bool, Int64, Int64).self)
            return DatabaseUser(
                organizationID: organizationID,
                credential: DatabaseUserCredential(
                    salt: salt.bytes, iterations: Int(iterations), storedKey: storedKey.bytes, serverKey: serverKey.bytes),
                mayInsert: insert, createdAt: created, updatedAt: updated)
        }
    }

    public func recordDatabaseEndpoint(_ endpoint: DatabaseEndpoint) async throws {
        try await rows(
            "recording the MongoDB endpoint",
            """
            INSERT INTO store_meta (key, value) VALUES ('mongo_endpoint', \("\(endpoint.tls ? "tls" : "plain") \(endpoint.address)"))
            ON CONFLICT (key) DO UPDATE SET value = excluded.value
            """)
    }

    public func databaseEndpoint() async throws -> DatabaseEndpoint? {
        guard let text = try await rows("reading the MongoDB endpoint", "SELECT value FROM store_meta WHERE key = 'mongo_endpoint'")
            .first?.decode(String.self)
        else { return nil }
        let parts = text.split(separator: " ", maxSplits: 1)
        guard parts.count == 2 else { return nil }
        return DatabaseEndpoint(address: String(parts[1]), tls: parts[0] == "tls")
    }
}
