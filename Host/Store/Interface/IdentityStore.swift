import Foundation

/// Organisations, API keys and the secret that signs bearer tokens: everything that says who a
/// caller is. On a shared database every server reads the same rows, so a key made or revoked
/// through one replica counts on all of them, and a token one replica issued verifies on another.
public protocol IdentityStore: Sendable {
    func createOrganization(name: String, now: Date) async throws -> Organization
    func organization(id: String) async throws -> Organization?
    func organizations() async throws -> [Organization]
    /// Creates a key; its secret is returned once and only a salted hash is kept.
    func createAPIKey(organizationID: String, role: APIKeyRole, name: String, scope: MachineScope, now: Date) async throws
        -> NewAPIKey
    /// The key's organisation, role and machine scope, or nil for an unknown id, a wrong secret or a revoked key.
    func verifyAPIKey(id: String, secret: String) async throws -> APIKeyIdentity?
    func apiKeys(organizationID: String) async throws -> [APIKeyInfo]
    /// False if the organisation has no such valid key.
    func revokeAPIKey(organizationID: String, id: String, now: Date) async throws -> Bool
    /// Whether a key exists and is not revoked (checked for tokens issued before a revocation).
    func isAPIKeyActive(id: String) async throws -> Bool
    /// The 32-byte key that signs bearer tokens, made on first use and kept by the store, so
    /// tokens survive restarts and every server on the same store accepts every other's tokens.
    func tokenSigningKey() async throws -> [UInt8]

    // MARK: Database users (the MongoDB endpoint)
    /// Creates the organisation's database user or replaces its password; `mayInsert` nil keeps
    /// the user's insert permission (false for a new user). Throws `.notFound` for an unknown organisation.
    func configureDatabaseUser(organizationID: String, credential: DatabaseUserCredential, mayInsert: Bool?, now: Date)
        async throws -> DatabaseUser
    func databaseUser(organizationID: String) async throws -> DatabaseUser?
    /// Records where clients reach the MongoDB endpoint (the server does, when it starts listening).
    func recordDatabaseEndpoint(_ endpoint: DatabaseEndpoint) async throws
    func databaseEndpoint() async throws -> DatabaseEndpoint?
}

extension IdentityStore {
    public func createOrganization(name: String) async throws -> Organization {
        try await createOrganization(name: name, now: Date())
    }

    public func createAPIKey(
        organizationID: String, role: APIKeyRole, name: String = "", scope: MachineScope = .none
    ) async throws -> NewAPIKey {
        try await createAPIKey(organizationID: organizationID, role: role, name: name, scope: scope, now: Date())
    }

    public func configureDatabaseUser(organizationID: String, credential: DatabaseUserCredential, mayInsert: Bool? = nil)
        async throws -> DatabaseUser
    {
        try await configureDatabaseUser(organizationID: organizationID, credential: credential, mayInsert: mayInsert, now: Date())
    }

    public func revokeAPIKey(organizationID: String, id: String) async throws -> Bool {
        try await revokeAPIKey(organizationID: organizationID, id: id, now: Date())
    }
}
