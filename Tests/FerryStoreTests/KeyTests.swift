import FerryBSON
import FerryTestSupport
import Foundation
import GRDB
import StoreTestSupport
import Testing

@testable import FerryStore
@testable import FerryStoreSQLite

@Suite struct KeyTests {
    @Test(arguments: StoreBackend.all) func createAndVerify(_ backend: StoreBackend) async throws {
        let f = try await StoreFixture.make(backend)
        defer { f.remove() }
        let key = try await f.store.createAPIKey(organizationID: f.orgA, role: .operator, name: "uploader")
        #expect(UUID(uuidString: key.info.id) != nil, "key ids are UUIDs (the Viam SDK insists)")
        #expect(key.secret.count == 32)
        let identity = try await f.store.verifyAPIKey(id: key.info.id, secret: key.secret)
        #expect(identity == APIKeyIdentity(keyID: key.info.id, organizationID: f.orgA, role: .operator))
        // Key ids are UUIDs, so their case does not matter.
        #expect(try await f.store.verifyAPIKey(id: key.info.id.uppercased(), secret: key.secret) != nil)
    }

    @Test(arguments: StoreBackend.all) func aMachineKeyKeepsItsLocationAndMachine(_ backend: StoreBackend) async throws {
        let f = try await StoreFixture.make(backend)
        defer { f.remove() }
        let scope = MachineScope(locationID: "loc-north", robotID: "rover-3")
        let key = try await f.store.createAPIKey(organizationID: f.orgA, role: .operator, name: "rover", scope: scope)
        #expect(key.info.scope == scope)
        #expect(try await f.store.verifyAPIKey(id: key.info.id, secret: key.secret)?.scope == scope)
        let plain = try await f.store.createAPIKey(organizationID: f.orgA, role: .viewer)
        #expect(try await f.store.verifyAPIKey(id: plain.info.id, secret: plain.secret)?.scope == MachineScope.none)
        #expect(try await f.store.apiKeys(organizationID: f.orgA).map(\.scope) == [scope, .none])
    }

    @Test func keysMadeBeforeMachineScopesStillWorkAfterTheUpgrade() async throws {
        // A store created by a version without machine keys (migrations up to v2), holding a key.
        let directory = try TemporaryDirectory("ferry-store-upgrade")
        defer { directory.remove() }
        let path = directory.file("store.sqlite")
        let secret = "0123456789abcdef0123456789abcdef"
        do {
            let old = try DatabaseQueue(path: path)
            try SQLiteSchema.migrator.migrate(old, upTo: "v2-pipelines")
            try await old.write { db in
                try db.execute(sql: "INSERT INTO organizations (id, name, created_at) VALUES ('org', 'Old', 0)")
                try db.execute(
                    sql: "INSERT INTO api_keys (id, organization_id, role, name, secret_hash, created_at) VALUES (?, 'org', 'operator', 'old', ?, 0)",
                    arguments: ["0b8e0a52-3f7e-4c39-9d7e-1f0f5e1d2c3b", try KeyHashing.hash(secret: secret, rounds: 1_000)])
            }
        }
        let store = try SQLiteReadingStore(dataDirectory: directory.path, configuration: SQLiteReadingStore.Configuration(.testing))
        let identity = try await store.verifyAPIKey(id: "0b8e0a52-3f7e-4c39-9d7e-1f0f5e1d2c3b", secret: secret)
        #expect(identity == APIKeyIdentity(keyID: "0b8e0a52-3f7e-4c39-9d7e-1f0f5e1d2c3b", organizationID: "org", role: .operator))
        #expect(identity?.scope == MachineScope.none)
    }

    @Test(arguments: StoreBackend.all) func wrongSecretWrongIdAndMalformedIdAreRefused(_ backend: StoreBackend) async throws {
        let f = try await StoreFixture.make(backend)
        defer { f.remove() }
        let key = try await f.store.createAPIKey(organizationID: f.orgA, role: .owner)
        #expect(try await f.store.verifyAPIKey(id: key.info.id, secret: key.secret + "x") == nil)
        #expect(try await f.store.verifyAPIKey(id: key.info.id, secret: "") == nil)
        #expect(try await f.store.verifyAPIKey(id: UUID().uuidString, secret: key.secret) == nil)
        #expect(try await f.store.verifyAPIKey(id: "not-a-uuid'; DROP TABLE api_keys; --", secret: key.secret) == nil)
        #expect(try await f.store.verifyAPIKey(id: key.info.id, secret: key.secret) != nil)
    }

    @Test(arguments: StoreBackend.all) func revokedKeysStopWorkingAndOnlyTheirOrganisationCanRevoke(_ backend: StoreBackend) async throws {
        let f = try await StoreFixture.make(backend)
        defer { f.remove() }
        let key = try await f.store.createAPIKey(organizationID: f.orgA, role: .viewer)
        #expect(try await f.store.revokeAPIKey(organizationID: f.orgB, id: key.info.id) == false)
        #expect(try await f.store.verifyAPIKey(id: key.info.id, secret: key.secret) != nil)
        #expect(try await f.store.revokeAPIKey(organizationID: f.orgA, id: key.info.id) == true)
        #expect(try await f.store.revokeAPIKey(organizationID: f.orgA, id: key.info.id) == false, "already revoked")
        #expect(try await f.store.verifyAPIKey(id: key.info.id, secret: key.secret) == nil)
        let listed = try await f.store.apiKeys(organizationID: f.orgA)
        #expect(listed.count == 1)
        #expect(listed[0].revokedAt != nil)
        #expect(try await f.store.apiKeys(organizationID: f.orgB).isEmpty)
    }

