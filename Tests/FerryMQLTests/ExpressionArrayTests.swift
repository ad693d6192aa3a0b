import FerryBSON
import Testing

@testable import FerryMQL

@Suite("expressions: arrays, objects, sets")
struct ExpressionArrayTests {
    @Test func accessors() {
        expectExpr(#"{"$size": [[1, 2, 3]]}"#, "3")
        expectExprError(#"{"$size": "$missing"}"#, "The argument to $size must be an array. Type of the argument was: missing")
        expectExpr(#"{"$arrayElemAt": [[1, 2, 3], 0]}"#, "1")
        expectExpr(#"{"$arrayElemAt": [[1, 2, 3], -1]}"#, "3")
        expectExpr(#"{"$arrayElemAt": [[1, 2, 3], 15]}"#, "missing")
        expectExpr(#"{"$arrayElemAt": ["$missing", 0]}"#, "null")
        expectExprError(#"{"$arrayElemAt": [[1], 1.5]}"#, "$arrayElemAt's second argument must be representable as a 32-bit integer")
        expectExpr(#"{"$first": [[1, 2, 3]]}"#, "1")
        expectExpr(#"{"$last": "$a"}"#, "3", on: #"{"a": [1, 2, 3]}"#)
        expectExpr(#"{"$first": [[]]}"#, "missing")
        expectExpr(#"{"$first": "$missing"}"#, "null")
        expectExprError(#"{"$last": "abc"}"#, "$last's argument must be an array, but is string")
        expectExpr(#"{"$slice": [[1, 2, 3, 4], 2]}"#, "[1, 2]")
        expectExpr(#"{"$slice": [[1, 2, 3, 4], -2]}"#, "[3, 4]")
        expectExpr(#"{"$slice": [[1, 2, 3, 4], 1, 2]}"#, "[2, 3]")
        expectExpr(#"{"$slice": [[1, 2, 3, 4], -3, 2]}"#, "[2, 3]")
        expectExpr(#"{"$slice": [[1, 2, 3, 4], 10, 2]}"#, "[]")
        expectExprError(#"{"$slice": [[1, 2], 0, 0]}"#, "Third argument to $slice must be positive")
    }

    @Test func membershipAndIndexes() {
        expectExpr(#"{"$in": [2, [1, 2, 3]]}"#, "true")
        expectExpr(#"{"$in": [2.0, [1, {"$numberLong": "2"}]]}"#, "true")
        expectExpr(#"{"$in": [[1], [1, 2]]}"#, "false")
        expectExprError(#"{"$in": [1, "$missing"]}"#, "$in requires an array as a second argument, found: missing")
        expectExpr(#"{"$indexOfArray": [["a", "b", "a"], "a", 1]}"#, "2")
        expectExpr(#"{"$indexOfArray": [["a", "b"], "c"]}"#, "-1")
        expectExpr(#"{"$indexOfArray": [null, "c"]}"#, "null")
        expectExpr(#"{"$isArray": [[1]]}"#, "true")
        expectExpr(#"{"$isArray": ["$missing"]}"#, "false")
    }

    @Test func buildingArrays() {
        expectExpr(#"{"$concatArrays": [[1], [2, [3]], []]}"#, "[1, 2, [3]]")
        expectExpr(#"{"$concatArrays": [[1], null]}"#, "null")
        expectExpr(#"{"$reverseArray": [[1, 2, 3]]}"#, "[3, 2, 1]")
        expectExpr(#"{"$range": [0, 10, 3]}"#, "[0, 3, 6, 9]")
        expectExpr(#"{"$range": [5, 0, -2]}"#, "[5, 3, 1]")
        expectExpr(#"{"$range": [0, 5, -1]}"#, "[]")
        expectExprError(#"{"$range": [0, 5, 0]}"#, "$range requires a non-zero step value")
        expectExpr(#"{"$zip": {"inputs": [[1, 2, 3], ["a", "b"]]}}"#, #"[[1, "a"], [2, "b"]]"#)
        expectExpr(#"{"$zip": {"inputs": [[1, 2, 3], ["a"]], "useLongestLength": true, "defaults": [0, "z"]}}"#,
                   #"[[1, "a"], [2, "z"], [3, "z"]]"#)
        expectExpr(#"{"$zip": {"inputs": [[1], null]}}"#, "null")
        expectExpr(#"{"$sortArray": {"input": [3, 1, "a", 2], "sortBy": 1}}"#, #"[1, 2, 3, "a"]"#)
        expectExpr(#"{"$sortArray": {"input": [{"v": 2, "n": "x"}, {"v": 1, "n": "y"}], "sortBy": {"v": -1}}}"#,
                   #"[{"v": 2, "n": "x"}, {"v": 1, "n": "y"}]"#)
    }

    @Test func higherOrder() {
        expectExpr(#"{"$map": {"input": [1, 2, 3], "as": "x", "in": {"$multiply": ["$$x", 10]}}}"#, "[10, 20, 30]")
        expectExpr(#"{"$map": {"input": "$r", "in": {"$add": ["$$this.t", "$offset"]}}}"#, "[21.0, 22.5]",
                   on: #"{"offset": 1, "r": [{"t": 20.0}, {"t": 21.5}]}"#)
        expectExpr(#"{"$map": {"input": null, "in": 1}}"#, "null")
        expectExprError(#"{"$map": {"input": 5, "in": 1}}"#, "input to $map must be an array not int")
        expectExpr(#"{"$filter": {"input": [1, 5, 10, 15], "as": "v", "cond": {"$gte": ["$$v", 5]}}}"#, "[5, 10, 15]")
        expectExpr(#"{"$filter": {"input": [1, 5, 10, 15], "cond": {"$gte": ["$$this", 5]}, "limit": 2}}"#, "[5, 10]")
        expectExpr(#"{"$reduce": {"input": [1, 2, 3, 4], "initialValue": 0, "in": {"$add": ["$$value", "$$this"]}}}"#, "10")
        expectExpr(#"{"$reduce": {"input": [["a"], ["b", "c"]], "initialValue": [], "in": {"$concatArrays": ["$$value", "$$this"]}}}"#, #"["a", "b", "c"]"#)
        // Nested scopes see outer variables.
        expectExpr(#"{"$map": {"input": [1, 2], "as": "o", "in": {"$map": {"input": [10, 20], "as": "i", "in": {"$add": ["$$o", "$$i"]}}}}}"#,
                   "[[11, 21], [12, 22]]")
        expectExprError(#"{"$map": {"input": [1], "in": "$$x"}}"#, "use of undefined variable: x")
    }

    @Test func accumulatorsOverArrays() {
        expectExpr(#"{"$sum": [[1, 2, "x", 3.5]]}"#, "6.5")
        expectExpr(#"{"$sum": "$a"}"#, "6", on: #"{"a": [1, 2, 3]}"#)
        expectExpr(#"{"$sum": ["$a", 1]}"#, "1", on: #"{"a": [1, 2, 3]}"#)
        expectExpr(#"{"$sum": "$missing"}"#, "0")
        expectExpr(#"{"$avg": [[1, 2, 3, 4]]}"#, "2.5")
        expectExpr(#"{"$avg": [[]]}"#, "null")
        expectExpr(#"{"$max": [[1, 5, null, 3]]}"#, "5")
        expectExpr(#"{"$min": [4, "$a", 2]}"#, "2", on: #"{"a": null}"#)
        expectExpr(#"{"$min": [[]]}"#, "null")
        expectExpr(#"{"$stdDevPop": [[1, 2, 3, 4]]}"#, "1.118033988749895")
        expectExpr(#"{"$stdDevSamp": [[1, 2, 3, 4]]}"#, "1.2909944487358056")
        expectExpr(#"{"$stdDevSamp": [[1]]}"#, "null")
        expectExpr(#"{"$median": {"input": [5, 1, 3, 2], "method": "approximate"}}"#, "2.0")
        expectExpr(#"{"$percentile": {"input": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], "p": [0.5, 0.9], "method": "approximate"}}"#, "[5.0, 9.0]")
        expectExpr(#"{"$percentile": {"input": [1, 2, 3, 4], "p": [0.5], "method": "continuous"}}"#, "[2.5]")
        expectExpr(#"{"$maxN": {"n": 2, "input": [3, 1, null, 7, 5]}}"#, "[7, 5]")
        expectExpr(#"{"$minN": {"n": 2, "input": [3, 1, null, 7, 5]}}"#, "[1, 3]")
        expectExpr(#"{"$firstN": {"n": 2, "input": [3, null, 7]}}"#, "[3, null]")
        expectExpr(#"{"$lastN": {"n": 5, "input": [3, 1]}}"#, "[3, 1]")
        expectExprError(#"{"$firstN": {"n": 0, "input": [1]}}"#, "'n' must be greater than 0")
    }

    @Test func setOperators() {
        expectExpr(#"{"$setUnion": [[1, 2], [2, 3, 1.0]]}"#, "[1, 2, 3]")
        expectExpr(#"{"$setIntersection": [[1, 2, 3], [3, 2, 5]]}"#, "[2, 3]")
        expectExpr(#"{"$setDifference": [[1, 2, 3], [2]]}"#, "[1, 3]")
        expectExpr(#"{"$setEquals": [[1, 2], [2, 1, 1]]}"#, "true")
        expectExpr(#"{"$setIsSubset": [[1], [1, 2]]}"#, "true")
        expectExpr(#"{"$anyElementTrue": [[0, false, 1]]}"#, "true")
        expectExpr(#"{"$allElementsTrue": [[1, []]]}"#, "true")
    }

    @Test func objects() {
        expectExpr(#"{"$mergeObjects": [{"a": 1, "b": 1}, null, {"b": 2}, "$missing"]}"#, #"{"a": 1, "b": 2}"#)
        expectExprError(#"{"$mergeObjects": [5]}"#, "$mergeObjects requires object inputs")
        expectExpr(#"{"$objectToArray": {"a": 1, "b": {"c": 2}}}"#, #"[{"k": "a", "v": 1}, {"k": "b", "v": {"c": 2}}]"#)
        expectExpr(#"{"$arrayToObject": [[["a", 1], ["b", 2], ["a", 3]]]}"#, #"{"a": 3, "b": 2}"#)
        expectExpr(#"{"$arrayToObject": [[{"k": "x", "v": true}]]}"#, #"{"x": true}"#)
        expectExprError(#"{"$arrayToObject": [[["a", 1], {"k": "b", "v": 2}]]}"#, "$arrayToObject requires a consistent input format")
        expectExpr(#"{"$getField": "a.b"}"#, "1", on: #"{"a.b": 1, "a": {"b": 2}}"#)
        expectExpr(#"{"$getField": {"field": "x", "input": {"x": 5}}}"#, "5")
        expectExpr(#"{"$getField": {"field": {"$literal": "$price"}, "input": "$$CURRENT"}}"#, "9", on: #"{"$price": 9}"#)
        expectExpr(#"{"$getField": {"field": "x", "input": null}}"#, "null")
        expectExpr(#"{"$setField": {"field": "a.b", "input": {"c": 1}, "value": 2}}"#, #"{"c": 1, "a.b": 2}"#)
        expectExpr(#"{"$setField": {"field": "c", "input": {"c": 1, "d": 2}, "value": "$$REMOVE"}}"#, #"{"d": 2}"#)
        expectExpr(#"{"$unsetField": {"field": "d", "input": {"c": 1, "d": 2}}}"#, #"{"c": 1}"#)
        expectExprError(#"{"$getField": {"field": "$x"}}"#, "'field' must be a constant string")
    }
}
