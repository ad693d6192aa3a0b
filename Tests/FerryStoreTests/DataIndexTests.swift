import FerryBSON
import FerryStore
import Foundation
import StoreTestSupport
import Testing

/// Custom indexes' records, alike on every backend, their specs' validation, and the hints
/// MatchPushdown gives them.
@Suite struct DataIndexTests {
    static func index(_ org: String, _ name: String, _ fields: String...) -> DataIndex {
        DataIndex(organizationID: org, name: name, keys: fields.map { DataIndexKey(field: $0, direction: 1) }, createdAt: 1_000)
    }

    @Test(arguments: StoreBackend.all) func indexesAreCreatedListedAndDeletedPerOrganisation(_ backend: StoreBackend) async throws {
        let f = try await StoreFixture.make(backend)
        defer { f.remove() }
        let store = f.store
        _ = try await store.insert(StoreFixture.readings(0..<20, org: f.orgA), idempotencyKey: nil)
        let temperature = Self.index(f.orgA, "temperature", "data.readings.temperature")
        let pair = DataIndex(
            organizationID: f.orgA, name: "pair",
            keys: [DataIndexKey(field: "data.readings.label", direction: -1), DataIndexKey(field: "data.readings.i", direction: 1)], createdAt: 2_000)
        try await store.createIndex(temperature)
        try await store.createIndex(pair)
        // Another organisation's index on the same path and of the same name is its own.
        try await store.createIndex(Self.index(f.orgB, "temperature", "data.readings.temperature"))
        #expect(try await store.indexes(organizationID: f.orgA) == [temperature, pair])
        #expect(try await store.indexes(organizationID: f.orgA).last?.spec == ["key": ["data.readings.label": -1, "data.readings.i": 1], "name": "pair"])
        #expect(try await store.indexes(organizationID: f.orgB).map(\.name) == ["temperature"])

        var error = await storeError { try await store.createIndex(Self.index(f.orgA, "temperature", "data.readings.other")) }
        #expect(error?.kind == .alreadyExists && error?.message.contains("already has an index named \"temperature\"") == true, "\(String(describing: error))")
        error = await storeError { try await store.createIndex(Self.index(f.orgA, "again", "data.readings.temperature")) }
        #expect(error?.kind == .alreadyExists && error?.message.contains("\"temperature\" already has the keys") == true, "\(String(describing: error))")
        error = await storeError { try await store.createIndex(Self.index("no-such-org", "t", "data.readings.temperature")) }
        #expect(error?.kind == .notFound, "\(String(describing: error))")

        // Deleting one organisation's index leaves the other's (and their shared physical index) working.
        #expect(try await store.deleteIndex(organizationID: f.orgA, name: "temperature"))
        #expect(try await !store.deleteIndex(organizationID: f.orgA, name: "temperature"))
        #expect(try await !store.deleteIndex(organizationID: f.orgA, name: "no-such-index"))
        #expect(try await store.indexes(organizationID: f.orgA) == [pair])
        #expect(try await store.indexes(organizationID: f.orgB).map(\.name) == ["temperature"])
        _ = try await store.insert(StoreFixture.readings(20..<40, org: f.orgB), idempotencyKey: nil)
        var filter = ReadingFilter()
        filter.dataHints = [DataHint(path: ["readings", "temperature"], test: .compare(.atLeast, .double(22)))]
        let hinted = try await store.readings(organizationID: f.orgB, source: .standard, filter: filter, sortByTimeDescending: false, limit: nil)
        #expect(hinted.compactMap(\.recordIndex) == (20..<40).filter { 20 + Double($0 % 10) / 2 >= 22 })
        #expect(try await store.deleteIndex(organizationID: f.orgB, name: "temperature"))
        // With no index left, the hints are ignored.
        let unhinted = try await store.readings(organizationID: f.orgB, source: .standard, filter: filter, sortByTimeDescending: false, limit: nil)
        #expect(unhinted.count == 20)
        // The name is free again, and the physical index is built anew.
        try await store.createIndex(Self.index(f.orgA, "temperature", "data.readings.temperature"))
        let filterA = ReadingFilter.all
        #expect(try await store.readings(organizationID: f.orgA, source: .standard, filter: filterA, sortByTimeDescending: false, limit: nil).count == 20)
    }