    @Test(arguments: StoreBackend.all) func rolesAndListing(_ backend: StoreBackend) async throws {
        let f = try await StoreFixture.make(backend)
        defer { f.remove() }
        for role in APIKeyRole.allCases {
            let key = try await f.store.createAPIKey(organizationID: f.orgB, role: role, name: "\(role)")
            #expect(try await f.store.verifyAPIKey(id: key.info.id, secret: key.secret)?.role == role)
        }
        #expect(Set(try await f.store.apiKeys(organizationID: f.orgB).map(\.role)) == Set(APIKeyRole.allCases))
        #expect(APIKeyRole.owner.includes(.operator) && APIKeyRole.owner.includes(.viewer))
        #expect(APIKeyRole.operator.includes(.viewer) && !APIKeyRole.operator.includes(.owner))
        #expect(!APIKeyRole.viewer.includes(.operator))
    }

    @Test(arguments: StoreBackend.all) func keyForUnknownOrganisationIsRefused(_ backend: StoreBackend) async throws {
        let f = try await StoreFixture.make(backend)
        defer { f.remove() }
        let error = await storeError { _ = try await f.store.createAPIKey(organizationID: "nope", role: .owner) }
        #expect(error?.kind == .notFound)
        #expect(error?.message.contains("ferry org create") == true)
    }

    /// Reads each backend's own table to see what is stored.
    @Test(arguments: StoreBackend.all) func onlyASaltedSlowHashIsStored(_ backend: StoreBackend) async throws {
        let f = try await StoreFixture.make(backend, rounds: KeyHashing.defaultRounds)
        defer { f.remove() }
        let one = try await f.store.createAPIKey(organizationID: f.orgA, role: .owner)
        let two = try await f.store.createAPIKey(organizationID: f.orgA, role: .owner)
        let sql = "SELECT secret_hash FROM api_keys ORDER BY created_at"
        let hashes: [String]
        switch f.testStore.location {
        case .directory:
            hashes = try await DatabaseQueue(path: f.sqlite.databasePath).read { db in try String.fetchAll(db, sql: sql) }
        case .database(let url):
            hashes = try TestPostgres.psql(sql, database: TestPostgres.databaseName(of: url)).split(separator: "\n").map(String.init)
        }
        #expect(hashes.count == 2)
        for hash in hashes {
            #expect(hash.hasPrefix("pbkdf2-sha256$210000$"))
            #expect(!hash.contains(one.secret) && !hash.contains(two.secret))
        }
        #expect(hashes[0] != hashes[1])
        #expect(try await f.store.verifyAPIKey(id: one.info.id, secret: one.secret) != nil)
    }

    @Test(arguments: StoreBackend.all) func theTokenSigningKeyIsMadeOnceAndSharedByEveryConnection(_ backend: StoreBackend) async throws {
        let f = try await StoreFixture.make(backend)
        defer { f.remove() }
        let other = try await StoreFixture.make(backend)
        defer { other.remove() }
        // Two connections to a fresh store ask at once: both get the one key that was kept.
        let second = try await f.testStore.reopen()
        async let first = f.store.tokenSigningKey()
        async let racing = second.tokenSigningKey()
        let (key, raced) = try await (first, racing)
        #expect(key.count == 32)
        #expect(raced == key)
        #expect(try await f.store.tokenSigningKey() == key)
        #expect(try await f.testStore.reopen().tokenSigningKey() == key, "a restarted server keeps accepting its tokens")
        #expect(try await other.store.tokenSigningKey() != key, "another store has its own key")
    }

    @Test func sqliteKeepsTheTokenKeyInAnOwnerOnlyFile() async throws {
        let f = try await StoreFixture.make(.sqlite)
        defer { f.remove() }
        let key = try await f.store.tokenSigningKey()
        let path = f.testStore.dataDirectory! + "/token-secret"
        #expect(FileManager.default.contents(atPath: path) == Data(key), "where servers before the store seam kept it")
        let permissions = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(permissions == 0o600)
    }

    @Test func pbkdf2MatchesAPublishedVector() throws {
        // RFC 7914 §11: PBKDF2-HMAC-SHA256("passwd", "salt", c=1, dkLen=64), first 32 bytes.
        let stored = "pbkdf2-sha256$1$\(Hex.encode(Array("salt".utf8)))$55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
        #expect(KeyHashing.verify(secret: "passwd", stored: stored))
        #expect(!KeyHashing.verify(secret: "passwe", stored: stored))
        #expect(!KeyHashing.verify(secret: "passwd", stored: "garbage"))
        #expect(!KeyHashing.verify(secret: "passwd", stored: "pbkdf2-sha256$0$00$00"))
    }
}
