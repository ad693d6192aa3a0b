import FerryBSON
import Foundation
import Testing

@testable import FerryMQL

@Suite("pipeline API: validation, registry, pushdown, streaming, memory")
struct PipelineAPITests {
    @Test func wholePipelineIsValidatedBeforeAnyDocumentFlows() {
        expectError(#"[{"$match": {}}, {"$frobnicate": {}}]"#, "[]", "stage 1 ($frobnicate): stage $frobnicate is unknown", stage: 1)
        expectError(#"[{"$grup": {"_id": 1}}]"#, "[]", "stage $grup is unknown; did you mean $group?")
        expectError(#"[{"$match": {}}, {"$out": "elsewhere"}]"#, "[]", "stage 1 ($out): $out is not supported", "sink collection", stage: 1)
        expectError(#"[{"$merge": {"into": "x"}}]"#, "[]", "$merge is not supported")
        expectError(#"[{"$match": {}, "$limit": 1}]"#, "[]", "exactly one field", stage: 0)
        expectError(#"[{}]"#, "[]", "found an empty object")
        expectError(#"[5]"#, "[]", "each stage must be an object")
        expectError(#"{"$match": {}}"#, "[]", "a pipeline must be a JSON array of stages")
        expectError(#"[{"$match": {"#, "[]", "not valid JSON")
        expectError(#"[{"$project": {"a": {"$concat": ["x", {"$toUpperr": "y"}]}}}]"#, "[]", "stage 0 ($project)", "expression operator $toUpperr is unknown; did you mean $toUpper?")
        expectError(#"[{"$addFields": {"a": {"$dateTrunc": {"date": "$t", "unitt": "hour"}}}}]"#, "[]", "$dateTrunc does not take an argument 'unitt'; did you mean 'unit'?")
    }

    @Test func errorDescriptionsNameStageOperatorAndProblem() throws {
        do {
            _ = try MQLPipeline(json: #"[{"$match": {}}, {"$sort": {"t": 1}}, {"$group": {"_id": null, "a": {"$avgg": "$x"}}}]"#)
            Issue.record("expected an error")
        } catch let e as MQLError {
            #expect(e.stageIndex == 2)
            #expect(e.stageName == "$group")
            #expect(e.operatorName == "$avgg")
            #expect(e.description == "stage 2 ($group): accumulator $avgg is unknown; did you mean $avg?")
        }
    }

    @Test func runtimeErrorsNameTheStageToo() {
        expectError(#"[{"$match": {}}, {"$project": {"r": {"$divide": ["$a", "$b"]}}}]"#, #"{"a": 1, "b": 0}"#, "stage 1 ($project)", "can't $divide by zero", stage: 1)
    }

    @Test func pluginOperatorsOfEveryKind() throws {
        var registry = MQLOperatorRegistry()
        try registry.register(MQLExpressionOperator(name: "$celsiusToKelvin", validate: { arg in
            if case .string(let s) = arg, !s.hasPrefix("$") { throw MQLError(message: "expects a number or a field path") }
        }) { v in
            guard let c = v.numericDouble else { return .null }
            return .double(c + 273.15)
        })
        final class Range: MQLAccumulatorState {
            var low = Double.infinity, high = -Double.infinity
            func add(_ value: BSON) throws {
                guard let d = value.numericDouble else { return }
                low = min(low, d)
                high = max(high, d)
            }
            func merge(_ other: any MQLAccumulatorState) throws {
                guard let o = other as? Range else { return }
                low = min(low, o.low)
                high = max(high, o.high)
            }
            func finalize() throws -> BSON { low.isFinite ? .double(high - low) : .null }
        }
        try registry.register(MQLAccumulatorOperator(name: "$range") { _ in Range() })
        try registry.register(MQLStageOperator(name: "$everyOther", validate: { spec in
            guard case .document = spec else { throw MQLError(message: "expects an object") }
        }) { _, docs in
            docs.enumerated().filter { $0.offset % 2 == 0 }.map(\.element)
        })

        expectPipeline(#"[{"$limit": 1}, {"$project": {"k": {"$celsiusToKelvin": "$data.readings.temperature"}}}]"#, readings,
                       #"{"_id": 1, "k": 293.65}"#, registry: registry)
        expectPipeline(#"[{"$group": {"_id": "$component_name", "spread": {"$range": "$data.readings.temperature"}}}]"#, readings,
                       #"[{"_id": "thermo-1", "spread": 2.5}, {"_id": "thermo-2", "spread": 1.0}]"#, registry: registry)
        expectPipeline(#"[{"$everyOther": {}}, {"$project": {"_id": 1}}]"#, readings, #"[{"_id": 1}, {"_id": 3}, {"_id": 5}]"#, registry: registry)
        expectPipeline(#"[{"$setWindowFields": {"sortBy": {"_id": 1}, "output": {"r": {"$range": "$_id", "window": {"documents": [-1, 0]}}}}}, {"$project": {"r": 1}}, {"$limit": 2}]"#,
                       readings, #"[{"_id": 1, "r": 0.0}, {"_id": 2, "r": 1.0}]"#, registry: registry)

        #expect(throws: MQLError.self) { try MQLPipeline(json: #"[{"$everyOther": 5}]"#, registry: registry) }
        #expect(throws: MQLError.self) { try MQLPipeline(json: #"[{"$project": {"k": {"$celsiusToKelvin": "hot"}}}]"#, registry: registry) }
        // Without the registry the names are unknown.
        expectError(#"[{"$everyOther": {}}]"#, "[]", "stage $everyOther is unknown")
    }

    @Test func registryRefusesBadAndDuplicateNames() throws {
        var registry = MQLOperatorRegistry()
        let op = MQLExpressionOperator(name: "$double") { $0 }
        try registry.register(op)
        #expect(throws: MQLError.self) { try registry.register(op) }
        #expect(throws: MQLError.self) { try registry.register(MQLExpressionOperator(name: "$add") { $0 }) }
        #expect(throws: MQLError.self) { try registry.register(MQLExpressionOperator(name: "noDollar") { $0 }) }
        #expect(throws: MQLError.self) { try registry.register(MQLExpressionOperator(name: "$has space") { $0 }) }
        #expect(throws: MQLError.self) { try registry.register(MQLStageOperator(name: "$group") { _, d in d }) }
        #expect(throws: MQLError.self) { try registry.register(MQLAccumulatorOperator(name: "$sum") { _ in fatalError() }) }
    }

    @Test func pluginErrorsAreWrappedWithStageAndOperator() throws {
        var registry = MQLOperatorRegistry()
        try registry.register(MQLExpressionOperator(name: "$fail") { _ in throw MQLError(message: "sensor exploded") })
        do {
            _ = try MQLPipeline(json: #"[{"$match": {}}, {"$set": {"x": {"$fail": 1}}}]"#, registry: registry).run([["a": 1]])
            Issue.record("expected an error")
        } catch let e as MQLError {
            #expect(e.description == "stage 1 ($set): $fail: sensor exploded")
        }
    }

    @Test func pushdownTakesLeadingMatchSortLimit() throws {
        let p = try MQLPipeline(json: #"""
            [{"$match": {"component_name": "thermo-1"}}, {"$match": {"time_received": {"$gte": {"$date": "2024-03-01T00:00:00Z"}}}},
             {"$sort": {"time_received": -1}}, {"$limit": 2}, {"$project": {"t": "$data.readings.temperature"}}]
            """#)
        let push = p.pushdown
        #expect(push.stageCount == 4)
        #expect(push.limit == 2)
        #expect(push.sort == ["time_received": -1])
        #expect(push.match == BSONDocument([("$and", .array([.document(["component_name": "thermo-1"]), value(#"{"time_received": {"$gte": {"$date": "2024-03-01T00:00:00Z"}}}"#)]))]))
        #expect(p.leadingMatch == push.match)
        let rest = try p.droppingLeadingStages(push.stageCount)
        #expect(rest.stages.count == 1)
        let out = try rest.run(documents(#"[{"_id": 4, "data": {"readings": {"temperature": 23.0}}}]"#))
        #expect(out == documents(#"[{"_id": 4, "t": 23.0}]"#))
        // Errors keep the original stage numbers.
        let bad = try MQLPipeline(json: #"[{"$match": {}}, {"$project": {"r": {"$divide": [1, "$z"]}}}]"#).droppingLeadingStages(1)
        do {
            _ = try bad.run([["z": 0]])
            Issue.record("expected an error")
        } catch let e as MQLError {
            #expect(e.stageIndex == 1)
        }
        #expect(try MQLPipeline(json: #"[{"$project": {"a": 1}}]"#).pushdown.stageCount == 0)
    }

    @Test func streamingPullsOnlyWhatItNeeds() throws {
        let p = try MQLPipeline(json: #"[{"$match": {"v": {"$mod": [2, 0]}}}, {"$set": {"w": {"$multiply": ["$v", 10]}}}, {"$limit": 3}]"#)
        var pulled = 0
        var cursor = p.stream(input: {
            pulled += 1
            return ["v": .int32(Int32(pulled))]
        })
        var results: [BSONDocument] = []
        while let d = try cursor.next() { results.append(d) }
        #expect(results.map { $0["w"]! } == [20, 40, 60])
        #expect(pulled == 6)
    }

    @Test func memoryLimitFailsClearlyInsteadOfTruncating() throws {
        let p = try MQLPipeline(json: #"[{"$sort": {"v": 1}}]"#, options: MQLOptions(memoryLimitBytes: 10_000))
        let input = (0..<1000).map { BSONDocument([("v", .int32(Int32($0))), ("pad", .string(String(repeating: "x", count: 50)))]) }
        do {
            _ = try p.run(input)
            Issue.record("expected the memory limit to trip")
        } catch let e as MQLError {
            #expect(e.stageIndex == 0)
            #expect(e.description.contains("exceeded the memory limit of 10000 bytes"))
        }
        let group = try MQLPipeline(json: #"[{"$group": {"_id": null, "all": {"$push": "$pad"}}}]"#, options: MQLOptions(memoryLimitBytes: 10_000))
        #expect(throws: MQLError.self) { try group.run(input) }
        // $sort + $limit keeps only the top documents, so it fits.
        let top = try MQLPipeline(json: #"[{"$sort": {"v": -1}}, {"$limit": 3}, {"$project": {"v": 1, "_id": 0}}]"#, options: MQLOptions(memoryLimitBytes: 10_000))
        #expect(try top.run(input) == [["v": 999], ["v": 998], ["v": 997]])
    }

    @Test func nowIsFixedForTheWholeRun() throws {
        let p = try MQLPipeline(json: #"[{"$project": {"_id": 0, "n": "$$NOW"}}]"#)
        let out = try p.run(Array(repeating: BSONDocument(), count: 3), context: MQLContext(now: fixedNow))
        #expect(Set(out.map { $0["n"]! }) == [.datetime(1_709_294_400_000)])
    }

    @Test func pipelineIsSendableAndRunsConcurrently() async throws {
        let p = try MQLPipeline(json: #"[{"$group": {"_id": "$component_name", "n": {"$sum": 1}}}, {"$sort": {"_id": 1}}]"#)
        let input = documents(readings)
        let results = try await withThrowingTaskGroup(of: [BSONDocument].self) { group in
            for _ in 0..<4 { group.addTask { try p.run(input) } }
            var all: [[BSONDocument]] = []
            for try await r in group { all.append(r) }
            return all
        }
        #expect(results.allSatisfy { $0 == documents(#"[{"_id": "thermo-1", "n": 3}, {"_id": "thermo-2", "n": 3}]"#) })
    }
}
