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

    // MARK: Pipeline sinks

    /// Matches on a sink's documents (`Self.reading(i).data` with an `_id`): the same awkward values.
    static let sinkMatches: [BSONDocument] = [
        ["readings.temperature": ["$gt": 30]],
        ["readings.temperature": ["$gte": 30, "$lt": 35.5]],
        ["readings.temperature": 25],
        ["readings.temperature": "25"],
        ["readings.temperature": 33],
        ["readings.temperature": ["$in": [5, "25", .int64(1 << 60)]]],
        ["readings.temperature": ["$lt": .double(0.5)]],
        ["readings.label": "r3", "readings.i": ["$lt": 300]],
        ["$and": [["readings.temperature": ["$gt": 10]], ["readings.temperature": ["$lt": 12]]]],
        ["readings.temperature": ["$gt": 20, "$ne": 30]],
    ]

    /// A pipeline of `org` whose sink holds `count` documents in windows of 100.
    static func sink(_ store: any DataStore, org: String, id: String, count: Int) async throws {
        try await store.createPipeline(
            PipelineRecord(
                id: id, organizationID: org, name: "sink-\(id)", schedule: "0 * * * *", stages: [["$match": [:]]], enableBackfill: false,
                source: .standard, createdAt: 0, scheduledThrough: 0))
        for window in stride(from: 0, to: count, by: 100) {
            let documents = (window..<min(window + 100, count)).map { i -> BSONDocument in
                var document = Self.reading(i, org: org).data
                document.elements.insert(BSONElement("_id", .int32(Int32(i))), at: 0)
                return document
            }
            try await store.replaceWindow(
                organizationID: org, pipelineID: id, runID: "run-\(window)", window: SinkWindow(start: Int64(window) * 60_000, end: Int64(window + 100) * 60_000),
                documents: documents)
        }
    }

    @Test(arguments: StoreBackend.all) func indexedSinkQueriesAnswerWhatUnindexedOnesDo(_ backend: StoreBackend) async throws {
        let testStore = try await TestStore.make(backend)
        defer { testStore.remove() }
        let store = testStore.store
        let indexed = try await store.createOrganization(name: "Indexed").id
        let plain = try await store.createOrganization(name: "Plain").id
        try await Self.sink(store, org: indexed, id: "p-indexed", count: 600)
        try await Self.sink(store, org: plain, id: "p-plain", count: 600)
        for (name, field) in [("temperature", "readings.temperature"), ("label", "readings.label")] {
            try await store.createIndex(
                DataIndex(organizationID: indexed, pipelineID: "p-indexed", name: name, keys: [DataIndexKey(field: field, direction: 1)], createdAt: 0))
        }
        for match in Self.sinkMatches {
            for tail: [BSONDocument] in [[], [["$sort": ["readings.i": -1]], ["$limit": 7]]] {
                let query = try StoreQuery(stages: [["$match": .document(match)]] + tail, operators: .builtin)
                let expected = try await query.run(on: store, organizationID: plain, source: .pipelineSink("p-plain"))
                let got = try await query.run(on: store, organizationID: indexed, source: .pipelineSink("p-indexed"))
                #expect(!expected.isEmpty, "\(match) matches something")
                #expect(got.map { $0.encode() } == expected.map { $0.encode() }, "\(match) \(tail): \(got.count) vs \(expected.count)")
                // The MongoDB endpoint's cursors (stream) read through the index too.
                let streamed = try await StoreQueryTests.collect(
                    try query.stream(on: store, organizationID: indexed, source: .pipelineSink("p-indexed")), batch: 1_000)
                #expect(streamed.map { $0.encode() } == expected.map { $0.encode() }, "\(match) \(tail) streamed")
                // The store read fewer documents than the whole sink (the index served the hints).
                let read = try await store.sinkDocuments(organizationID: indexed, pipelineID: "p-indexed", hints: query.sinkHints)
                #expect(read.count < 600, "\(match): \(read.count) documents read")
            }
        }
        // The awkward values are found: the array holding 5, the array of documents, the big integer.
        let awkward = try await StoreQuery(
            stages: [["$match": ["readings.temperature": ["$in": [5, 33, .int64(1 << 60)]]]]], operators: .builtin
        ).run(on: store, organizationID: indexed, source: .pipelineSink("p-indexed"))
        let found = Set(awkward.compactMap { $0["_id"]?.int64Value.map { $0 % 50 } })
        #expect(found.isSuperset(of: [1, 4, 8]), "\(found.sorted())")
        // Another organisation's pipeline of that id is not read through, nor is the hot store's index.
        #expect(try await store.indexes(organizationID: indexed).isEmpty)
    }

    /// EXPLAIN shows the sink's index serving a sink query, and none for a pipeline without one.
    @Test(arguments: StoreBackend.all) func theSinkIndexServesTheMatch(_ backend: StoreBackend) async throws {
        let testStore = try await TestStore.make(backend)
        defer { testStore.remove() }
        let store = testStore.store
        let org = try await store.createOrganization(name: "Acme").id
        try await Self.sink(store, org: org, id: "p-acme", count: 4_000)
        try await Self.sink(store, org: org, id: "p-other", count: 100)
        try await store.createIndex(
            DataIndex(organizationID: org, pipelineID: "p-acme", name: "t", keys: [DataIndexKey(field: "readings.temperature", direction: 1)], createdAt: 0))
        let hints = MatchPushdown.documentHints(["readings.temperature": ["$gt": 38], "readings.label": "r1"])
        switch backend {
        case .sqlite:
            let sqlite = store as! SQLiteReadingStore
            let plan = try await sqlite.sinkQueryPlan(organizationID: org, pipelineID: "p-acme", hints: hints).joined(separator: "; ")
            #expect(plan.contains("SEARCH sink_documents USING INDEX ferry_ix_sink_documents_") && plan.contains("<expr>>? AND <expr><?"), "\(plan)")
            #expect(plan.contains("<expr>=?"), "the sentinel's seek, plan: \(plan)")
            let unindexed = try await sqlite.sinkQueryPlan(organizationID: org, pipelineID: "p-other", hints: hints).joined(separator: "; ")
            #expect(!unindexed.contains("ferry_ix_"), "\(unindexed)")
        case .postgres:
            guard case .database(let url) = testStore.location else { return }
            try TestPostgres.psql("ANALYZE sink_documents", database: TestPostgres.databaseName(of: url))
            let postgres = store as! PostgresStore
            let plan = try await postgres.sinkQueryPlan(organizationID: org, pipelineID: "p-acme", hints: hints)
            let conditions = plan.filter { $0.contains("Index Cond") && $0.contains("ferry_index_key(data") }
            #expect(conditions.count >= 2, "both arms seek on the index, plan: \(plan.joined(separator: "\n"))")
            let unindexed = try await postgres.sinkQueryPlan(organizationID: org, pipelineID: "p-other", hints: hints)
            #expect(!unindexed.joined().contains("ferry_index_key"), "\(unindexed)")
        }
    }
}
