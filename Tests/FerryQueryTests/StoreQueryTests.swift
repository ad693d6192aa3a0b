import FerryBSON
import FerryMQL
import FerryStore
import Foundation
import StoreTestSupport
import Testing

@testable import FerryQuery

@Suite struct StoreQueryTests {
    static let t0: Int64 = 1_700_000_000_000

    static func reading(_ i: Int, org: String) -> Reading {
        Reading(
            organizationID: org, componentType: "rdk:component:sensor", componentName: "sensor-\(i % 4)", methodName: "Readings",
            timeRequested: t0 + Int64(i) * 1_000, timeReceived: t0 + Int64(i) * 1_000 + Int64(i % 3), tags: [],
            data: ["readings": ["i": .int32(Int32(i)), "v": .double(Double(i % 17))]])
    }

    static func collect(_ stream: QueryResultStream, batch: Int) async throws -> [BSONDocument] {
        var out: [BSONDocument] = []
        while true {
            let (documents, exhausted) = try await stream.next(batch)
            out += documents
            if exhausted { return out }
            #expect(documents.count == batch, "only the last batch is short")
        }
    }

    /// Streaming a page at a time must give exactly what TabularDataByMQL's `run` gives.
    @Test(arguments: StoreBackend.all) func streamingAgreesWithRunningAllAtOnce(_ backend: StoreBackend) async throws {
        let testStore = try await TestStore.make(backend)
        defer { testStore.remove() }
        let org = try await testStore.store.createOrganization(name: "Acme").id
        let other = try await testStore.store.createOrganization(name: "Bolt").id
        _ = try await testStore.store.insert((0..<2_500).map { Self.reading($0, org: org) }, idempotencyKey: nil)
        _ = try await testStore.store.insert((0..<50).map { Self.reading($0, org: other) }, idempotencyKey: nil)
        let pipelines: [[BSONDocument]] = [
            [],
            [["$match": ["component_name": "sensor-1"]]],
            [["$match": ["component_name": "sensor-1"]], ["$sort": ["time_received": -1]]],
            [["$sort": ["time_received": -1]], ["$limit": 30]],
            [["$match": ["data.readings.v": ["$gte": 15]]], ["$sort": ["time_received": 1]], ["$limit": 7]],
            [["$match": ["component_name": ["$in": ["sensor-0", "sensor-3"]]]], ["$match": ["data.readings.v": 3]], ["$skip": 5]],
            [["$match": ["time_received": ["$gte": .datetime(Self.t0 + 1_000_000)]]], ["$group": ["_id": "$component_name", "n": ["$sum": 1]]], ["$sort": ["_id": 1]]],
            [["$project": ["_id": 0, "i": "$data.readings.i"]], ["$sort": ["i": -1]], ["$limit": 3]],
        ]
        for stages in pipelines {
            let query = try StoreQuery(stages: stages, operators: .builtin)
            let all = try await query.run(on: testStore.store, organizationID: org, source: .standard)
            for batch in [1, 97, 5_000] {
                let stream = try query.stream(on: testStore.store, organizationID: org, source: .standard, pageSize: 333)
                let streamed = try await Self.collect(stream, batch: batch)
                #expect(streamed == all, "\(stages) in batches of \(batch)")
            }
        }
        // Only the organisation's readings, ever.
        let everything = try await StoreQuery(stages: [], operators: .builtin).run(on: testStore.store, organizationID: other, source: .standard)
        #expect(everything.count == 50)
    }

    @Test func theStoreSortsByTimeReceivedAndStopsAtALimitWhenNothingIsLeftOfTheMatch() throws {
        let sorted = try StoreQuery(
            stages: [["$match": ["component_name": "a"]], ["$sort": ["time_received": -1]], ["$limit": 10], ["$project": ["x": 1]]],
            operators: .builtin
        ).readingPlan()
        #expect(sorted.filter == ReadingFilter().restricting(.componentName, to: ["a"]))
        #expect(sorted.descending && sorted.limit == 10 && sorted.residual == nil)
        #expect(sorted.rest.stages == [["$project": ["x": 1]]])

        let residual = try StoreQuery(
            stages: [["$match": ["component_name": "a", "data.x": 1]], ["$sort": ["time_received": 1]], ["$limit": 10]], operators: .builtin
        ).readingPlan()
        #expect(!residual.descending && residual.residual != nil)
        #expect(residual.limit == nil, "the engine filters after the store, so the store cannot stop at the limit")
        #expect(residual.rest.stages == [["$limit": 10]])

        let otherSort = try StoreQuery(stages: [["$sort": ["time_received": -1, "component_name": 1]]], operators: .builtin).readingPlan()
        #expect(!otherSort.descending && otherSort.rest.stages.count == 1, "a compound sort stays in the engine")
    }

    @Test func aClosedStreamEndsAndASinkStreams() async throws {
        let testStore = try await TestStore.make(.sqlite)
        defer { testStore.remove() }
        let org = try await testStore.store.createOrganization(name: "Acme").id
        _ = try await testStore.store.insert((0..<100).map { Self.reading($0, org: org) }, idempotencyKey: nil)
        let query = try StoreQuery(stages: [], operators: .builtin)
        let stream = try query.stream(on: testStore.store, organizationID: org, source: .standard, pageSize: 10)
        #expect(try await stream.next(5).documents.count == 5)
        stream.close()
        let after = try await stream.next(5)
        #expect(after.documents.isEmpty && after.exhausted)

        try await testStore.store.replaceWindow(
            organizationID: org, pipelineID: "p", runID: "r", window: SinkWindow(start: 0, end: 60_000), documents: [["n": 1], ["n": 2]])
        let sink = try StoreQuery(stages: [["$sort": ["n": -1]]], operators: .builtin)
            .stream(on: testStore.store, organizationID: org, source: .pipelineSink("p"))
        #expect(try await Self.collect(sink, batch: 10) == [["n": 2], ["n": 1]])
    }
}