    /// Specs are refused with what is wrong and what to give instead.
    @Test func specsAreValidated() throws {
        func refusal(_ spec: BSONDocument) -> String? {
            do {
                _ = try StoreChecks.dataIndex(spec: spec, organizationID: "o", createdAt: 0)
                return nil
            } catch let error as StoreError {
                #expect(error.kind == .invalidArgument)
                return error.message
            } catch {
                return "\(error)"
            }
        }
        let cases: [(BSONDocument, String)] = [
            (["key": ["readings.temperature": 1]], "not inside a reading's data"),
            (["key": ["component_name": 1]], "indexed already"),
            (["key": ["data": 1]], "not inside a reading's data"),
            (["key": ["data..temperature": 1]], "empty field name"),
            (["key": ["data.readings.": 1]], "empty field name"),
            (["key": ["data.$where": 1]], "cannot start with '$'"),
            (["key": ["data.readings.t": "text"]], "only ascending (1) and descending (-1)"),
            (["key": ["data.readings.t": 2]], "only ascending (1) and descending (-1)"),
            (["key": ["data.readings.t": 1], "unique": true], "index option \"unique\" is not supported"),
            (["keys": ["data.readings.t": 1]], "index option \"keys\""),
            ([:], "needs \"key\""),
            (["key": [:]], "is empty"),
            (["key": ["data.readings.t": 1], "name": "two words"], "contains \" \""),
            (["key": ["data.readings.t": 1], "name": 7], "must be a string"),
            (["key": ["data.readings.t": 1], "name": ""], "1 to 128 characters"),
            (["key": .document(BSONDocument((0..<9).map { BSONElement("data.f\($0)", 1) }))], "at most 8"),
        ]
        for (spec, expected) in cases {
            let message = refusal(spec)
            #expect(message?.contains(expected) == true, "\(spec.extendedJSON()): \(message ?? "accepted")")
        }
        // MongoDB's default name; directions kept.
        let index = try StoreChecks.dataIndex(spec: ["key": ["data.readings.t": 1, "data.readings.u": -1.0]], organizationID: "o", createdAt: 0)
        #expect(index.name == "data.readings.t_1_data.readings.u_-1")
        #expect(index.paths == [["readings", "t"], ["readings", "u"]])
        #expect(index.spec == ["key": ["data.readings.t": 1, "data.readings.u": -1], "name": "data.readings.t_1_data.readings.u_-1"])
    }

