import FerryBSON
import Foundation
import GRDB
import Testing

@testable import FerryStore

@Suite struct KeyTests {
    @Test func createAndVerify() async throws {
        let f = try await StoreFixture.make()
        defer { f.remove() }
        let key = try await f.store.createAPIKey(organizationID: f.orgA, role: .operator, name: "uploader")
        #expect(UUID(uuidString: key.info.id) != nil, "key ids are UUIDs (the Viam SDK insists)")
        #expect(key.secret.count == 32)
        let identity = try await f.store.verifyAPIKey(id: key.info.id, secret: key.secret)
        #expect(identity == APIKeyIdentity(keyID: key.info.id, organizationID: f.orgA, role: .operator))
        // Key ids are UUIDs, so their case does not matter.
        #expect(try await f.store.verifyAPIKey(id: key.info.id.uppercased(), secret: key.secret) != nil)
    }

    @Test func wrongSecretWrongIdAndMalformedIdAreRefused() async throws {
        let f = try await StoreFixture.make()
        defer { f.remove() }
        let key = try await f.store.createAPIKey(organizationID: f.orgA, role: .owner)
        #expect(try await f.store.verifyAPIKey(id: key.info.id, secret: key.secret + "x") == nil)
        #expect(try await f.store.verifyAPIKey(id: key.info.id, secret: "") == nil)
        #expect(try await f.store.verifyAPIKey(id: UUID().uuidString, secret: key.secret) == nil)
        #expect(try await f.store.verifyAPIKey(id: "not-a-uuid'; DROP TABLE api_keys; --", secret: key.secret) == nil)
        #expect(try await f.store.verifyAPIKey(id: key.info.id, secret: key.secret) != nil)
    }

    @Test func revokedKeysStopWorkingAndOnlyTheirOrganisationCanRevoke() async throws {
        let f = try await StoreFixture.make()
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

    @Test func rolesAndListing() async throws {
        let f = try await StoreFixture.make()
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

    @Test func keyForUnknownOrganisationIsRefused() async throws {
        let f = try await StoreFixture.make()
        defer { f.remove() }
        let error = await storeError { _ = try await f.store.createAPIKey(organizationID: "nope", role: .owner) }
        #expect(error?.kind == .notFound)
        #expect(error?.message.contains("ferry org create") == true)
    }

    @Test func onlyASaltedSlowHashIsStored() async throws {
        let f = try await StoreFixture.make(rounds: KeyHashing.defaultRounds)
        defer { f.remove() }
        let one = try await f.store.createAPIKey(organizationID: f.orgA, role: .owner)
        let two = try await f.store.createAPIKey(organizationID: f.orgA, role: .owner)
        let hashes = try await DatabaseQueue(path: f.store.databasePath).read { db in
            try String.fetchAll(db, sql: "SELECT secret_hash FROM api_keys ORDER BY created_at")
        }
        #expect(hashes.count == 2)
        for hash in hashes {
            #expect(hash.hasPrefix("pbkdf2-sha256$210000$"))
            #expect(!hash.contains(one.secret) && !hash.contains(two.secret))
        }
        #expect(hashes[0] != hashes[1])
        #expect(try await f.store.verifyAPIKey(id: one.info.id, secret: one.secret) != nil)
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
