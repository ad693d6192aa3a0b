import FerryBSON
import FerryTestSupport
import Foundation
import GRDB
import Testing

@testable import FerryStore
@testable import FerryStoreSQLite

/// SQLite's hot storage is a second copy of each new reading, made by a transaction of its own
/// after the ingest commits. Every read of hot storage sees what was acknowledged, and a copy
/// lost to a crash is made when the store opens again.
@Suite struct HotStorageCopyTests {
    func open(_ directory: TemporaryDirectory, background: Bool) throws -> SQLiteReadingStore {
        var configuration = SQLiteReadingStore.Configuration()
        configuration.copiesHotStorageInBackground = background
        configuration.logger.logLevel = .warning
        return try SQLiteReadingStore(dataDirectory: directory.path, configuration: configuration)
    }

    /// Rows of hot storage and ranges still to copy, read beside the store on a connection of the test's own.
    func counts(_ store: SQLiteReadingStore) throws -> (hot: Int, pending: Int) {
        let queue = try DatabaseQueue(path: store.databasePath)
        return try queue.read { db in
            (try Int.fetchOne(db, sql: "SELECT count(*) FROM hot_readings") ?? -1,
             try Int.fetchOne(db, sql: "SELECT count(*) FROM hot_pending") ?? -1)
        }
    }

    func hot(_ store: SQLiteReadingStore, _ org: String) async throws -> [Int] {
        try await store.readings(organizationID: org, source: .hotStorage, filter: .all, sortByTimeDescending: false, limit: nil)
            .compactMap(\.recordIndex)
    }

    @Test func anIngestLeavesItsCopyPendingAndTheNextReadMakesIt() async throws {
        let directory = try TemporaryDirectory("ferry-hot-copy")
        defer { directory.remove() }
        let store = try open(directory, background: false)
        let org = try await store.createOrganization(name: "Acme").id
        // A batch written while it is made (an upload's path), and readings made beforehand.
        let batch = ReadingBatch(count: 1_000, organizationID: org) { slice in slice.map { StoreFixture.reading($0, org: org) } }
        _ = try await store.insert(batch, idempotencyKey: nil)
        _ = try await store.insert(StoreFixture.readings(1_000..<1_003, org: org), idempotencyKey: nil)
        #expect(try counts(store) == (0, 2), "the copies wait for a read")
        #expect(try await hot(store, org) == Array(0..<1_003))
        #expect(try counts(store) == (1_003, 0))

        // Each way of reading hot storage makes them first.
        _ = try await store.insert(StoreFixture.readings(1_003..<1_010, org: org), idempotencyKey: nil)
        let sql = try await store.tabularDataBySQL(organizationID: org, source: .hotStorage, query: "SELECT count(*) AS n FROM readings")
        #expect(sql.first?["n"]?.int64Value == 1_010)
        _ = try await store.insert([StoreFixture.reading(1_010, org: org, time: StoreFixture.t0 - 60_000)], idempotencyKey: nil)
        #expect(try await store.earliestData(organizationID: org, source: .hotStorage) == StoreFixture.t0 - 60_000)
        _ = try await store.insert(StoreFixture.readings(1_011..<1_012, org: org), idempotencyKey: nil)
        var hotFlags = 0
        var cursor: String?
        repeat {
            let page = try await store.exportRecords(.readings, after: cursor, limit: 500)
            for case .reading(_, _, let hot) in page.records where hot { hotFlags += 1 }
            cursor = page.next
        } while cursor != nil
        #expect(hotFlags == 1_012, "an export marks each reading hot storage holds")
    }

