import FerryBSON
import FerryStore
import FerryTestSupport
import StoreTestSupport
import Testing

@testable import FerryPipelines

/// Runs read only the fields their stages can read (`MQLDependencies`); their results are the
/// ones reading whole readings gives, batched or alone, for pipelines the analysis narrows and for
/// those it cannot (which read whole readings anyway).
@Suite struct ProjectionTests {
    static let now = utc("2024-05-01T10:30")

    static let pipelines: [[BSONDocument]] = [
        PipelineFixture.countStages,
        [
            ["$group": ["_id": "$robot_id", "t": ["$push": "$data.readings.temperature"], "p": ["$first": "$additional_parameters"]]],
            ["$sort": ["_id": 1]], ["$project": ["_id": 0, "robot": "$_id", "t": 1, "p": 1]],
        ],
        [
            ["$match": ["data.readings.temperature": ["$gt": 21]]],
            ["$project": ["_id": 0, "t": "$data.readings.temperature", "time": "$time_received", "tags": 1]],
        ],
        // A leading $match the store answers whole (component_name never leaves it), and one it
        // answers in part (the engine tests the temperature).
        [
            ["$match": ["component_name": "sensor"]], ["$group": ["_id": "$location_id", "n": ["$sum": 1]]],
            ["$project": ["_id": 0, "location": "$_id", "n": 1]],
        ],
        [
            ["$match": ["component_name": "sensor", "data.readings.temperature": ["$gte": 21]]],
            ["$group": ["_id": "$location_id", "n": ["$sum": 1], "t": ["$max": "$data.readings.temperature"]]],
            ["$project": ["_id": 0, "location": "$_id", "n": 1, "t": 1]],
        ],
        // Not narrowed: $$ROOT.
        [["$group": ["_id": "$location_id", "docs": ["$push": "$$ROOT"]]], ["$project": ["_id": 0, "docs": 1]]],
    ]

    /// Readings in the five windows [05:00, 10:00), with temperatures of several BSON types (and none).
    static func readings(org: String) -> [Reading] {
        (0..<40).map { i in
            let time = utc("2024-05-01T05:00") + Int64(i) * 7 * 60_000 + Int64(i % 3)
            let temperature: BSON? =
                switch i % 6 {
                case 0: .int32(Int32(20 + i % 5))
                case 1: .double(20.5 + Double(i % 4))
                case 2: .int64(22)
                case 3: .string("23")
                case 4: nil
                default: .decimal128(BSONDecimal128(low: 215, high: 0x303E_0000_0000_0000))
                }
            var values: BSONDocument = ["i": .int32(Int32(i))]
            if let temperature { values.elements.append(BSONElement("temperature", temperature)) }
            return Reading(
                organizationID: org, locationID: "loc-\(i % 2)", robotID: "robot-\(i % 3)", partID: "part",
                componentType: "rdk:component:sensor", componentName: i % 5 == 0 ? "other" : "sensor", methodName: "Readings",
                timeRequested: time - 1, timeReceived: time, tags: i % 2 == 0 ? ["even"] : [],
                additionalParameters: i % 4 == 0 ? ["unit": "C"] : [:], data: ["readings": .document(values)])
        }
    }

    /// The sink's documents without what differs between the two fixtures (run ids and the
    /// organisation's id, wherever they are), sorted.
    static func results(_ f: PipelineFixture, _ p: PipelineRecord) async throws -> [[UInt8]] {
        func normalized(_ value: BSON) -> BSON {
            switch value {
            case .document(let document):
                return .document(
                    BSONDocument(
                        document.elements.compactMap { element in
                            element.key == "organization_id" || element.key == "id" ? nil : BSONElement(element.key, normalized(element.value))
                        }))
            case .array(let items): return .array(items.map(normalized))
            default: return value
            }
        }
        return try await f.sink(p).map { normalized(.document($0)).documentValue!.encode() }.sorted { $0.lexicographicallyPrecedes($1) }
    }

    @Test(arguments: StoreBackend.all, [100_000, 3])
    func resultsAreTheOnesWholeReadingsGive(_ backend: StoreBackend, batchRows: Int) async throws {
        var results: [Bool: [[[UInt8]]]] = [:]
        for narrow in [true, false] {
            var options = PipelineScheduler.Options.testing
            options.batchRows = batchRows
            options.readsOnlyNeededFields = narrow
            let f = try await PipelineFixture.make(backend, now: Self.now, options: options)
            defer { f.remove() }
            _ = try await f.store.insert(Self.readings(org: f.org), idempotencyKey: nil)
            var created: [PipelineRecord] = []
            for (index, stages) in Self.pipelines.enumerated() {
                created.append(try await f.create(backfill: true, stages: stages, name: "p\(index)"))
            }
            try await f.settle()
            var sinks: [[[UInt8]]] = []
            for p in created {
                let runs = try await f.runs(p)
                #expect(runs.count == 5 && runs.allSatisfy { $0.status == .completed }, "\(p.name): \(runs.map { "\($0.status) \($0.errorMessage ?? "")" })")
                sinks.append(try await Self.results(f, p))
            }
            results[narrow] = sinks
        }
        for (index, stages) in Self.pipelines.enumerated() {
            #expect(!(results[true]?[index].isEmpty ?? true), "\(stages)")
            #expect(results[true]?[index] == results[false]?[index], "pipeline \(index): \(stages)")
        }
    }
}
