import FerryBSON
import FerryLoader
import FerryTestSupport
import Foundation
import Testing

/// The real plugin library, loaded and called through the C ABI as the MQL engine does.
@Suite struct LTTBPluginTests {
    let op: RegisteredOperator

    init() throws {
        let registry = PluginRegistry()
        let info = try registry.load(path: BuiltProducts.library("FerryMQLSensor"))
        #expect(Set(info.operators.map(\.name)) == ["$lttb", "$dewPoint", "$rms"])
        op = try #require(registry.operator(named: "$lttb"))
    }

    func reading(_ component: String, _ i: Int, _ t: Double) -> BSONDocument {
        ["component_name": .string(component), "time_received": .datetime(1_700_000_000_000 + Int64(i) * 1000), "data": ["readings": ["temperature": .double(t)]]]
    }

    @Test func downsamplesEachPartitionAndKeepsWholeDocuments() throws {
        var docs: [BSONDocument] = []
        for i in (0..<400).reversed() {  // out of order on purpose
            docs.append(reading("a", i, i == 123 ? 90 : 20 + sin(Double(i) / 10)))
            docs.append(reading("b", i, 10))
        }
        docs.append(["component_name": "a", "time_received": .datetime(0)])  // no y: dropped
        let spec: BSON = ["x": "$time_received", "y": "$data.readings.temperature", "points": 25, "partitionBy": "$component_name"]
        try op.validate(spec)
        let out = try op.runStage(spec: spec, documents: docs)
        #expect(out.count == 50)
        let a = out.prefix(25)
        #expect(a.allSatisfy { $0["component_name"] == "a" })
        #expect(out.suffix(25).allSatisfy { $0["component_name"] == "b" })
        let times = a.map { doc -> Int64 in
            guard case .datetime(let ms) = doc["time_received"] else { return -1 }
            return ms
        }
        #expect(times == times.sorted())
        #expect(times.first == 1_700_000_000_000)
        #expect(a.contains { $0["data"]?.documentValue?["readings"]?.documentValue?["temperature"] == .double(90) })
    }

    func select(_ y: [Double], points: Int) throws -> [Int] {
        let docs = y.enumerated().map { BSONDocument([("i", .int32(Int32($0.offset))), ("v", .double($0.element))]) }
        return try op.runStage(spec: ["x": "$i", "y": "$v", "points": .int32(Int32(points))], documents: docs).map {
            Int($0["i"]!.int64Value!)
        }
    }

    @Test func keepsEndsAndExactlyTheAskedNumberOfPoints() throws {
        let kept = try select((0..<1000).map { sin(Double($0) / 50) }, points: 100)
        #expect(kept.count == 100)
        #expect(kept.first == 0)
        #expect(kept.last == 999)
        #expect(kept == kept.sorted())
        #expect(Set(kept).count == 100)
    }

    @Test func aSpikeSurvivesDownsampling() throws {
        var y = [Double](repeating: 1, count: 500)
        y[321] = 40
        #expect(try select(y, points: 20).contains(321))
    }

    @Test func fewerDocumentsThanPointsAreAllKept() throws {
        #expect(try select([3, 1, 2], points: 10) == [0, 1, 2])
    }

    @Test func aBadSpecIsRefusedWithItsReason() {
        #expect(throws: PluginCallError(status: .invalidArgument, message: "$lttb validate: $lttb: 'points' must be an integer from 3 to 1000000")) {
            try op.validate(["x": "$t", "y": "$v", "points": 2])
        }
        #expect(throws: PluginCallError(status: .invalidArgument, message: "$lttb validate: $lttb: 'y' is required, a field path such as \"$time_received\"")) {
            try op.validate(["x": "$t", "points": 10])
        }
        #expect(throws: PluginCallError(status: .invalidArgument, message: "$lttb validate: $lttb: unknown field 'buckets'; expected x, y, points, partitionBy")) {
            try op.validate(["x": "$t", "y": "$v", "buckets": 10])
        }
    }
}