    /// A `$match` on a path inside data gives hints and stays whole in the residual.
    @Test func matchesOnDataPathsGiveHints() {
        let match: BSONDocument = [
            "data.readings.t": ["$gt": 5, "$lte": 9.5, "$ne": 7], "data.readings.s": "x", "component_name": "c",
            "data.readings.in": ["$in": [1, "a"]], "data.readings.mixed": ["$in": [1, .null]], "data.readings.d": .datetime(5),
            "data.readings.n": ["$gt": .double(.nan)], "$and": [["data.readings.a": 3]],
        ]
        let (filter, residual) = MatchPushdown.split(match)
        #expect(filter.allowed[.componentName] == ["c"])
        #expect(
            filter.dataHints == [
                DataHint(path: ["readings", "t"], test: .compare(.greaterThan, .int(5))),
                DataHint(path: ["readings", "t"], test: .compare(.atMost, .double(9.5))),
                DataHint(path: ["readings", "s"], test: .oneOf([.string("x")])),
                DataHint(path: ["readings", "in"], test: .oneOf([.int(1), .string("a")])),
                DataHint(path: ["readings", "a"], test: .oneOf([.int(3)])),
            ])
        var expected = match
        expected["component_name"] = nil
        #expect(residual == expected)
    }

    /// A sink's indexes are recorded per organisation and pipeline, apart from the hot store's;
    /// deleting the pipeline deletes them.
    @Test(arguments: StoreBackend.all) func sinkIndexesBelongToTheirPipeline(_ backend: StoreBackend) async throws {
        let f = try await StoreFixture.make(backend)
        defer { f.remove() }
        let store = f.store
        for (id, org) in [("p1", f.orgA), ("p2", f.orgA), ("p3", f.orgB)] {
            try await store.createPipeline(
                PipelineRecord(
                    id: id, organizationID: org, name: "pipeline-\(id)", schedule: "0 * * * *", stages: [["$match": [:]]], enableBackfill: false,
                    source: .standard, createdAt: 0, scheduledThrough: 0))
        }
        try await store.replaceWindow(
            organizationID: f.orgA, pipelineID: "p1", runID: "r", window: SinkWindow(start: 0, end: 60_000),
            documents: (0..<10).map { ["_id": .int32(Int32($0)), "n": .int32(Int32($0 % 3))] })
        func sinkIndex(_ org: String, _ pipeline: String, _ name: String, _ field: String) -> DataIndex {
            DataIndex(organizationID: org, pipelineID: pipeline, name: name, keys: [DataIndexKey(field: field, direction: 1)], createdAt: 1_000)
        }
        let n = sinkIndex(f.orgA, "p1", "n", "n")
        try await store.createIndex(n)
        // The same name on the hot store, another pipeline and another organisation's pipeline.
        try await store.createIndex(Self.index(f.orgA, "n", "data.n"))
        try await store.createIndex(sinkIndex(f.orgA, "p2", "n", "n"))
        try await store.createIndex(sinkIndex(f.orgB, "p3", "n", "n"))
        #expect(try await store.indexes(organizationID: f.orgA, pipelineID: "p1") == [n])
        #expect(n.paths == [["n"]] && n.spec == ["key": ["n": 1], "name": "n"])
        #expect(try await store.indexes(organizationID: f.orgA).map(\.keys.first?.field) == ["data.n"])
        var error = await storeError { try await store.createIndex(sinkIndex(f.orgA, "p1", "n", "other")) }
        #expect(error?.kind == .alreadyExists, "\(String(describing: error))")
        // Another organisation's pipeline is not found.
        error = await storeError { try await store.createIndex(sinkIndex(f.orgA, "p3", "x", "x")) }
        #expect(error?.kind == .notFound, "\(String(describing: error))")
        // Read through the index: the documents whose n is 1.
        let hints = MatchPushdown.documentHints(["n": 1])
        #expect(try await store.sinkDocuments(organizationID: f.orgA, pipelineID: "p1", hints: hints).map { $0["_id"] } == [1, 4, 7].map { .int32($0) })
        #expect(try await store.sinkDocuments(organizationID: f.orgA, pipelineID: "p1", hints: []).count == 10)

        #expect(try await store.deleteIndex(organizationID: f.orgA, pipelineID: "p2", name: "n"))
        #expect(try await !store.deleteIndex(organizationID: f.orgA, pipelineID: "p2", name: "n"))
        #expect(try await store.deletePipeline(organizationID: f.orgA, id: "p1"))
        #expect(try await store.indexes(organizationID: f.orgA, pipelineID: "p1").isEmpty)
        #expect(try await store.indexes(organizationID: f.orgA).map(\.name) == ["n"])
        #expect(try await store.indexes(organizationID: f.orgB, pipelineID: "p3").map(\.name) == ["n"])
    }

    /// On a sink, any document path may be indexed; a `$match` on them gives hints.
    @Test func sinkPathsAreAnyDocumentPath() throws {
        let index = try StoreChecks.dataIndex(spec: ["key": ["total": 1, "by.device": -1]], organizationID: "o", pipelineID: "p", createdAt: 0)
        #expect(index.paths == [["total"], ["by", "device"]])
        #expect(throws: StoreError.self) { try StoreChecks.dataIndex(spec: ["key": ["$total": 1]], organizationID: "o", pipelineID: "p", createdAt: 0) }
        #expect(
            MatchPushdown.documentHints(["total": ["$gte": 3], "$and": [["by.device": "a"]], "$or": [["x": 1]], "y": ["$ne": 2]]) == [
                DataHint(path: ["total"], test: .compare(.atLeast, .int(3))),
                DataHint(path: ["by", "device"], test: .oneOf([.string("a")])),
            ])
    }
}
