import FerryTestSupport
import Foundation
import GRDBSQLite
import Testing

@testable import FerryStore
@testable import FerryStoreSQLite

/// The store's WAL is copied back by a connection of its own, and stays bounded either way.
@Suite struct WALCheckpointTests {
    func open(_ directory: TemporaryDirectory, background: Int32, inline: Int32) throws -> SQLiteReadingStore {
        var configuration = SQLiteReadingStore.Configuration()
        configuration.walCheckpoint = WALCheckpointer.Thresholds(background: background, inline: inline)
        // Every commit these tests count is an ingest's: hot storage's copies wait for a read.
        configuration.copiesHotStorageInBackground = false
        configuration.logger.logLevel = .warning
        return try SQLiteReadingStore(dataDirectory: directory.path, configuration: configuration)
    }

    func size(_ path: String) throws -> Int {
        try (FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue ?? 0
    }

    func insert(_ store: SQLiteReadingStore, _ org: String, _ range: Range<Int>) async throws {
        _ = try await store.insert(range.map { StoreFixture.reading($0, org: org) }, idempotencyKey: nil)
    }

    @Test func aLongWALIsCopiedBackInTheBackgroundAndStartsOver() async throws {
        let directory = try TemporaryDirectory("ferry-wal")
        defer { directory.remove() }
        var store = try open(directory, background: 32, inline: .max)
        let org = try await store.createOrganization(name: "Acme").id
        let database = store.databasePath
        let before = try size(database)
        var longest = 0
        for batch in 0..<10 {
            try await insert(store, org, batch * 500..<(batch + 1) * 500)
            await store.checkpointer.waitUntilIdle()
            longest = max(longest, try size(database + "-wal"))
        }
        #expect(store.checkpointer.backgroundCheckpoints.load(ordering: .relaxed) >= 5)
        let grown = try size(database) - before
        #expect(grown > 1_000_000, "the readings' pages were copied into the database file")
        // The writer only finishes what a background checkpoint left (its inline limit is never
        // reached), and the WAL starts over rather than holding all ten batches.
        #expect(longest < grown / 3, "the WAL grew to \(longest) bytes for \(grown) bytes of data")

        store = try open(directory, background: 32, inline: .max)
        let stored = try await store.readings(organizationID: org, source: .standard, filter: .all, sortByTimeDescending: false, limit: nil)
        #expect(stored.count == 5_000)
    }

    /// A reader keeps the WAL from starting over, as a busy writer does: the commit after a
    /// background checkpoint then copies what was written since on the writer's time, once.
    @Test func theCommitAfterABackgroundCheckpointFinishesWhatItLeft() async throws {
        let directory = try TemporaryDirectory("ferry-wal")
        defer { directory.remove() }
        let store = try open(directory, background: 32, inline: .max)
        let checkpointer = store.checkpointer
        // The schema's pages are past the threshold: the first commit asks for a checkpoint.
        let org = try await store.createOrganization(name: "Acme").id
        await checkpointer.waitUntilIdle()
        #expect(checkpointer.backgroundCheckpoints.load(ordering: .relaxed) == 1)

        var reader: OpaquePointer?
        #expect(sqlite3_open(store.databasePath, &reader) == SQLITE_OK)
        defer { sqlite3_close(reader) }
        #expect(sqlite3_exec(reader, "BEGIN; SELECT count(*) FROM readings;", nil, nil, nil) == SQLITE_OK)
        // More pages than the schema's commits left in the WAL: the WAL starts over under this
        // commit (the reader reads the database file alone), and a shorter WAL would tell the
        // hook so, which is the next step's case, not this one's.
        try await insert(store, org, 0..<2_000)
        await checkpointer.waitUntilIdle()
        #expect(checkpointer.inlineCheckpoints.load(ordering: .relaxed) == 1)
        #expect(checkpointer.backgroundCheckpoints.load(ordering: .relaxed) == 1)

        // The reader's snapshot kept those frames from being copied: a background checkpoint again.
        #expect(sqlite3_exec(reader, "COMMIT", nil, nil, nil) == SQLITE_OK)
        try await insert(store, org, 2_000..<4_000)
        await checkpointer.waitUntilIdle()
        #expect(checkpointer.backgroundCheckpoints.load(ordering: .relaxed) == 2)
        let wal = try size(store.databasePath + "-wal")
        try await insert(store, org, 4_000..<4_010)
        await checkpointer.waitUntilIdle()
        #expect(try size(store.databasePath + "-wal") == wal, "the WAL started over")
        #expect(checkpointer.inlineCheckpoints.load(ordering: .relaxed) == 1)
    }

    @Test func theWriterCheckpointsItselfWhenTheWALOutgrowsTheBackground() async throws {
        let directory = try TemporaryDirectory("ferry-wal")
        defer { directory.remove() }
        // A background threshold never reached stands for a checkpointer that cannot keep up.
        let store = try open(directory, background: .max, inline: 32)
        let org = try await store.createOrganization(name: "Acme").id
        try await insert(store, org, 0..<4_000)
        await store.checkpointer.waitUntilIdle()
        #expect(store.checkpointer.inlineCheckpoints.load(ordering: .relaxed) >= 1)
        #expect(store.checkpointer.backgroundCheckpoints.load(ordering: .relaxed) == 0)
        let wal = try size(store.databasePath + "-wal")
        try await insert(store, org, 4_000..<5_000)
        #expect(try size(store.databasePath + "-wal") == wal, "the WAL starts over after the writer's own checkpoint")
    }
}
