import FerryStore
import StoreTestSupport
import Testing

@testable import FerryPipelines

/// The invalidation log is written by ingest itself, in the readings' transaction.
@Suite struct InvalidationLogTests {
    @Test(arguments: StoreBackend.all) func ingestLogsTouchedMinutesOnlyWhenAPipelineWithBackfillNeedsThem(_ backend: StoreBackend) async throws {
        let f = try await PipelineFixture.make(backend, now: utc("2024-05-01T10:30"))
        defer { f.remove() }
        try await f.insert([utc("2024-05-01T09:05")])
        #expect(try await f.store.latestInvalidationID() == 0, "nobody reads the log: nothing written")

        _ = try await f.create(backfill: false, name: "plain")
        try await f.insert([utc("2024-05-01T09:06")])
        #expect(try await f.store.latestInvalidationID() == 0)

        let p = try await f.create(backfill: true, name: "backfilled")
        try await f.insert([
            utc("2024-05-01T09:05") + 10_000, utc("2024-05-01T09:05") + 50_000, utc("2024-05-01T09:06") + 1_000,
            utc("2024-05-01T09:30"),
        ])
        let entries = try await f.store.invalidations(organizationID: f.org, source: "readings", after: p.invalidationCursor, limit: 10)
        #expect(
            entries.map(\.range) == [
                SinkWindow(start: utc("2024-05-01T09:05"), end: utc("2024-05-01T09:07")),
                SinkWindow(start: utc("2024-05-01T09:30"), end: utc("2024-05-01T09:31")),
            ])

        // A resent batch stores nothing new, so it invalidates nothing.
        let resent = [f.reading(at: utc("2024-05-01T08:00"))]
        let key = IdempotencyKey(fileID: "file", firstRecord: 0, lastRecord: 1)
        #expect(try await f.store.insert(resent, idempotencyKey: key).inserted == 1)
        let logged = try await f.store.latestInvalidationID()
        #expect(try await f.store.insert(resent, idempotencyKey: key).inserted == 0)
        #expect(try await f.store.latestInvalidationID() == logged, "nothing new, so no late-data window")

        // Processed by every pipeline that needs them: pruned.
        try await f.settle()
        #expect(try await f.store.pruneInvalidations() >= 0)
        #expect(try await f.store.invalidations(organizationID: f.org, source: "readings", after: 0, limit: 10).isEmpty)
    }
}
