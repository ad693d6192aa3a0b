import FerryBSON
import FerryTestSupport
import Foundation
import StoreTestSupport
import Testing

@testable import FerryStore

@Suite struct MatchPushdownTests {
    let t0 = StoreFixture.t0

    @Test func pushesColumnEqualityInAndTimeRanges() {
        let match: BSONDocument = [
            "component_name": "sensor-1",
            "robot_id": ["$in": ["robot-1", "robot-2"]],
            "method_name": ["$eq": "Readings"],
            "time_received": ["$gte": .datetime(t0), "$lt": .datetime(t0 + 1000)],
            "time_requested": .datetime(t0 - 5),
        ]
        let (filter, residual) = MatchPushdown.split(match)
        #expect(residual == nil)
        #expect(filter.allowed == [.componentName: ["sensor-1"], .robotID: ["robot-1", "robot-2"], .methodName: ["Readings"]])
        #expect(filter.timeReceived == TimeBounds(from: t0, through: t0 + 999))
        #expect(filter.timeRequested == TimeBounds(from: t0 - 5, through: t0 - 5))
    }

    @Test func leavesEverythingElseForTheEngine() {
        let cases: [BSONDocument] = [
            ["data.readings.temperature": ["$gt": 20]],
            ["$or": [["component_name": "a"], ["component_name": "b"]]],
            ["component_name": .regex(pattern: "^sensor", options: "")],
            ["component_name": ["$regex": "^sensor"]],
            ["component_name": ["$ne": "a"]],
            ["component_name": ["$in": ["a", .regex(pattern: "b", options: "")]]],
            ["component_name": 5],
            ["component_name": .null],
            ["component_name": ["a": 1]],
            ["component_name": [:]],
            ["time_received": ["$gt": 5]],
            ["time_received": ["$gt": "2024-01-01"]],
            ["time_received": ["$in": [.datetime(t0)]]],
            ["tags": ["even", "lab"]],
            ["tags": ["$size": 2]],
            ["tags": ["$all": ["lab"]]],
            ["tags": ["$ne": "lab"]],
            ["tags": ["$in": ["lab", .regex(pattern: "x", options: "")]]],
            ["tags": 5],
            ["$expr": ["$gt": ["$a", 1]]],
            ["$and": []],
            ["$and": ["not a document"]],
        ]
        for match in cases {
            let (filter, residual) = MatchPushdown.split(match)
            #expect(filter.isEmpty, "\(match.extendedJSON())")
            #expect(residual == match, "\(match.extendedJSON())")
        }
    }

