import FerryBSON
import Testing

@testable import FerryMQL

@Suite("expressions: arithmetic")
struct ExpressionArithmeticTests {
    @Test func addKeepsTheNarrowestType() {
        expectExpr(#"{"$add": [1, 2]}"#, "3")
        expectExpr(#"{"$add": [2147483647, 1]}"#, #"{"$numberLong": "2147483648"}"#)
        expectExpr(#"{"$add": [{"$numberLong": "1"}, 2]}"#, #"{"$numberLong": "3"}"#)
        expectExpr(#"{"$add": [{"$numberLong": "9223372036854775807"}, 1]}"#, "9.223372036854775808E18")
        expectExpr(#"{"$add": [1, 2.5]}"#, "3.5")
        expectExpr(#"{"$add": []}"#, "0")
        expectExpr(#"{"$add": [1, null]}"#, "null")
        expectExpr(#"{"$add": [1, "$missing"]}"#, "null")
    }

    @Test func addWithADate() {
        expectExpr(#"{"$add": ["$d", 3600000]}"#, #"{"$date": "2024-03-01T13:00:00Z"}"#, on: #"{"d": {"$date": "2024-03-01T12:00:00Z"}}"#)
        expectExpr(#"{"$add": [1.6, "$d"]}"#, #"{"$date": "2024-03-01T12:00:00.002Z"}"#, on: #"{"d": {"$date": "2024-03-01T12:00:00Z"}}"#)
        expectExprError(#"{"$add": ["$d", "$d"]}"#, on: #"{"d": {"$date": "2024-03-01T12:00:00Z"}}"#, "only one date allowed in an $add expression")
        expectExprError(#"{"$add": [1, "a"]}"#, "$add only supports numeric or date types, not string")
    }

    @Test func subtract() {
        expectExpr(#"{"$subtract": [5, 7]}"#, "-2")
        expectExpr(#"{"$subtract": [5.5, 1]}"#, "4.5")
        expectExpr(#"{"$subtract": ["$a", "$b"]}"#, #"{"$numberLong": "90000"}"#,
                   on: #"{"a": {"$date": "2024-03-01T12:01:30Z"}, "b": {"$date": "2024-03-01T12:00:00Z"}}"#)
        expectExpr(#"{"$subtract": ["$a", 1000]}"#, #"{"$date": "2024-03-01T12:01:29Z"}"#, on: #"{"a": {"$date": "2024-03-01T12:01:30Z"}}"#)
        expectExpr(#"{"$subtract": [1, null]}"#, "null")
        expectExprError(#"{"$subtract": [1, "$a"]}"#, on: #"{"a": {"$date": "2024-03-01T12:01:30Z"}}"#, "can't $subtract date from int")
    }

    @Test func multiplyDivideMod() {
        expectExpr(#"{"$multiply": [2, 3, 4]}"#, "24")
        expectExpr(#"{"$multiply": [65536, 65536]}"#, #"{"$numberLong": "4294967296"}"#)
        expectExpr(#"{"$multiply": [2, 1.5]}"#, "3.0")
        expectExpr(#"{"$divide": [9, 2]}"#, "4.5")
        expectExpr(#"{"$divide": [8, 2]}"#, "4.0")
        expectExprError(#"{"$divide": [1, 0]}"#, "can't $divide by zero")
        expectExpr(#"{"$mod": [10, 3]}"#, "1")
        expectExpr(#"{"$mod": [-10, 3]}"#, "-1")
        expectExpr(#"{"$mod": [10.5, 3]}"#, "1.5")
        expectExpr(#"{"$mod": [{"$numberLong": "10"}, 3]}"#, #"{"$numberLong": "1"}"#)
        expectExprError(#"{"$mod": [1, 0]}"#, "can't $mod by zero")
    }

    @Test func absCeilFloorSqrtExpLog() {
        expectExpr(#"{"$abs": -5}"#, "5")
        expectExpr(#"{"$abs": -2147483648}"#, #"{"$numberLong": "2147483648"}"#)
        expectExpr(#"{"$abs": -1.5}"#, "1.5")
        expectExpr(#"{"$abs": null}"#, "null")
        expectExpr(#"{"$ceil": 1.2}"#, "2.0")
        expectExpr(#"{"$ceil": -1.2}"#, "-1.0")
        expectExpr(#"{"$floor": -1.2}"#, "-2.0")
        expectExpr(#"{"$floor": 7}"#, "7")
        expectExpr(#"{"$ceil": {"$numberDecimal": "1.01"}}"#, #"{"$numberDecimal": "2"}"#)
        expectExpr(#"{"$sqrt": 25}"#, "5.0")
        expectExprError(#"{"$sqrt": -1}"#, "$sqrt's argument must be greater than or equal to 0")
        expectExpr(#"{"$exp": 0}"#, "1.0")
        expectExpr(#"{"$ln": 1}"#, "0.0")
        expectExpr(#"{"$log10": 1000}"#, "3.0")
        expectExpr(#"{"$log": [8, 2]}"#, "3.0")
        expectExprError(#"{"$ln": 0}"#, "$ln's argument must be a positive number, but is 0")
        expectExprError(#"{"$log": [8, 1]}"#, "$log's base must be a positive number not equal to 1")
        expectExprError(#"{"$abs": "x"}"#, "$abs only supports numeric types, not string")
    }

    @Test func pow() {
        expectExpr(#"{"$pow": [5, 2]}"#, "25")
        expectExpr(#"{"$pow": [2, 40]}"#, #"{"$numberLong": "1099511627776"}"#)
        expectExpr(#"{"$pow": [2, -1]}"#, "0.5")
        expectExpr(#"{"$pow": [2.0, 3]}"#, "8.0")
        expectExpr(#"{"$pow": [-1, 3]}"#, "-1")
        expectExpr(#"{"$pow": [{"$numberLong": "3"}, 2]}"#, #"{"$numberLong": "9"}"#)
        expectExprError(#"{"$pow": [0, -1]}"#, "$pow cannot take a base of 0 and a negative exponent")
    }

    @Test func roundIsHalfToEvenAndTruncTruncates() {
        expectExpr(#"{"$round": [2.5]}"#, "2.0")
        expectExpr(#"{"$round": [3.5, 0]}"#, "4.0")
        expectExpr(#"{"$round": [19.25, 1]}"#, "19.2")
        expectExpr(#"{"$round": [28.73, -1]}"#, "30.0")
        expectExpr(#"{"$round": [1234, -2]}"#, "1200")
        expectExpr(#"{"$round": [{"$numberLong": "1250"}, -2]}"#, #"{"$numberLong": "1200"}"#)
        expectExpr(#"{"$round": [{"$numberDecimal": "1.2345"}, 2]}"#, #"{"$numberDecimal": "1.23"}"#)
        expectExpr(#"{"$round": [7, 2]}"#, "7")
        expectExpr(#"{"$trunc": [19.25, 1]}"#, "19.2")
        expectExpr(#"{"$trunc": [-19.99]}"#, "-19.0")
        expectExpr(#"{"$trunc": [34.3, -1]}"#, "30.0")
        expectExpr(#"{"$round": [null, 1]}"#, "null")
        expectExprError(#"{"$round": [1.5, 101]}"#, "cannot apply $round with precision value 101 value must be in [-20, 100]")
        expectExprError(#"{"$round": [1.5, 1.5]}"#, "precision argument to $round must be a integral value")
    }

    @Test func sensorArithmeticOnReadings() {
        // Fahrenheit from Celsius, rounded to one decimal place.
        expectPipeline(
            #"""
            [{"$match": {"_id": {"$lte": 2}}},
             {"$project": {"f": {"$round": [{"$add": [{"$multiply": ["$data.readings.temperature", 1.8]}, 32]}, 1]}}}]
            """#, readings,
            #"[{"_id": 1, "f": 68.9}, {"_id": 2, "f": 70.7}]"#)
    }
}

@Suite("expressions: comparison, boolean, conditional, variables")
struct ExpressionLogicTests {
    @Test func comparisonsUseTheFullBSONOrder() {
        expectExpr(#"{"$cmp": [1, 2]}"#, "-1")
        expectExpr(#"{"$cmp": ["b", "a"]}"#, "1")
        expectExpr(#"{"$eq": [1, 1.0]}"#, "true")
        expectExpr(#"{"$eq": [{"$numberDecimal": "2.0"}, 2]}"#, "true")
        expectExpr(#"{"$gt": ["a", 5]}"#, "true")
        expectExpr(#"{"$lt": [null, 0]}"#, "true")
        // Missing is below null in expressions.
        expectExpr(#"{"$eq": ["$missing", null]}"#, "false")
        expectExpr(#"{"$lt": ["$missing", null]}"#, "true")
        expectExpr(#"{"$ne": [[1, 2], [1, 2]]}"#, "false")
        expectExpr(#"{"$gte": [{"a": 2}, {"a": 1, "b": 5}]}"#, "true")
        expectExprError(#"{"$eq": [1]}"#, "expression $eq takes exactly 2 arguments; 1 were passed in")
    }

    @Test func booleansAndTruthiness() {
        expectExpr(#"{"$and": [1, "a", [], {}]}"#, "true")
        expectExpr(#"{"$and": [1, 0]}"#, "false")
        expectExpr(#"{"$and": []}"#, "true")
        expectExpr(#"{"$or": [null, false, "$missing"]}"#, "false")
        expectExpr(#"{"$or": [null, {"$numberDecimal": "0.1"}]}"#, "true")
        expectExpr(#"{"$not": [0]}"#, "true")
        expectExpr(#"{"$not": ""}"#, "false")
        expectExpr(#"{"$and": [{"$gt": ["$t", 20]}, {"$lt": ["$t", 25]}]}"#, "true", on: #"{"t": 21.5}"#)
    }

    @Test func condIfNullSwitch() {
        expectExpr(#"{"$cond": [{"$gte": ["$t", 21]}, "hot", "ok"]}"#, #""hot""#, on: #"{"t": 21.5}"#)
        expectExpr(#"{"$cond": {"if": "$missing", "then": 1, "else": 2}}"#, "2")
        expectExpr(#"{"$ifNull": ["$a", "$b", "none"]}"#, "2", on: #"{"a": null, "b": 2}"#)
        expectExpr(#"{"$ifNull": ["$a", "none"]}"#, #""none""#)
        expectExpr(#"{"$ifNull": ["$a", "$missing"]}"#, "missing")
        expectExpr(#"{"$ifNull": [false, 1]}"#, "false")
        let sw = #"{"$switch": {"branches": [{"case": {"$lt": ["$t", 0]}, "then": "freezing"}, {"case": {"$lt": ["$t", 20]}, "then": "cool"}], "default": "warm"}}"#
        expectExpr(sw, #""freezing""#, on: #"{"t": -3}"#)
        expectExpr(sw, #""cool""#, on: #"{"t": 12}"#)
        expectExpr(sw, #""warm""#, on: #"{"t": 25}"#)
        expectExprError(#"{"$switch": {"branches": [{"case": false, "then": 1}]}}"#, "$switch could not find a matching branch for an input, and no default was specified")
        expectExprError(#"{"$cond": {"if": true, "then": 1}}"#, "$cond requires the argument 'else'")
        expectExprError(#"{"$switch": {"branches": [{"case": true}]}}"#, "$switch requires each branch have a 'then' expression")
    }

    @Test func letLiteralAndVariables() {
        expectExpr(#"{"$let": {"vars": {"total": {"$add": ["$price", "$tax"]}, "discounted": "$applyDiscount"}, "in": {"$cond": {"if": "$$discounted", "then": {"$multiply": ["$$total", 0.9]}, "else": "$$total"}}}}"#,
                   "9.0", on: #"{"price": 7, "tax": 3, "applyDiscount": true}"#)
        expectExpr(#"{"$literal": "$notAPath"}"#, #""$notAPath""#)
        expectExpr(#"{"$literal": {"$add": [1, 2]}}"#, #"{"$add": [1, 2]}"#)
        expectExpr("\"$$ROOT.a\"", "5", on: #"{"a": 5}"#)
        expectExpr("\"$$CURRENT.a.b\"", "6", on: #"{"a": {"b": 6}}"#)
        expectExpr("\"$$REMOVE\"", "missing")
        expectExpr("\"$$NOW\"", #"{"$date": "2024-03-01T12:00:00Z"}"#)
        expectExpr(#"{"$let": {"vars": {"CURRENT": "$inner"}, "in": "$x"}}"#, "7", on: #"{"inner": {"x": 7}, "x": 1}"#)
        expectExprError("\"$$nope\"", "use of undefined variable: nope")
        expectExprError(#"{"$let": {"vars": {"Bad": 1}, "in": 1}}"#, "'Bad' starts with an invalid character for a user variable name")
    }

    @Test func fieldPathsThroughArraysMapOverDocuments() {
        expectExpr("\"$a.b\"", "[1, 2]", on: #"{"a": [{"b": 1}, {"c": 0}, {"b": 2}, 5, [{"b": 3}]]}"#)
        expectExpr("\"$a.b\"", "missing", on: #"{"a": 5}"#)
        // Array literals turn missing elements into null; object literals drop them.
        expectExpr(#"["$missing", 1]"#, "[null, 1]")
        expectExpr(#"{"$mergeObjects": [{"x": "$missing", "y": 1}]}"#, #"{"y": 1}"#)
        // Inside $project a nested object is a sub-projection: 1 means "include r.y".
        expectExpr(#"{"x": "$missing", "y": 1}"#, "{}")
    }
}
