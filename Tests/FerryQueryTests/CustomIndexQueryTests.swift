import FerryBSON
import FerryMQL
import FerryStore
import FerryStorePostgres
import FerryStoreSQLite
import FerryTestSupport
import Foundation
import StoreTestSupport
import Testing

@testable import FerryQuery

/// Custom indexes (CreateIndex) in the query path, on both backends: a leading `$match` on an
/// indexed path reads through the index (EXPLAIN shows it), and answers exactly what the same
/// query answers without one, whatever the values at the path are: numbers, strings, arrays,
/// arrays of documents, NaN, integers past 2^53, booleans, nothing.
@Suite struct CustomIndexQueryTests {
    static let now = Int64(Date().timeIntervalSince1970 * 1000)

    /// Reading `i`: mostly `data.readings.temperature = i % 40`, with the awkward values among them.
    static func reading(_ i: Int, org: String) -> Reading {
        let temperature: BSON? =
            switch i % 50 {
            case 1: .array([.int32(35), .int32(5)])
            case 2: .string("25")
            case 3: .double(.nan)
            case 4: .int64(1 << 60)
            case 5: .bool(true)
            case 6: nil
            case 7: .double(1e300)
            case 9: .int32(25)
            default: .double(Double(i % 40))
            }
        var readings: BSONDocument = ["i": .int32(Int32(i)), "label": .string("r\(i % 7)")]
        if let temperature { readings.elements.append(BSONElement("temperature", temperature)) }
        var data: BSONDocument = ["readings": .document(readings)]
        if i % 50 == 8 { data = ["readings": .array([.document(["temperature": .int32(33), "label": "r3"])])] }
        let t = now - 3_600_000 + Int64(i) * 500
        return Reading(
            organizationID: org, componentType: "rdk:component:sensor", componentName: "sensor-\(i % 4)", methodName: "Readings",
            timeRequested: t, timeReceived: t, data: data)
    }

    static let matches: [BSONDocument] = [
        ["data.readings.temperature": ["$gt": 30]],
        ["data.readings.temperature": ["$gte": 30, "$lt": 35.5]],
        ["data.readings.temperature": ["$lte": 3]],
        ["data.readings.temperature": 25],
        ["data.readings.temperature": "25"],
        ["data.readings.temperature": 33],
        ["data.readings.temperature": ["$in": [5, "25", .int64(1 << 60)]]],
        ["data.readings.temperature": ["$gt": .int64(1 << 59)]],
        ["data.readings.temperature": ["$lt": .double(0.5)]],
        ["data.readings.label": "r3", "component_name": "sensor-1"],
        ["$and": [["data.readings.temperature": ["$gt": 10]], ["data.readings.temperature": ["$lt": 12]]]],
        ["data.readings.temperature": ["$gt": 20, "$ne": 30]],
    ]

    /// The documents' bytes without the organisation (bytes, because NaN is not equal to itself).
    static func withoutOrganization(_ documents: [BSONDocument]) -> [[UInt8]] {
        documents.map { BSONDocument($0.elements.filter { $0.key != "organization_id" }).encode() }
    }

