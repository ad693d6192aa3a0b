import FerryBSON
import Testing

@testable import FerryMQL

/// `MQLDependencies`: which input fields a pipeline can read, or everything when that is unknown.
@Suite struct DependencyTests {
    /// The analysis of a pipeline written as JSON, as sorted dotted paths (nil for everything).
    static func fields(_ json: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String]? {
        guard case .array(let items) = try BSON(extendedJSON: json) else { throw MQLError(message: "not an array") }
        let set = MQLDependencies.fields(of: items.compactMap(\.documentValue))
        return set.isEverything ? nil : set.paths.map { $0.joined(separator: ".") }.sorted()
    }

    @Test func theBenchmarksPipelineReadsTwoFieldsAndItsMatch() throws {
        // The engine's own pipeline type reports the same.
        let json = """
            [{"$match": {"component_name": "sensor"}},
             {"$group": {"_id": "$location_id", "avg": {"$avg": "$data.readings.temperature"}, "n": {"$sum": 1}}},
             {"$project": {"location": "$_id", "avg": 1, "n": 1, "_id": 0}}]
            """
        #expect(try Self.fields(json) == ["component_name", "data.readings.temperature", "location_id"])
        #expect(try MQLPipeline(json: json).inputFields.paths.count == 3)
    }

    @Test func stagesThatReplaceDocumentsCloseTheSet() throws {
        #expect(try Self.fields(#"[{"$group": {"_id": {"$dateTrunc": {"date": "$time_received", "unit": "hour"}}, "m": {"$max": "$data.v"}}}]"#) == ["data.v", "time_received"])
        #expect(try Self.fields(#"[{"$count": "n"}]"#) == [])
        #expect(try Self.fields(#"[{"$match": {"robot_id": "r"}}, {"$count": "n"}]"#) == ["robot_id"])
        #expect(try Self.fields(#"[{"$project": {"a": 1, "b.c": true, "d": {"e": 1}}}]"#) == ["_id", "a", "b.c", "d.e"])
        #expect(try Self.fields(#"[{"$project": {"_id": 0, "x": {"$add": ["$a", "$b.c"]}, "y": "$$NOW", "z": {"$literal": "$nope"}}}]"#) == ["a", "b.c"])
        #expect(try Self.fields(#"[{"$replaceRoot": {"newRoot": "$data"}}]"#) == ["data"])
        #expect(try Self.fields(#"[{"$replaceWith": {"t": "$time_received", "v": "$data.v"}}]"#) == ["data.v", "time_received"])
        #expect(try Self.fields(#"[{"$sortByCount": "$component_name"}]"#) == ["component_name"])
        #expect(try Self.fields(#"[{"$bucket": {"groupBy": "$data.v", "boundaries": [0, 10], "default": "other", "output": {"s": {"$sum": "$data.w"}}}}]"#) == ["data.v", "data.w"])
        #expect(try Self.fields(#"[{"$bucketAuto": {"groupBy": "$data.v", "buckets": 2}}]"#) == ["data.v"])
        #expect(try Self.fields(#"[{"$facet": {"a": [{"$count": "n"}], "b": [{"$group": {"_id": "$robot_id"}}]}}]"#) == ["robot_id"])
    }

    @Test func stagesThatPassDocumentsOnAddTheirPaths() throws {
        let json = """
            [{"$match": {"$or": [{"a.b": 1}, {"c": {"$gt": 2}}], "$expr": {"$lt": ["$d", "$e.f"]}}},
             {"$addFields": {"g": {"$multiply": ["$h", 2]}}}, {"$set": {"i": "$j"}}, {"$unset": "k"},
             {"$sort": {"l": 1, "m.n": -1}}, {"$unwind": {"path": "$o", "preserveNullAndEmptyArrays": true}}, {"$unwind": "$p"},
             {"$skip": 1}, {"$limit": 5}, {"$sample": {"size": 2}}, {"$project": {"q": 1}}, {"$group": {"_id": "$r"}}]
            """
        // The $group closes nothing by itself here: the inclusion $project before it already did.
        #expect(try Self.fields(json) == ["_id", "a.b", "c", "d", "e.f", "h", "j", "l", "m.n", "o", "p", "q"])
    }

    @Test func accumulatorsAndSortByKeys() throws {
        let json = """
            [{"$group": {"_id": null,
               "top": {"$top": {"sortBy": {"time_received": -1}, "output": ["$data.v", "$robot_id"]}},
               "p": {"$percentile": {"input": "$data.w", "p": [0.5], "method": "approximate"}},
               "f": {"$firstN": {"input": "$data.x", "n": 2}}, "c": {"$count": {}}}}]
            """
        #expect(try Self.fields(json) == ["data.v", "data.w", "data.x", "robot_id", "time_received"])
        // A field merely named sortBy holds expressions, which are read too.
        #expect(try Self.fields(#"[{"$group": {"_id": {"sortBy": {"k": "$data.x"}}, "n": {"$sum": 1}}}]"#)?.contains("data.x") == true)
        #expect(try Self.fields(#"[{"$addFields": {"sortBy": {"k": "$data.x"}}}, {"$group": {"_id": "$sortBy.k"}}]"#)?.contains("data.x") == true)
    }

