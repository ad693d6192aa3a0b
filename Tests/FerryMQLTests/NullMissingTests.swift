import FerryBSON
import Testing

@testable import FerryMQL

@Suite("null versus missing, and array paths")
struct NullMissingTests {
    @Test func inProjectionAndAddFields() {
        expectPipeline(#"[{"$project": {"a": 1, "b": "$b", "c": "$nope"}}]"#, #"{"_id": 1, "b": null}"#, #"{"_id": 1, "b": null}"#)
        expectPipeline(#"[{"$addFields": {"x": "$nope", "y": null}}]"#, #"{"_id": 1}"#, #"{"_id": 1, "y": null}"#)
        expectPipeline(#"[{"$project": {"_id": 0, "arr": ["$nope", "$n"]}}]"#, #"{"n": null}"#, #"{"arr": [null, null]}"#)
    }

    @Test func inExpressions() {
        expectExpr(#"{"$type": "$nope"}"#, #""missing""#)
        expectExpr(#"{"$type": "$n"}"#, #""null""#, on: #"{"n": null}"#)
        expectExpr(#"{"$ifNull": ["$nope", "default"]}"#, #""default""#)
        expectExpr(#"{"$eq": ["$n", null]}"#, "true", on: #"{"n": null}"#)
        expectExpr(#"{"$eq": ["$nope", "$alsoNope"]}"#, "true")
        expectExpr(#"{"$add": ["$nope", 1]}"#, "null")
        expectExpr(#"{"$concat": ["a", "$n"]}"#, "null", on: #"{"n": null}"#)
        expectExpr(#"{"$toUpper": "$nope"}"#, #""""#)
    }

    @Test func inMatchAndGroup() {
        let input = #"[{"_id": 1, "v": null}, {"_id": 2}, {"_id": 3, "v": 0}, {"_id": 4, "v": false}]"#
        expectPipeline(#"[{"$match": {"v": null}}, {"$project": {"_id": 1}}]"#, input, #"[{"_id": 1}, {"_id": 2}]"#)
        expectPipeline(#"[{"$match": {"v": {"$exists": true}}}, {"$project": {"_id": 1}}]"#, input, #"[{"_id": 1}, {"_id": 3}, {"_id": 4}]"#)
        expectPipeline(#"[{"$match": {"$expr": {"$eq": ["$v", null]}}}, {"$project": {"_id": 1}}]"#, input, #"[{"_id": 1}]"#)
        expectPipeline(#"[{"$group": {"_id": "$v", "ids": {"$push": "$_id"}}}]"#, input,
                       #"[{"_id": null, "ids": [1, 2]}, {"_id": 0, "ids": [3]}, {"_id": false, "ids": [4]}]"#)
        expectPipeline(#"[{"$group": {"_id": null, "vs": {"$push": "$v"}, "firstV": {"$first": "$v"}, "lastV": {"$last": "$v"}}}]"#,
                       #"[{"_id": 2}, {"_id": 1, "v": null}, {"_id": 3}]"#,
                       #"{"_id": null, "vs": [null], "firstV": null, "lastV": null}"#)
    }

    @Test func numericPathComponents() {
        func ids(_ filter: String, _ input: String) -> [BSON] {
            (try? run(#"[{"$match": \#(filter)}]"#, input).map { $0["_id"] ?? .null }) ?? []
        }
        let input = #"""
            {"_id": 1, "a": [5, 6]}
            {"_id": 2, "a": {"0": 5}}
            {"_id": 3, "a": [{"b": 1}, {"b": 2}]}
            {"_id": 4, "a": [[5], 7]}
            {"_id": 5, "a": [{"0": 5}]}
            """#
        #expect(ids(#"{"a.0": 5}"#, input) == [1, 2, 4, 5])
        #expect(ids(#"{"a.1.b": 2}"#, input) == [3])
        #expect(ids(#"{"a.b": 2}"#, input) == [3])
        #expect(ids(#"{"a.5": {"$exists": true}}"#, input) == [])
        #expect(ids(#"{"a": [5, 6]}"#, input) == [1])
        #expect(ids(#"{"a": [5]}"#, input) == [4])
        #expect(ids(#"{"a": 5}"#, input) == [1])
    }

    @Test func expressionPathsDoNotTreatNumbersAsIndexes() {
        expectExpr("\"$a.0\"", "[]", on: #"{"a": [5, 6]}"#)
        expectExpr("\"$a.0\"", "5", on: #"{"a": {"0": 5}}"#)
        expectExpr(#"{"$arrayElemAt": ["$a", 0]}"#, "5", on: #"{"a": [5, 6]}"#)
    }
}