    @Test func copiesLostToACrashAreMadeWhenTheStoreOpensAgain() async throws {
        let directory = try TemporaryDirectory("ferry-hot-copy")
        defer { directory.remove() }
        var store = try open(directory, background: false)
        let org = try await store.createOrganization(name: "Acme").id
        _ = try await store.insert(StoreFixture.readings(0..<300, org: org), idempotencyKey: nil)
        #expect(try counts(store) == (0, 1))
        // A process that stops here has acknowledged readings whose copies are not made.
        store = try open(directory, background: false)
        #expect(try await hot(store, org) == Array(0..<300))
        // And one that copies in the background makes them without being asked.
        _ = try await store.insert(StoreFixture.readings(300..<600, org: org), idempotencyKey: nil)
        store = try open(directory, background: true)
        try await waitUntil { try counts(store) == (600, 0) }
    }

    @Test func anotherProcessesPendingCopiesAreMadeBeforeARead() async throws {
        let directory = try TemporaryDirectory("ferry-hot-copy")
        defer { directory.remove() }
        // Two stores on one file stand for the server and a CLI command beside it.
        let server = try open(directory, background: false)
        let org = try await server.createOrganization(name: "Acme").id
        let command = try open(directory, background: false)
        _ = try await server.insert(StoreFixture.readings(0..<20, org: org), idempotencyKey: nil)
        #expect(try counts(server) == (0, 1))
        #expect(try await hot(command, org) == Array(0..<20))
        #expect(try counts(server) == (20, 0))
        // The server's own count of them does not go wrong for it.
        _ = try await server.insert(StoreFixture.readings(20..<30, org: org), idempotencyKey: nil)
        #expect(try await hot(server, org) == Array(0..<30))
        #expect(try counts(server) == (30, 0))
    }

    @Test func pendingCopiesAreDroppedWhenTheStoreOpensWithHotStorageOff() async throws {
        let directory = try TemporaryDirectory("ferry-hot-copy")
        defer { directory.remove() }
        var store = try open(directory, background: false)
        let org = try await store.createOrganization(name: "Acme").id
        _ = try await store.insert(StoreFixture.readings(0..<5, org: org), idempotencyKey: nil)
        #expect(try counts(store) == (0, 1))
        var configuration = SQLiteReadingStore.Configuration()
        configuration.hotStorageHours = nil
        configuration.logger.logLevel = .warning
        store = try SQLiteReadingStore(dataDirectory: directory.path, configuration: configuration)
        #expect(try counts(store) == (0, 0))
        #expect(try await hot(store, org).isEmpty)
    }

    @Test func aReadingDeletedBeforeItsCopyIsNotCopied() async throws {
        let directory = try TemporaryDirectory("ferry-hot-copy")
        defer { directory.remove() }
        let store = try open(directory, background: false)
        let org = try await store.createOrganization(name: "Acme").id
        _ = try await store.insert(StoreFixture.readings(0..<10, org: org), idempotencyKey: nil)
        // Readings 0–4 were captured before reading 5's time.
        let deleted = try await store.deleteReadings(organizationID: org, capturedBefore: StoreFixture.reading(5, org: org).timeRequested)
        #expect(deleted == 5)
        #expect(try await hot(store, org) == Array(5..<10))
    }

    @Test func copiesAreMadeInTheBackgroundAndEveryUploaderSeesItsOwn() async throws {
        let directory = try TemporaryDirectory("ferry-hot-copy")
        defer { directory.remove() }
        let store = try open(directory, background: true)
        var orgs: [String] = []
        for n in 0..<4 { orgs.append(try await store.createOrganization(name: "org \(n)").id) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (n, org) in orgs.enumerated() {
                group.addTask {
                    for batch in 0..<5 {
                        let first = batch * 250
                        _ = try await store.insert(StoreFixture.readings(first..<first + 250, org: org), idempotencyKey: nil)
                        let seen = try await hot(store, org)
                        #expect(seen == Array(0..<first + 250), "uploader \(n) after batch \(batch)")
                    }
                }
            }
            try await group.waitForAll()
        }
        try await waitUntil { try counts(store) == (5_000, 0) }
    }

    /// Polls until `condition` holds; fails after a minute (the copies take milliseconds).
    func waitUntil(_ condition: () throws -> Bool, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        for _ in 0..<6_000 {
            if try condition() { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("the copies were not made", sourceLocation: sourceLocation)
    }
}