    @Test func variablesBindValuesNotFields() throws {
        let json = """
            [{"$project": {"_id": 0,
               "m": {"$map": {"input": "$data.list", "as": "item", "in": {"$add": ["$$item.v", "$offset"]}}},
               "l": {"$let": {"vars": {"t": "$data.t"}, "in": {"$multiply": ["$$t", 2]}}},
               "r": {"$reduce": {"input": "$arr", "initialValue": 0, "in": {"$add": ["$$value", "$$this"]}}},
               "f": {"$filter": {"input": "$xs", "cond": {"$gt": ["$$this", 1]}}},
               "g": {"$getField": {"field": "a.b", "input": "$data"}}}}]
            """
        // `data` (the $getField's input) covers data.list and data.t.
        #expect(try Self.fields(json) == ["arr", "data", "offset", "xs"])
    }

    @Test func wholeDocumentReferencesMeanEverything() throws {
        for json in [
            #"[{"$group": {"_id": "$robot_id", "docs": {"$push": "$$ROOT"}}}]"#,
            #"[{"$group": {"_id": "$robot_id", "v": {"$first": "$$ROOT.data"}}}]"#,
            #"[{"$project": {"a": "$$CURRENT"}}]"#,
            #"[{"$project": {"a": "$$CURRENT.b"}}]"#,
            #"[{"$replaceRoot": {"newRoot": "$$ROOT"}}]"#,
            #"[{"$replaceWith": {"$mergeObjects": ["$$ROOT", {"x": 1}]}}]"#,
            #"[{"$project": {"a": {"$getField": "weird.name"}}}]"#,
            #"[{"$project": {"a": {"$getField": {"field": "weird.name"}}}}]"#,
            #"[{"$project": {"a": {"$let": {"vars": {"CURRENT": "$data"}, "in": "$v"}}}}]"#,
            #"[{"$match": {"$expr": {"$eq": ["$$ROOT", {}]}}}, {"$count": "n"}]"#,
        ] {
            #expect(try Self.fields(json) == nil, "\(json)")
        }
    }

    @Test func pipelinesWhoseResultsAreTheInputMeanEverything() throws {
        for json in [
            "[]",
            #"[{"$match": {"a": 1}}]"#,
            #"[{"$sort": {"time_received": -1}}, {"$limit": 3}]"#,
            #"[{"$addFields": {"x": 1}}]"#,
            #"[{"$project": {"data": 0}}]"#,
            #"[{"$project": {"_id": 0}}]"#,
            // As the engine decides, `_id: 1` beside an exclusion keeps it an exclusion.
            #"[{"$project": {"_id": 1, "tags": 0}}]"#,
            #"[{"$project": {"_id": true, "data": {"x": 0}}}]"#,
            #"[{"$unset": ["data"]}, {"$project": {"a": 0, "b": {"c": 0}}}]"#,
            #"[{"$facet": {"all": [{"$match": {"a": 1}}]}}]"#,
        ] {
            #expect(try Self.fields(json) == nil, "\(json)")
        }
    }

    @Test func stagesNotAnalysedMeanEverything() throws {
        for json in [
            #"[{"$lookup": {"from": "other", "localField": "a", "foreignField": "b", "as": "j"}}, {"$count": "n"}]"#,
            #"[{"$setWindowFields": {"sortBy": {"t": 1}, "output": {"s": {"$sum": "$v", "window": {"documents": ["unbounded", "current"]}}}}}, {"$count": "n"}]"#,
            #"[{"$redact": "$$KEEP"}, {"$count": "n"}]"#,
            #"[{"$densify": {"field": "t", "range": {"step": 1, "bounds": "full"}}}, {"$count": "n"}]"#,
            #"[{"$sort": {"score": {"$meta": "textScore"}}}, {"$count": "n"}]"#,
        ] {
            #expect(try Self.fields(json) == nil, "\(json)")
        }
        // Stages the engine would refuse, and plugin stages, are judged from the spec alone.
        #expect(MQLDependencies.fields(of: [["$myPluginStage": ["x": 1]], ["$count": "n"]]).isEverything)
        #expect(MQLDependencies.fields(of: [["$match": ["$where": "true"]], ["$count": "n"]]).isEverything)
        #expect(MQLDependencies.fields(of: [["$match": ["a": 1], "$count": "n"]]).isEverything, "two keys in a stage")
        #expect(MQLDependencies.fields(of: [["$group": ["_id": "$a..b"]]]).isEverything, "a path that is not one")
        #expect(MQLDependencies.fields(of: [["$group": ["_id": ["$accumulator": [:]]]]]).isEverything)
    }

    /// A plugin's expression operator gets its evaluated argument and a plugin's accumulator its
    /// per-document argument: their arguments' paths are what they read.
    @Test func pluginOperatorsReadTheirArguments() throws {
        #expect(
            MQLDependencies.fields(of: [["$group": ["_id": ["$myPluginOp": ["$a", "$b.c"]], "s": ["$myPluginAcc": "$d"]]]]).paths
                == [["a"], ["b", "c"], ["d"]])
    }
}
