import FerryBSON
import Testing

@testable import FerryMQL

@Suite("expressions: type conversion")
struct ConversionTests {
    @Test func toNumbers() {
        expectExpr(#"{"$toDouble": "5.5"}"#, "5.5")
        expectExpr(#"{"$toDouble": true}"#, "1.0")
        expectExpr(#"{"$toDouble": {"$date": "1970-01-01T00:00:01Z"}}"#, "1000.0")
        expectExpr(#"{"$toDouble": {"$numberDecimal": "1.5"}}"#, "1.5")
        expectExprError(#"{"$toDouble": "abc"}"#, "Failed to parse number 'abc'")
        expectExprError(#"{"$toDouble": "0x1A"}"#, "Illegal hexadecimal input")
        expectExpr(#"{"$toInt": 2.9}"#, "2")
        expectExpr(#"{"$toInt": -2.9}"#, "-2")
        expectExpr(#"{"$toInt": "42"}"#, "42")
        expectExprError(#"{"$toInt": "4.2"}"#, "Failed to parse number '4.2'")
        expectExprError(#"{"$toInt": 3000000000}"#, "Conversion would overflow target type")
        expectExprError(#"{"$toInt": {"$date": "1970-01-01T00:00:01Z"}}"#, "Unsupported conversion from date to int")
        expectExpr(#"{"$toLong": {"$date": "1970-01-01T00:00:01Z"}}"#, #"{"$numberLong": "1000"}"#)
        expectExpr(#"{"$toLong": "9007199254740993"}"#, #"{"$numberLong": "9007199254740993"}"#)
        expectExpr(#"{"$toDecimal": 2.5}"#, #"{"$numberDecimal": "2.50000000000000"}"#)
        expectExpr(#"{"$toDecimal": true}"#, #"{"$numberDecimal": "1"}"#)
        expectExpr(#"{"$toDecimal": "1.25"}"#, #"{"$numberDecimal": "1.25"}"#)
        expectExpr(#"{"$toInt": null}"#, "null")
        expectExpr(#"{"$toInt": "$missing"}"#, "null")
    }

    @Test func toStringBoolDateObjectId() {
        expectExpr(#"{"$toString": 2.5}"#, #""2.5""#)
        expectExpr(#"{"$toString": 100.0}"#, #""100""#)
        expectExpr(#"{"$toString": 1e20}"#, #""1e+20""#)
        expectExpr(#"{"$toString": {"$numberLong": "7"}}"#, #""7""#)
        expectExpr(#"{"$toString": {"$numberDecimal": "1.50"}}"#, #""1.50""#)
        expectExpr(#"{"$toString": true}"#, #""true""#)
        expectExpr(#"{"$toString": {"$date": "2018-03-27T16:58:51.538Z"}}"#, #""2018-03-27T16:58:51.538Z""#)
        expectExpr(#"{"$toString": {"$oid": "5ab9cbfa31c2ab715d42129e"}}"#, #""5ab9cbfa31c2ab715d42129e""#)
        expectExprError(#"{"$toString": [[1]]}"#, "Unsupported conversion from array to string")
        expectExpr(#"{"$toBool": 0}"#, "false")
        expectExpr(#"{"$toBool": {"$numberDecimal": "-0.1"}}"#, "true")
        expectExpr(#"{"$toBool": ""}"#, "true")
        expectExpr(#"{"$toBool": "false"}"#, "true")
        expectExpr(#"{"$toBool": [[]]}"#, "true")
        expectExpr(#"{"$toDate": {"$numberLong": "1000"}}"#, #"{"$date": "1970-01-01T00:00:01Z"}"#)
        expectExpr(#"{"$toDate": 1500.9}"#, #"{"$date": "1970-01-01T00:00:01.500Z"}"#)
        expectExpr(#"{"$toDate": "2018-03-20T11:00:06Z"}"#, #"{"$date": "2018-03-20T11:00:06Z"}"#)
        expectExpr(#"{"$toDate": {"$oid": "5ab9cbfa31c2ab715d42129e"}}"#, #"{"$date": "2018-03-27T04:43:38Z"}"#)
        expectExprError(#"{"$toDate": 5}"#, "Unsupported conversion from int to date")
        expectExpr(#"{"$toObjectId": "5ab9cbfa31c2ab715d42129e"}"#, #"{"$oid": "5ab9cbfa31c2ab715d42129e"}"#)
        expectExprError(#"{"$toObjectId": "abc"}"#, "Invalid string length for parsing to OID, expected 24 but found 3")
    }

    @Test func convertWithOnErrorAndOnNull() {
        expectExpr(#"{"$convert": {"input": "abc", "to": "int", "onError": -1}}"#, "-1")
        expectExpr(#"{"$convert": {"input": null, "to": "int", "onNull": 0}}"#, "0")
        expectExpr(#"{"$convert": {"input": "$missing", "to": "int", "onNull": "none"}}"#, #""none""#)
        expectExpr(#"{"$convert": {"input": "12", "to": 16}}"#, "12")
        expectExpr(#"{"$convert": {"input": 5, "to": "$t"}}"#, "5.0", on: #"{"t": "double"}"#)
        expectExpr(#"{"$convert": {"input": 5, "to": null}}"#, "null")
        expectExprError(#"{"$convert": {"input": "x", "to": "int"}}"#, "in $convert with no onError value")
        expectExprError(#"{"$convert": {"input": 1, "to": "bogus"}}"#, "unknown type name: bogus")
        expectExprError(#"{"$convert": {"input": 1}}"#, "$convert requires the argument 'to'")
    }

    @Test func typeAndIsNumber() {
        expectExpr(#"{"$type": "$a"}"#, #""missing""#)
        expectExpr(#"{"$type": 1}"#, #""int""#)
        expectExpr(#"{"$type": {"$numberLong": "1"}}"#, #""long""#)
        expectExpr(#"{"$type": [[1]]}"#, #""array""#)
        expectExpr(#"{"$type": {"$literal": {"a": 1}}}"#, #""object""#)
        expectExpr(#"{"$type": {"$date": "2024-01-01T00:00:00Z"}}"#, #""date""#)
        expectExpr(#"{"$isNumber": {"$numberDecimal": "1"}}"#, "true")
        expectExpr(#"{"$isNumber": "1"}"#, "false")
    }
}
