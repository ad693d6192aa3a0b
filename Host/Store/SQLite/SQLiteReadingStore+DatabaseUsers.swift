import FerryStore
import Foundation
import GRDB

extension SQLiteReadingStore {
    public func configureDatabaseUser(organizationID: String, credential: DatabaseUserCredential, mayInsert: Bool?, now: Date)
        async throws -> DatabaseUser
    {
        try StoreChecks.validate(credential)
        let user = try await write("configuring the database user of organisation \(organizationID)") { db -> DatabaseUser in
            try Self.requireOrganization(db, organizationID)
            let existing = try Row.fetchOne(
                db, sql: "SELECT may_insert, created_at FROM database_users WHERE organization_id = ?", arguments: [organizationID])
            let insert = mayInsert ?? existing.map { $0[0] as Bool } ?? false
            let created: Int64 = existing?[1] ?? now.milliseconds
            try db.execute(
                sql: """
                    INSERT INTO database_users (organization_id, salt, iterations, stored_key, server_key, may_insert, created_at, updated_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (organization_id) DO UPDATE SET salt = excluded.salt, iterations = excluded.iterations,
                        stored_key = excluded.stored_key, server_key = excluded.server_key, may_insert = excluded.may_insert,
                        updated_at = excluded.updated_at
                    """,
                arguments: [
                    organizationID, Data(credential.salt), credential.iterations, Data(credential.storedKey),
                    Data(credential.serverKey), insert, created, now.milliseconds,
                ])
            return DatabaseUser(
                organizationID: organizationID, credential: credential, mayInsert: insert, createdAt: created, updatedAt: now.milliseconds)
        }
        logger.info(
            "database user configured", metadata: ["organization": "\(organizationID)", "may_insert": "\(user.mayInsert)"])
        return user
    }

    public func databaseUser(organizationID: String) async throws -> DatabaseUser? {
        try await read("looking up the database user of organisation \(organizationID)") { db in
            try Row.fetchOne(
                db,
                sql: """
                    SELECT salt, iterations, stored_key, server_key, may_insert, created_at, updated_at FROM database_users
                    WHERE organization_id = ?
                    """,
                arguments: [organizationID]
            ).map { row in
                DatabaseUser(
                    organizationID: organizationID,
                    credential: DatabaseUserCredential(
                        salt: [UInt8](row[0] as Data), iterations: row[1], storedKey: [UInt8](row[2] as Data),
                        serverKey: [UInt8](row[3] as Data)),
                    mayInsert: row[4], createdAt: row[5], updatedAt: row[6])
            }
        }
    }

    public func recordDatabaseEndpoint(_ endpoint: DatabaseEndpoint) async throws {
        try await write("recording the MongoDB endpoint") { db in
            try db.execute(
                sql: "INSERT INTO store_meta (key, value) VALUES ('mongo_endpoint', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                arguments: ["\(endpoint.tls ? "tls" : "plain") \(endpoint.address)"])
        }
    }

    public func databaseEndpoint() async throws -> DatabaseEndpoint? {
        try await read("reading the MongoDB endpoint") { db in
            guard let text = try String.fetchOne(db, sql: "SELECT value FROM store_meta WHERE key = 'mongo_endpoint'") else { return nil }
            let parts = text.split(separator: " ", maxSplits: 1)
            guard parts.count == 2 else { return nil }
            return DatabaseEndpoint(address: String(parts[1]), tls: parts[0] == "tls")
        }
    }
}
