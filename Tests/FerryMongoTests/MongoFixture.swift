import FerryBSON
import FerryMQL
import FerryMongoWire
import FerryStore
import Foundation
import Logging
import StoreTestSupport
import Synchronization
import Testing

@testable import FerryMongoServer

/// A clock tests move by hand.
final class ManualClock: Sendable {
    private let value = Mutex<Duration>(.zero)
    var now: Duration { value.withLock { $0 } }
    func advance(_ by: Duration) { value.withLock { $0 += by } }
}

/// A real SQLite store with two organisations, each with a database user, and the command
/// handler the server runs, called directly.
struct MongoFixture {
    let testStore: TestStore
    let orgA: String
    let orgB: String
    /// Drives cursor expiry.
    let clock: ManualClock
    let commands: MongoCommands
    var store: any DataStore { testStore.store }

    static let t0: Int64 = 1_700_000_000_000
    static let password = "S3cret!pass"

    static func make() async throws -> MongoFixture {
        let testStore = try await TestStore.make(.sqlite)
        let a = try await testStore.store.createOrganization(name: "Acme").id
        let b = try await testStore.store.createOrganization(name: "Bolt").id
        for org in [a, b] {
            let verifier = try SCRAMSHA256.verifier(password: password, iterations: 4096)
            _ = try await testStore.store.configureDatabaseUser(
                organizationID: org,
                credential: DatabaseUserCredential(
                    salt: verifier.salt, iterations: verifier.iterations, storedKey: verifier.storedKey, serverKey: verifier.serverKey),
                mayInsert: false)
        }
        let clock = ManualClock()
        var logger = Logger(label: "test.mongo")
        logger.logLevel = .warning
        let commands = MongoCommands(
            store: testStore.store, operators: .builtin,
            cursors: CursorRegistry(idleTimeout: .seconds(600), now: { clock.now }), logger: logger,
            decoySecret: Array(repeating: 7, count: 32))
        return MongoFixture(testStore: testStore, orgA: a, orgB: b, clock: clock, commands: commands)
    }

    func remove() { testStore.remove() }

    /// A session already authenticated as the organisation's user.
    func session(_ org: String, mayInsert: Bool = false) -> MongoSession {
        var session = MongoSession(connectionID: 1, clientAddress: "127.0.0.1:1")
        session.user = MongoSession.User(organizationID: org, userName: "db-user-\(org)", mayInsert: mayInsert)
        return session
    }

    /// Reading `i`: component `sensor-(i % 3)`, one minute apart, `data.readings.i = i`.
    static func reading(_ i: Int, org: String) -> Reading {
        Reading(
            organizationID: org, locationID: "loc-\(i % 2)", componentType: "rdk:component:sensor", componentName: "sensor-\(i % 3)",
            methodName: "Readings", timeRequested: t0 + Int64(i) * 60_000 - 5, timeReceived: t0 + Int64(i) * 60_000,
            tags: i % 2 == 0 ? ["even"] : [], data: ["readings": ["i": .int32(Int32(i)), "temperature": .double(20 + Double(i % 10))]])
    }

    func insert(_ range: Range<Int>, org: String) async throws {
        _ = try await store.insert(range.map { Self.reading($0, org: org) }, idempotencyKey: nil)
    }

    /// Runs a command and returns its reply document (raw replies decoded).
    func run(_ command: BSONDocument, database: String = "sensorData", session: inout MongoSession) async throws -> BSONDocument {
        var full = command
        full.append("$db", .string(database))
        switch await commands.handle(full, database: database, session: &session) {
        case .document(let document): return document
        case .raw(let bytes): return try BSONDocument(bytes: bytes)
        }
    }
}

extension BSONDocument {
    var code: Int32? { self["code"].flatMap { if case .int32(let c) = $0 { c } else { nil } } }
    var isOK: Bool { self["ok"] == .double(1) }
    var cursor: BSONDocument? { self["cursor"]?.documentValue }
    var cursorID: Int64? { if case .int64(let id)? = cursor?["id"] { id } else { nil } }
    func batch(_ name: String) -> [BSONDocument] { (cursor?[name]?.arrayValue ?? []).compactMap(\.documentValue) }
    var readingIndex: Int? { self["data"]?.documentValue?["readings"]?.documentValue?["i"]?.int64Value.map(Int.init) }
}