    @Test func splitsMixedDocumentsKeepingOrder() {
        let match: BSONDocument = [
            "data.readings.x": ["$gt": 1],
            "component_name": ["$in": ["a", "b"], "$nin": ["b"]],
            "time_received": ["$gte": .datetime(t0), "$ne": .datetime(t0 + 5)],
            "$and": [["robot_id": "r1"], ["$or": [["part_id": "p"], ["part_id": "q"]]]],
        ]
        let (filter, residual) = MatchPushdown.split(match)
        #expect(filter.allowed == [.componentName: ["a", "b"], .robotID: ["r1"]])
        #expect(filter.timeReceived.lower == t0)
        #expect(
            residual
                == [
                    "data.readings.x": ["$gt": 1],
                    "component_name": ["$nin": ["b"]],
                    "time_received": ["$ne": .datetime(t0 + 5)],
                    "$and": [["$or": [["part_id": "p"], ["part_id": "q"]]]],
                ])
    }

    /// Tags are an array of strings: equality to a string or `$in` strings means "has one of".
    /// Fixture readings with an even index have the tags `even` and `lab`, odd ones none.
    @Test(arguments: StoreBackend.all) func tagConditionsArePushedDown(_ backend: StoreBackend) async throws {
        let f = try await StoreFixture.make(backend)
        defer { f.remove() }
        _ = try await f.store.insert(StoreFixture.readings(0..<20, org: f.orgA), idempotencyKey: nil)
        let even = Array(stride(from: 0, to: 20, by: 2))
        let cases: [(BSONDocument, Set<String>, [Int])] = [
            (["tags": "lab"], ["lab"], even),
            (["tags": ["$eq": "even"]], ["even"], even),
            (["tags": ["$in": ["lab", "other"]]], ["lab", "other"], even),
            (["tags": ["$in": ["other"]]], ["other"], []),
            (["tags": ["$in": []]], [], []),
            (["tags": "odd"], ["odd"], []),
        ]
        for (match, tags, indexes) in cases {
            let (filter, residual) = MatchPushdown.split(match)
            #expect(residual == nil, "\(match.extendedJSON())")
            #expect(filter.anyTag == tags, "\(match.extendedJSON())")
            let rows = try await f.store.readings(organizationID: f.orgA, source: .standard, filter: filter, sortByTimeDescending: false, limit: nil)
            #expect(rows.compactMap(\.recordIndex) == indexes, "\(match.extendedJSON())")
        }
        // One set of tags per filter: a second condition stays for the engine.
        let (filter, residual) = MatchPushdown.split(["$and": [["tags": "lab"], ["tags": ["$in": ["x"], "$size": 2]]]])
        #expect(filter.anyTag == ["lab"])
        #expect(residual == ["$and": [["tags": ["$in": ["x"], "$size": 2]]]])
        // A tag with a NUL in it stays for the engine (PostgreSQL text cannot hold one).
        for match: BSONDocument in [["tags": "a\u{0}b"], ["tags": ["$in": ["x", "a\u{0}"]]]] {
            let (nul, rest) = MatchPushdown.split(match)
            #expect(nul.anyTag == nil && rest == match)
        }
    }

    @Test func duplicateKeysAreLeftWhole() {
        let match = BSONDocument([BSONElement("component_name", "a"), BSONElement("component_name", "b")])
        let (filter, residual) = MatchPushdown.split(match)
        #expect(filter.isEmpty && residual == match)
        let op: BSONDocument = ["time_received": .document(BSONDocument([BSONElement("$gt", .datetime(1)), BSONElement("$gt", .datetime(2))]))]
        #expect(MatchPushdown.split(op).residual == op)
    }

    @Test func impossibleBoundsMatchNothing() {
        let (filter, _) = MatchPushdown.split(["time_received": ["$gt": .datetime(Int64.max)]])
        #expect(filter.matchesNothing)
        let (crossed, _) = MatchPushdown.split(["time_received": ["$gt": .datetime(10), "$lt": .datetime(5)]])
        #expect(crossed.matchesNothing)
        let (empty, _) = MatchPushdown.split(["component_name": ["$in": []]])
        #expect(empty.matchesNothing)
    }

    /// Random `$match` documents, mixing pushable and non-pushable parts, evaluated two ways:
    /// by the reference evaluator on every row, and by the store's SQL filter then the reference
    /// on the residual. The rows must be identical.
    @Test(arguments: StoreBackend.all) func randomMatchesAreEquivalentToBruteForce(_ backend: StoreBackend) async throws {
        let f = try await StoreFixture.make(backend)
        defer { f.remove() }
        _ = try await f.store.insert(StoreFixture.readings(0..<120, org: f.orgA), idempotencyKey: nil)
        _ = try await f.store.insert(StoreFixture.readings(0..<30, org: f.orgB), idempotencyKey: nil)
        let everything = try await f.store.readings(organizationID: f.orgA, source: .standard, filter: .all, sortByTimeDescending: false, limit: nil)
        var generator = SeededGenerator(seed: 42)
        var pushedSomething = 0
        var nonEmptyResults = 0
        for round in 0..<400 {
            let match = randomMatch(&generator, orgs: [f.orgA, f.orgB], depth: 0)
            let expected = everything.filter { ReferenceMatch.matches($0, match) }
            let (filter, residual) = MatchPushdown.split(match)
            let candidates = try await f.store.readings(organizationID: f.orgA, source: .standard, filter: filter, sortByTimeDescending: false, limit: nil)
            let actual = candidates.filter { doc in residual.map { ReferenceMatch.matches(doc, $0) } ?? true }
            #expect(actual == expected, "round \(round): \(match.extendedJSON())")
            if !filter.isEmpty { pushedSomething += 1 }
            if !expected.isEmpty { nonEmptyResults += 1 }
        }
        // The generator must exercise the pushdown, and not only produce empty results.
        #expect(pushedSomething > 200)
        #expect(nonEmptyResults > 100)
    }

    func randomMatch(_ g: inout SeededGenerator, orgs: [String], depth: Int) -> BSONDocument {
        var match = BSONDocument()
        for _ in 0..<Int.random(in: 1...3, using: &g) {
            let (key, value) = randomClause(&g, orgs: orgs, depth: depth)
            if match[key] == nil { match.append(key, value) }
        }
        return match
    }

    func randomClause(_ g: inout SeededGenerator, orgs: [String], depth: Int) -> (String, BSON) {
        let textFields: [(String, [String])] = [
            ("component_name", (0..<5).map { "sensor-\($0)" }), ("robot_id", (0..<4).map { "robot-\($0)" }),
            ("part_id", (0..<4).map { "part-\($0)" }), ("location_id", ["loc-0", "loc-1", "loc-9"]),
            ("method_name", ["Readings", "Position", "Other"]),
            ("component_type", ["rdk:component:sensor", "rdk:component:movement_sensor"]), ("organization_id", orgs),
        ]
        func date() -> BSON { .datetime(t0 + Int64.random(in: -5...125, using: &g) * 60_000 + [0, 0, -5, 1].randomElement(using: &g)!) }
        switch Int.random(in: 0..<10, using: &g) {
        case 0...3:
            let (field, values) = textFields.randomElement(using: &g)!
            let v = (0..<2).map { _ in BSON.string(values.randomElement(using: &g)!) }
            let options: [BSON] = [
                v[0], ["$eq": v[0]], ["$in": [v[0], v[1]]], ["$in": .array([])], ["$ne": v[0]], ["$nin": [v[0]]],
                ["$in": [v[0], 7]], .regex(pattern: "[02]$", options: ""), ["$regex": "^sensor-[13]"], 5, .null,
                ["$in": [v[0]], "$ne": v[1]], ["$exists": true],
            ]
            return (field, options.randomElement(using: &g)!)
        case 4...6:
            let field = Bool.random(using: &g) ? "time_received" : "time_requested"
            let ops = ["$gt", "$gte", "$lt", "$lte", "$eq", "$ne"]
            var condition = BSONDocument()
            for _ in 0..<Int.random(in: 1...2, using: &g) {
                let op = ops.randomElement(using: &g)!
                if condition[op] == nil { condition.append(op, Int.random(in: 0..<8, using: &g) == 0 ? .int64(t0) : date()) }
            }
            return (field, Int.random(in: 0..<6, using: &g) == 0 ? date() : .document(condition))
        case 7:
            let ops: [BSON] = [["$gt": 22], ["$lte": 21.5], ["$eq": 20], ["$in": [20.5, 24]]]
            return ("data.readings.temperature", ops.randomElement(using: &g)!)
        default:
            guard depth < 2 else { return ("method_name", "Readings") }
            let clauses = (0..<Int.random(in: 1...3, using: &g)).map { _ in BSON.document(randomMatch(&g, orgs: orgs, depth: depth + 1)) }
            return ([("$and"), ("$and"), ("$or"), ("$nor")].randomElement(using: &g)!, .array(clauses))
        }
    }
}