    @Test(arguments: StoreBackend.all) func indexedQueriesAnswerWhatUnindexedOnesDo(_ backend: StoreBackend) async throws {
        let testStore = try await TestStore.make(backend)
        defer { testStore.remove() }
        let store = testStore.store
        let indexed = try await store.createOrganization(name: "Indexed").id
        let plain = try await store.createOrganization(name: "Plain").id
        _ = try await store.insert((0..<600).map { Self.reading($0, org: indexed) }, idempotencyKey: nil)
        _ = try await store.insert((0..<600).map { Self.reading($0, org: plain) }, idempotencyKey: nil)
        for (name, field) in [("temperature", "data.readings.temperature"), ("label", "data.readings.label")] {
            try await store.createIndex(DataIndex(organizationID: indexed, name: name, keys: [DataIndexKey(field: field, direction: 1)], createdAt: 0))
        }
        for match in Self.matches {
            for tail: [BSONDocument] in [[], [["$sort": ["time_received": -1]], ["$limit": 7]]] {
                let query = try StoreQuery(stages: [["$match": .document(match)]] + tail, operators: .builtin)
                for source in [QuerySource.standard, .hotStorage] {
                    let expected = try await query.run(on: store, organizationID: plain, source: source)
                    let got = try await query.run(on: store, organizationID: indexed, source: source)
                    #expect(!expected.isEmpty, "\(match) matches something")
                    #expect(Self.withoutOrganization(got) == Self.withoutOrganization(expected), "\(match) \(tail) on \(source): \(got.count) vs \(expected.count)")
                }
            }
        }
        // The awkward values are found: the array holding 5, the array of documents, the big integer.
        let awkward = try await StoreQuery(
            stages: [["$match": ["data.readings.temperature": ["$in": [5, 33, .int64(1 << 60)]]]]], operators: .builtin
        ).run(on: store, organizationID: indexed, source: .standard)
        let found = Set(awkward.compactMap { $0["data"]?.documentValue?["readings"]?.documentValue?["i"]?.int64Value.map { $0 % 50 } })
        #expect(found.isSuperset(of: [1, 4]) && awkward.contains { $0["data"]?.documentValue?["readings"]?.arrayValue != nil })
    }

    /// EXPLAIN shows the custom index serving the pushed-down `$match`, and no custom index for an
    /// organisation without one.
    @Test(arguments: StoreBackend.all) func theIndexServesTheMatch(_ backend: StoreBackend) async throws {
        let testStore = try await TestStore.make(backend)
        defer { testStore.remove() }
        let store = testStore.store
        let org = try await store.createOrganization(name: "Acme").id
        let other = try await store.createOrganization(name: "Bolt").id
        _ = try await store.insert((0..<4_000).map { Self.reading($0, org: org) }, idempotencyKey: nil)
        try await store.createIndex(
            DataIndex(organizationID: org, name: "t", keys: [DataIndexKey(field: "data.readings.temperature", direction: -1)], createdAt: 0))
        let filter = MatchPushdown.split(["data.readings.temperature": ["$gt": 38], "component_name": "sensor-1"]).filter
        switch backend {
        case .sqlite:
            let sqlite = store as! SQLiteReadingStore
            for source in [ReadingSource.standard, .hotStorage] {
                let plan = try await sqlite.queryPlan(organizationID: org, source: source, filter: filter).joined(separator: "; ")
                let table = source == .standard ? "readings" : "hot_readings"
                #expect(plan.contains("SEARCH \(table) USING INDEX ferry_ix_\(table)_") && plan.contains("<expr>>? AND <expr><?"), "\(plan)")
                #expect(plan.contains("<expr>=?"), "the sentinel's seek, plan: \(plan)")
                let unindexed = try await sqlite.queryPlan(organizationID: other, source: source, filter: filter).joined(separator: "; ")
                #expect(!unindexed.contains("ferry_ix_"), "\(unindexed)")
                // A time_received range bounded on both sides (a pipeline's window) keeps the time index.
                var window = filter
                window.timeReceived.atLeast(Self.now - 3_600_000)
                window.timeReceived.lessThan(Self.now - 3_000_000)
                let windowed = try await sqlite.queryPlan(organizationID: org, source: source, filter: window).joined(separator: "; ")
                #expect(!windowed.contains("ferry_ix_") && windowed.contains("time_received>? AND time_received<?"), "\(windowed)")
            }
        case .postgres:
            guard case .database(let url) = testStore.location else { return }
            try TestPostgres.psql("ANALYZE readings", database: TestPostgres.databaseName(of: url))
            let postgres = store as! PostgresStore
            let plan = try await postgres.queryPlan(organizationID: org, filter: filter)
            let conditions = plan.filter { $0.contains("Index Cond") && $0.contains("ferry_index_key(data") }
            #expect(conditions.count >= 2, "both arms seek on the index, plan: \(plan.joined(separator: "\n"))")
            let unindexed = try await postgres.queryPlan(organizationID: other, filter: filter)
            #expect(!unindexed.joined().contains("ferry_index_key"), "\(unindexed)")
        }
    }
}
