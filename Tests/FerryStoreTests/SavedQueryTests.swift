import FerryBSON
import FerryStore
import Foundation
import StoreTestSupport
import Testing

/// Saved queries, alike on every backend: names unique per organisation, stages kept type for
/// type, found by id and by name, updated, listed with a limit, deleted, and never reached from
/// another organisation.
@Suite struct SavedQueryTests {
    static let stages: [BSONDocument] = [
        ["$match": ["data.readings.t": ["$gt": .int64(1 << 40)], "time_received": ["$gte": .datetime(5)]]],
        ["$project": ["_id": 0, "v": .double(-0.5)]],
    ]

    @Test(arguments: StoreBackend.all) func savedQueriesAreKeptPerOrganisation(_ backend: StoreBackend) async throws {
        let f = try await StoreFixture.make(backend)
        defer { f.remove() }
        let store = f.store
        let hot = SavedQuery(id: "q1", organizationID: f.orgA, name: "hot sensors", stages: Self.stages, createdAt: 1_000, updatedAt: 1_000)
        let count = SavedQuery(id: "q2", organizationID: f.orgA, name: "count", stages: [["$count": "n"]], createdAt: 2_000, updatedAt: 2_000)
        try await store.createSavedQuery(hot)
        try await store.createSavedQuery(count)
        // The same name in another organisation is its own.
        try await store.createSavedQuery(SavedQuery(id: "q3", organizationID: f.orgB, name: "count", stages: [["$limit": 1]], createdAt: 0, updatedAt: 0))

        let got = try #require(try await store.savedQuery(id: "q1", organizationID: f.orgA))
        #expect(got == hot && got.stages.map { $0.encode() } == Self.stages.map { $0.encode() }, "stages are kept type for type")
        #expect(try await store.savedQuery(named: "count", organizationID: f.orgA) == count)
        #expect(try await store.savedQuery(id: "q1", organizationID: f.orgB) == nil)
        #expect(try await store.savedQuery(named: "hot sensors", organizationID: f.orgB) == nil)
        #expect(try await store.savedQueries(organizationID: f.orgA, limit: nil) == [hot, count])
        #expect(try await store.savedQueries(organizationID: f.orgA, limit: 1) == [hot])
        #expect(try await store.savedQueries(organizationID: f.orgB, limit: nil).map(\.id) == ["q3"])

        var error = await storeError {
            try await store.createSavedQuery(SavedQuery(id: "q4", organizationID: f.orgA, name: "count", stages: [["$limit": 1]], createdAt: 0, updatedAt: 0))
        }
        #expect(error?.kind == .alreadyExists && error?.message.contains("already has a saved query named \"count\"") == true, "\(String(describing: error))")
        error = await storeError { _ = try await store.updateSavedQuery(id: "q1", organizationID: f.orgA, name: "count", stages: [["$limit": 1]], updatedAt: 3) }
        #expect(error?.kind == .alreadyExists, "\(String(describing: error))")
        error = await storeError {
            try await store.createSavedQuery(SavedQuery(id: "q5", organizationID: f.orgA, name: "", stages: [["$limit": 1]], createdAt: 0, updatedAt: 0))
        }
        #expect(error?.kind == .invalidArgument && error?.message.contains("1 to 100 characters") == true)
        error = await storeError {
            try await store.createSavedQuery(SavedQuery(id: "q6", organizationID: f.orgA, name: "none", stages: [], createdAt: 0, updatedAt: 0))
        }
        #expect(error?.kind == .invalidArgument && error?.message.contains("at least one MQL stage") == true)
        error = await storeError {
            try await store.createSavedQuery(SavedQuery(id: "q7", organizationID: "no-such-org", name: "x", stages: [["$limit": 1]], createdAt: 0, updatedAt: 0))
        }
        #expect(error?.kind == .notFound, "\(String(describing: error))")

        // Updating keeps the id and creation time; its own name is no clash; another organisation's id is unknown.
        #expect(try await store.updateSavedQuery(id: "q2", organizationID: f.orgA, name: "count", stages: [["$count": "total"]], updatedAt: 9_000))
        #expect(try await store.updateSavedQuery(id: "q2", organizationID: f.orgA, name: "totals", stages: [["$count": "total"]], updatedAt: 9_500))
        #expect(try await !store.updateSavedQuery(id: "q3", organizationID: f.orgA, name: "mine", stages: [["$limit": 1]], updatedAt: 1))
        let updated = try #require(try await store.savedQuery(id: "q2", organizationID: f.orgA))
        #expect(updated.name == "totals" && updated.stages == [["$count": "total"]] && updated.createdAt == 2_000 && updated.updatedAt == 9_500)
        #expect(try await store.savedQuery(named: "count", organizationID: f.orgA) == nil)

        #expect(try await !store.deleteSavedQuery(id: "q3", organizationID: f.orgA))
        #expect(try await store.deleteSavedQuery(id: "q1", organizationID: f.orgA))
        #expect(try await !store.deleteSavedQuery(id: "q1", organizationID: f.orgA))
        #expect(try await store.savedQueries(organizationID: f.orgA, limit: nil).map(\.id) == ["q2"])
        #expect(try await store.savedQueries(organizationID: f.orgB, limit: nil).map(\.id) == ["q3"])
    }
}
