import FerryBSON
import Testing

@testable import FerryMQL

/// `$match`, case by case from MongoDB's query operator documentation.
@Suite("$match query language")
struct MatchTests {
    /// The `_id`s of `input` that `filter` selects.
    func ids(_ filter: String, _ input: String, sourceLocation: SourceLocation = #_sourceLocation) -> [BSON] {
        do {
            return try run(#"[{"$match": \#(filter)}]"#, input).map { $0["_id"] ?? .null }
        } catch {
            Issue.record("\(filter): \(error)", sourceLocation: sourceLocation)
            return []
        }
    }

    let inventory = """
        {"_id": 1, "item": "journal", "qty": 25, "tags": ["blank", "red"], "dim": [14, 21], "size": {"h": 14, "w": 21, "uom": "cm"}}
        {"_id": 2, "item": "notebook", "qty": 50, "tags": ["red", "blank"], "dim": [14, 21], "size": {"h": 8.5, "w": 11, "uom": "in"}}
        {"_id": 3, "item": "paper", "qty": 100, "tags": ["red", "blank", "plain"], "dim": [14, 21], "size": {"h": 8.5, "w": 11, "uom": "in"}}
        {"_id": 4, "item": "planner", "qty": 75, "tags": ["blank", "red"], "dim": [22.85, 30], "size": {"h": 22.85, "w": 30, "uom": "cm"}}
        {"_id": 5, "item": "postcard", "qty": 45, "tags": ["blue"], "dim": [10, 15.25], "size": {"h": 10, "w": 15.25, "uom": "cm"}}
        """

    @Test func equalityOnScalarsEmbeddedDocumentsAndArrays() {
        #expect(ids(#"{"item": "paper"}"#, inventory) == [3])
        #expect(ids(#"{"size": {"h": 14, "w": 21, "uom": "cm"}}"#, inventory) == [1])
        // Field order matters for whole-document equality.
        #expect(ids(#"{"size": {"w": 21, "h": 14, "uom": "cm"}}"#, inventory) == [])
        #expect(ids(#"{"size.uom": "in"}"#, inventory) == [2, 3])
        #expect(ids(#"{"tags": ["red", "blank"]}"#, inventory) == [2])
        #expect(ids(#"{"tags": "red"}"#, inventory) == [1, 2, 3, 4])
        #expect(ids(#"{"qty": 50.0}"#, inventory) == [2])
        #expect(ids(#"{"qty": {"$numberLong": "50"}}"#, inventory) == [2])
    }

    @Test func comparisonOperatorsAreTypeBracketed() {
        let input = #"[{"_id": 1, "v": 5}, {"_id": 2, "v": "5"}, {"_id": 3, "v": null}, {"_id": 4}, {"_id": 5, "v": 10.5}, {"_id": 6, "v": [1, 20]}]"#
        #expect(ids(#"{"v": {"$gt": 4}}"#, input) == [1, 5, 6])
        #expect(ids(#"{"v": {"$lt": 6}}"#, input) == [1, 6])
        #expect(ids(#"{"v": {"$gte": "5"}}"#, input) == [2])
        #expect(ids(#"{"v": {"$lte": null}}"#, input) == [3, 4])
        #expect(ids(#"{"v": {"$gt": null}}"#, input) == [])
        #expect(ids(#"{"v": {"$gt": 1, "$lt": 20}}"#, input) == [1, 5, 6])
        #expect(ids(#"{"v": {"$gt": {"$minKey": 1}}}"#, input) == [1, 2, 3, 4, 5, 6])
    }

    @Test func arrayElementRangeMatchesAnyElementForEachBound() {
        // {$gt: 15, $lt: 20} on [14, 21]: 21 > 15 and 14 < 20, so it matches (no $elemMatch).
        #expect(ids(#"{"dim": {"$gt": 15, "$lt": 20}}"#, inventory) == [1, 2, 3, 5])
        // Only 15.25 satisfies both bounds at once.
        #expect(ids(#"{"dim": {"$elemMatch": {"$gt": 15, "$lt": 20}}}"#, inventory) == [5])
        #expect(ids(#"{"dim": {"$elemMatch": {"$gt": 22, "$lt": 30}}}"#, inventory) == [4])
        #expect(ids(#"{"dim.1": {"$gt": 25}}"#, inventory) == [4])
    }

    @Test func nullMatchesNullAndMissing() {
        let input = #"[{"_id": 1, "item": null}, {"_id": 2}, {"_id": 3, "item": 1}]"#
        #expect(ids(#"{"item": null}"#, input) == [1, 2])
        #expect(ids(#"{"item": {"$type": "null"}}"#, input) == [1])
        #expect(ids(#"{"item": {"$exists": false}}"#, input) == [2])
        #expect(ids(#"{"item": {"$ne": null}}"#, input) == [3])
    }

    @Test func dottedPathsThroughArraysOfDocuments() {
        let input = #"""
            {"_id": 1, "instock": [{"warehouse": "A", "qty": 5}, {"warehouse": "C", "qty": 15}]}
            {"_id": 2, "instock": [{"warehouse": "C", "qty": 5}]}
            {"_id": 3, "instock": [{"warehouse": "A", "qty": 60}, {"warehouse": "B", "qty": 15}]}
            {"_id": 4, "instock": [{"qty": 40}]}
            """#
        #expect(ids(#"{"instock.qty": {"$lte": 20}}"#, input) == [1, 2, 3])
        #expect(ids(#"{"instock.0.qty": {"$lte": 20}}"#, input) == [1, 2])
        #expect(ids(#"{"instock": {"warehouse": "A", "qty": 5}}"#, input) == [1])
        #expect(ids(#"{"instock": {"$elemMatch": {"qty": 5, "warehouse": "A"}}}"#, input) == [1])
        #expect(ids(#"{"instock": {"$elemMatch": {"qty": {"$gt": 10, "$lte": 20}}}}"#, input) == [1, 3])
        #expect(ids(#"{"instock.qty": {"$gt": 10, "$lte": 20}}"#, input) == [1, 3])
        #expect(ids(#"{"instock.qty": 5, "instock.warehouse": "A"}"#, input) == [1])
        // A document in the array without the field counts as null.
        #expect(ids(#"{"instock.warehouse": null}"#, input) == [4])
        #expect(ids(#"{"instock.warehouse": {"$exists": true}}"#, input) == [1, 2, 3])
    }

    @Test func nestedArraysAreNotTraversedMidPath() {
        let input = #"[{"_id": 1, "a": [[{"b": 1}]]}, {"_id": 2, "a": [{"b": [1, 2]}]}]"#
        #expect(ids(#"{"a.b": 1}"#, input) == [2])
        #expect(ids(#"{"a.0.0.b": 1}"#, input) == [1])
    }

    @Test func inAndNin() {
        let input = #"[{"_id": 1, "t": ["a", "b"]}, {"_id": 2, "t": "c"}, {"_id": 3}, {"_id": 4, "t": "Apple"}]"#
        #expect(ids(#"{"t": {"$in": ["b", "c"]}}"#, input) == [1, 2])
        #expect(ids(#"{"t": {"$in": [null]}}"#, input) == [3])
        #expect(ids(#"{"t": {"$in": [{"$regularExpression": {"pattern": "^ap", "options": "i"}}]}}"#, input) == [4])
        #expect(ids(#"{"t": {"$nin": ["b", "c"]}}"#, input) == [3, 4])
    }

    @Test func logicalOperators() {
        #expect(ids(#"{"$or": [{"qty": {"$lt": 30}}, {"item": "paper"}]}"#, inventory) == [1, 3])
        #expect(ids(#"{"$and": [{"qty": {"$gt": 40}}, {"qty": {"$lt": 80}}]}"#, inventory) == [2, 4, 5])
        #expect(ids(#"{"$nor": [{"qty": {"$lt": 30}}, {"item": "paper"}]}"#, inventory) == [2, 4, 5])
        #expect(ids(#"{"qty": {"$not": {"$gt": 50}}}"#, inventory) == [1, 2, 5])
        #expect(ids(#"{"item": {"$not": {"$regularExpression": {"pattern": "^p", "options": ""}}}}"#, inventory) == [1, 2])
    }

    @Test func existsTypeSizeAllMod() {
        let input = #"""
            {"_id": 1, "v": 1, "a": [1, 2, 3]}
            {"_id": 2, "v": {"$numberLong": "2"}, "a": []}
            {"_id": 3, "v": 2.5, "a": [[1, 2]]}
            {"_id": 4, "v": "x", "a": [2, 3, 4]}
            {"_id": 5, "v": [1, "y"]}
            """#
        #expect(ids(#"{"a": {"$exists": true}}"#, input) == [1, 2, 3, 4])
        #expect(ids(#"{"v": {"$type": "number"}}"#, input) == [1, 2, 3, 5])
        #expect(ids(#"{"v": {"$type": "long"}}"#, input) == [2])
        #expect(ids(#"{"v": {"$type": ["string", 1]}}"#, input) == [3, 4, 5])
        #expect(ids(#"{"v": {"$type": "array"}}"#, input) == [5])
        #expect(ids(#"{"a": {"$size": 3}}"#, input) == [1, 4])
        #expect(ids(#"{"a": {"$size": 0}}"#, input) == [2])
        #expect(ids(#"{"a": {"$all": [2, 3]}}"#, input) == [1, 4])
        #expect(ids(#"{"a": {"$all": [[1, 2]]}}"#, input) == [3])
        #expect(ids(#"{"a": {"$all": []}}"#, input) == [])
        #expect(ids(#"{"v": {"$mod": [2, 0]}}"#, input) == [2, 3])
        #expect(ids(#"{"a": {"$mod": [4, 0]}}"#, input) == [4])
    }

    @Test func regexOperator() {
        let input = #"[{"_id": 1, "s": "Sensor-A"}, {"_id": 2, "s": "sensor-b\nline"}, {"_id": 3, "s": ["x", "sensorC"]}, {"_id": 4, "s": 5}]"#
        #expect(ids(#"{"s": {"$regex": "^sensor"}}"#, input) == [2, 3])
        #expect(ids(#"{"s": {"$regex": "^sensor", "$options": "i"}}"#, input) == [1, 2, 3])
        #expect(ids(#"{"s": {"$regex": "^line", "$options": "m"}}"#, input) == [2])
        #expect(ids(#"{"s": {"$regex": "b.line", "$options": "s"}}"#, input) == [2])
        #expect(ids(#"{"s": {"$regex": " S e n s o r - A", "$options": "x"}}"#, input) == [1])
        #expect(ids(#"{"s": {"$regularExpression": {"pattern": "C$", "options": ""}}}"#, input) == [3])
    }

    @Test func exprComparesFieldsOfTheSameDocument() {
        let input = #"[{"_id": 1, "spent": 120, "budget": 100}, {"_id": 2, "spent": 50, "budget": 100}]"#
        #expect(ids(#"{"$expr": {"$gt": ["$spent", "$budget"]}}"#, input) == [1])
        #expect(ids(#"{"$expr": {"$lt": ["$$NOW", {"$dateFromString": {"dateString": "2030-01-01"}}]}, "_id": 2}"#, input) == [2])
    }

    @Test func sensorReadingsFilters() {
        #expect(ids(#"{"data.readings.temperature": {"$gte": 20, "$lt": 23}}"#, readings) == [1, 2])
        #expect(ids(#"{"time_received": {"$gte": {"$date": "2024-03-01T11:00:00Z"}}}"#, readings) == [4, 5, 6])
        #expect(ids(#"{"data.readings.humidity": {"$exists": false}}"#, readings) == [5])
        #expect(ids(#"{"data.readings.temperature": null}"#, readings) == [6])
    }

    @Test func invalidQueriesAreRefused() {
        expectError(#"[{"$match": {"a": {"$gtt": 1}}}]"#, "[]", "stage 0 ($match)", "$gtt", "did you mean $gt?", stage: 0)
        expectError(#"[{"$match": {"$where": "1"}}]"#, "[]", "$where is not supported")
        expectError(#"[{"$match": {"$or": []}}]"#, "[]", "$or must be a nonempty array")
        expectError(#"[{"$match": {"a": {"$in": 5}}}]"#, "[]", "$in needs an array")
        expectError(#"[{"$match": {"a": {"$mod": [0, 1]}}}]"#, "[]", "divisor cannot be 0")
        expectError(#"[{"$match": {"a": {"$size": -1}}}]"#, "[]", "$size may not be negative")
        expectError(#"[{"$match": {"a": {"$type": "nope"}}}]"#, "[]", "unknown type name alias: nope")
        expectError(#"[{"$match": {"a": {"$regex": "("}}}]"#, "[]", "invalid regular expression")
        expectError(#"[{"$match": 5}]"#, "[]", "the match filter must be an expression in an object")
        expectError(#"[{"$match": {"a": {"$elemMatch": {"$and": [{"$expr": true}]}}}}]"#, "[]", "$expr can only be applied to the top-level document")
    }
}
