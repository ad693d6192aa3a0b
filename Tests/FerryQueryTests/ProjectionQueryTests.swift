import FerryBSON
import FerryMQL
import FerryStore
import Foundation
import StoreTestSupport
import Testing

@testable import FerryQuery

/// Projection pushdown, on both backends: the store reads only the fields the stages can read
/// (`MQLDependencies`), and every pipeline answers exactly what it answers over whole documents,
/// whatever the values at the paths are (the awkward ones of `CustomIndexQueryTests`).
@Suite struct ProjectionQueryTests {
    /// `CustomIndexQueryTests.reading` with tags and additional parameters too.
    static func reading(_ i: Int, org: String) -> Reading {
        var reading = CustomIndexQueryTests.reading(i, org: org)
        reading.locationID = "loc-\(i % 3)"
        reading.tags = i % 2 == 0 ? ["even", "t\(i % 3)"] : []
        reading.additionalParameters = i % 5 == 0 ? ["unit": "celsius", "scale": .int32(Int32(i % 4))] : [:]
        return reading
    }

    /// Pipelines and whether the store may read less than whole documents for them.
    static let pipelines: [(json: String, narrow: Bool)] = [
        // The benchmark's shape.
        (#"[{"$match": {"component_name": {"$in": ["sensor-1", "sensor-2"]}}}, {"$group": {"_id": "$location_id", "avg": {"$avg": "$data.readings.temperature"}, "sum": {"$sum": "$data.readings.temperature"}, "n": {"$sum": 1}}}, {"$project": {"location": "$_id", "avg": 1, "sum": 1, "n": 1, "_id": 0}}]"#, true),
        (#"[{"$group": {"_id": {"$dateTrunc": {"date": "$time_received", "unit": "minute"}}, "t": {"$push": "$data.readings.temperature"}, "l": {"$addToSet": "$data.readings.label"}}}, {"$sort": {"_id": 1}}]"#, true),
        (#"[{"$sort": {"time_received": -1}}, {"$project": {"data.readings.temperature": 1, "data.readings.i": 1, "time_received": 1}}]"#, true),
        (#"[{"$match": {"data.readings.label": "r3", "$expr": {"$gt": ["$data.readings.i", 100]}}}, {"$count": "n"}]"#, true),
        (#"[{"$unwind": "$tags"}, {"$group": {"_id": "$tags", "n": {"$sum": 1}, "first": {"$first": "$additional_parameters.unit"}}}, {"$sort": {"_id": 1}}]"#, true),
        (#"[{"$addFields": {"k": {"$cond": [{"$isNumber": "$data.readings.i"}, {"$mod": ["$data.readings.i", 7]}, -1]}}}, {"$bucket": {"groupBy": "$k", "boundaries": [-1, 0, 3, 7], "output": {"m": {"$max": "$additional_parameters.scale"}, "c": {"$sum": 1}}}}]"#, true),
        (#"[{"$match": {"data.readings.i": {"$exists": true}}}, {"$replaceRoot": {"newRoot": "$data.readings"}}, {"$match": {"temperature": {"$type": "number"}}}, {"$limit": 50}]"#, true),
        (#"[{"$facet": {"a": [{"$count": "n"}], "b": [{"$group": {"_id": "$robot_id", "t": {"$min": "$data.readings.temperature"}}}]}}]"#, true),
        (#"[{"$project": {"_id": 0, "m": {"$map": {"input": {"$ifNull": ["$tags", []]}, "as": "t", "in": {"$concat": ["$$t", "-", "$component_name"]}}}}}]"#, true),
        // Fall back to whole documents.
        (#"[{"$match": {"data.readings.temperature": {"$gt": 30}}}]"#, false),
        (#"[{"$group": {"_id": "$location_id", "docs": {"$push": "$$ROOT"}}}, {"$sort": {"_id": 1}}]"#, false),
        (#"[{"$project": {"data": 0, "tags": 0}}, {"$limit": 40}]"#, false),
        (#"[{"$project": {"_id": 1, "tags": 0}}, {"$limit": 40}]"#, false),
        (#"[{"$addFields": {"sortBy": {"k": "$location_id"}}}, {"$group": {"_id": "$sortBy.k", "n": {"$sum": 1}}}, {"$sort": {"_id": 1}}]"#, true),
        (#"[{"$sort": {"time_received": 1}}, {"$limit": 5}]"#, false),
        (#"[{"$setWindowFields": {"sortBy": {"time_received": 1}, "output": {"s": {"$sum": 1, "window": {"documents": ["unbounded", "current"]}}}}}, {"$group": {"_id": null, "m": {"$max": "$s"}}}]"#, false),
    ]

    /// The documents' bytes (bytes, because NaN is not equal to itself).
    static func bytes(_ documents: [BSONDocument]) -> [[UInt8]] { documents.map { $0.encode() } }

    @Test(arguments: StoreBackend.all) func pipelinesAnswerWhatTheyAnswerOverWholeDocuments(_ backend: StoreBackend) async throws {
        let testStore = try await TestStore.make(backend)
        defer { testStore.remove() }
        let store = testStore.store
        let org = try await store.createOrganization(name: "Acme").id
        _ = try await store.insert((0..<400).map { Self.reading($0, org: org) }, idempotencyKey: nil)
        for source in [ReadingSource.standard, .hotStorage] {
            let whole = try await store.readings(organizationID: org, source: source, filter: .all, sortByTimeDescending: false, limit: nil)
            #expect(whole.count == 400)
            for (json, narrow) in Self.pipelines {
                let pipeline = try MQLPipeline(json: json)
                #expect(pipeline.inputFields.isEverything == !narrow, "\(json): \(pipeline.inputFields)")
                let expected = try pipeline.run(whole)
                let query = try StoreQuery(stages: pipeline.stages, operators: .builtin)
                let querySource: QuerySource = source == .hotStorage ? .hotStorage : .standard
                let got = try await query.run(on: store, organizationID: org, source: querySource)
                #expect(!expected.isEmpty, "\(json)")
                #expect(Self.bytes(got) == Self.bytes(expected), "\(json) on \(source): \(got.prefix(3)) vs \(expected.prefix(3))")
                // The streamed path (the MongoDB endpoint's cursors), read in small pages.
                let stream = try query.stream(on: store, organizationID: org, source: querySource, pageSize: 37)
                defer { stream.close() }
                var streamed: [BSONDocument] = []
                while true {
                    let batch = try await stream.next(100)
                    streamed += batch.documents
                    if batch.exhausted { break }
                }
                #expect(Self.bytes(streamed) == Self.bytes(expected), "\(json) streamed on \(source)")
            }
        }
    }

    /// What the store hands over under a field set: the named columns, and of `data` and
    /// `additional_parameters` only the named paths, with values exactly as in the whole document.
    @Test(arguments: StoreBackend.all) func readingsHoldOnlyTheFieldsAskedFor(_ backend: StoreBackend) async throws {
        let testStore = try await TestStore.make(backend)
        defer { testStore.remove() }
        let store = testStore.store
        let org = try await store.createOrganization(name: "Acme").id
        _ = try await store.insert((0..<120).map { Self.reading($0, org: org) }, idempotencyKey: nil)
        let whole = try await store.fetchReadings(
            organizationID: org, source: .standard, filter: .all, descending: false, after: nil, limit: nil)
        let sets: [[String]] = [
            ["location_id", "data.readings.temperature"], ["time_requested", "tags", "additional_parameters.unit"],
            ["data.readings", "robot_id", "part_id", "method_name", "component_type", "organization_id"], ["time_received"], [],
            ["data.readings.label", "data.readings.i", "not_a_column", "data.absent.x"],
        ]
        for dotted in sets {
            let fields = BSONFieldSet(paths: dotted.map { $0.split(separator: ".").map(String.init) })
            let got = try await store.fetchReadings(
                organizationID: org, source: .standard, filter: .all, descending: false, after: nil, limit: nil, fields: fields)
            #expect(got.cursors == whole.cursors, "the same rows in the same order: \(dotted)")
            let expected = whole.documents.map { Self.pruned($0, fields) }
            #expect(Self.bytes(got.documents) == Self.bytes(expected), "\(dotted): \(got.documents.first.map(String.init(describing:)) ?? "-")")
        }
        // Paged, descending, and through the hot storage: the same rows as whole documents.
        let fields = BSONFieldSet(paths: [["data", "readings", "temperature"]])
        for source in [ReadingSource.standard, .hotStorage] {
            let all = try await store.fetchReadings(organizationID: org, source: source, filter: .all, descending: true, after: nil, limit: nil)
            let first = try await store.fetchReadings(
                organizationID: org, source: source, filter: .all, descending: true, after: nil, limit: 50, fields: fields)
            let rest = try await store.fetchReadings(
                organizationID: org, source: source, filter: .all, descending: true, after: first.cursors.last, limit: nil, fields: fields)
            #expect(first.cursors + rest.cursors == all.cursors)
            #expect(Self.bytes(first.documents + rest.documents) == Self.bytes(all.documents.map { Self.pruned($0, fields) }))
        }
    }

    /// The reference cut: `document` with only `fields`, cut down only through embedded documents.
    static func pruned(_ document: BSONDocument, _ fields: BSONFieldSet) -> BSONDocument {
        if fields.isEverything { return document }
        return BSONDocument(
            document.elements.compactMap { element in
                guard let wanted = fields.child(element.key) else { return nil }
                if !wanted.isEverything, case .document(let inner) = element.value {
                    return BSONElement(element.key, .document(pruned(inner, wanted)))
                }
                return element
            })
    }
}
