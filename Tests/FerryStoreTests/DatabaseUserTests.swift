import FerryStore
import Foundation
import StoreTestSupport
import Testing

@Suite struct DatabaseUserTests {
    static func credential(_ seed: UInt8) -> DatabaseUserCredential {
        DatabaseUserCredential(
            salt: Array(repeating: seed, count: 16), iterations: 15_000, storedKey: Array(repeating: seed &+ 1, count: 32),
            serverKey: Array(repeating: seed &+ 2, count: 32))
    }

    @Test(arguments: StoreBackend.all) func aUserIsCreatedThenItsPasswordChangedKeepingItsPermission(_ backend: StoreBackend) async throws {
        let f = try await StoreFixture.make(backend)
        defer { f.remove() }
        #expect(try await f.store.databaseUser(organizationID: f.orgA) == nil)
        let created = try await f.store.configureDatabaseUser(
            organizationID: f.orgA, credential: Self.credential(1), mayInsert: nil, now: Date(timeIntervalSince1970: 100))
        #expect(created.mayInsert == false, "a new user only reads unless told otherwise")
        #expect(created.createdAt == 100_000)
        #expect(try await f.store.databaseUser(organizationID: f.orgA) == created)

        _ = try await f.store.configureDatabaseUser(organizationID: f.orgA, credential: Self.credential(1), mayInsert: true)
        let changed = try await f.store.configureDatabaseUser(
            organizationID: f.orgA, credential: Self.credential(9), mayInsert: nil, now: Date(timeIntervalSince1970: 200))
        #expect(changed.credential == Self.credential(9))
        #expect(changed.mayInsert, "a password change keeps the insert permission")
        #expect(changed.createdAt == 100_000 && changed.updatedAt == 200_000)
        #expect(try await f.store.databaseUser(organizationID: f.orgA) == changed)
        #expect(try await f.store.databaseUser(organizationID: f.orgB) == nil, "users are per organisation")

        // Another connection (another process or replica) sees the same user.
        let other = try await f.testStore.reopen()
        #expect(try await other.databaseUser(organizationID: f.orgA) == changed)
    }

    @Test(arguments: StoreBackend.all) func anUnknownOrganisationOrABadVerifierIsRefused(_ backend: StoreBackend) async throws {
        let f = try await StoreFixture.make(backend)
        defer { f.remove() }
        let missing = await storeError {
            _ = try await f.store.configureDatabaseUser(organizationID: "nope", credential: Self.credential(1), mayInsert: nil)
        }
        #expect(missing?.kind == .notFound)
        var weak = Self.credential(1)
        weak.iterations = 10
        let invalid = await storeError {
            _ = try await f.store.configureDatabaseUser(organizationID: f.orgA, credential: weak, mayInsert: nil)
        }
        #expect(invalid?.kind == .invalidArgument)
    }

    @Test(arguments: StoreBackend.all) func theEndpointIsRecordedAndReadBack(_ backend: StoreBackend) async throws {
        let f = try await StoreFixture.make(backend)
        defer { f.remove() }
        #expect(try await f.store.databaseEndpoint() == nil)
        try await f.store.recordDatabaseEndpoint(DatabaseEndpoint(address: "127.0.0.1:27017", tls: true))
        try await f.store.recordDatabaseEndpoint(DatabaseEndpoint(address: "db.example:27018", tls: false))
        #expect(try await f.testStore.reopen().databaseEndpoint() == DatabaseEndpoint(address: "db.example:27018", tls: false))
    }
}
