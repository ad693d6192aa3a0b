import FerryBSON
import Testing

@testable import FerryMQL

@Suite("BSON comparison order and numeric semantics")
struct CompareTests {
    @Test func canonicalTypeOrder() {
        // MinKey < null < numbers < string < object < array < binData < ObjectId < bool < date
        // < timestamp < regex < MaxKey, as a $sort over one field of every type shows.
        expectPipeline(
            #"[{"$sort": {"v": 1}}, {"$project": {"_id": 1}}]"#,
            #"""
            {"_id": "maxkey", "v": {"$maxKey": 1}}
            {"_id": "regex", "v": {"$regularExpression": {"pattern": "a", "options": ""}}}
            {"_id": "ts", "v": {"$timestamp": {"t": 1, "i": 1}}}
            {"_id": "date", "v": {"$date": "2024-01-01T00:00:00Z"}}
            {"_id": "bool", "v": true}
            {"_id": "oid", "v": {"$oid": "65e1f0000000000000000000"}}
            {"_id": "bin", "v": {"$binary": {"base64": "AA==", "subType": "00"}}}
            {"_id": "array", "v": [[1]]}
            {"_id": "object", "v": {"a": 1}}
            {"_id": "string", "v": "a"}
            {"_id": "number", "v": 1}
            {"_id": "null", "v": null}
            {"_id": "minkey", "v": {"$minKey": 1}}
            """#,
            #"""
            {"_id": "minkey"} {"_id": "null"} {"_id": "number"} {"_id": "string"} {"_id": "object"}
            {"_id": "array"} {"_id": "bin"} {"_id": "oid"} {"_id": "bool"} {"_id": "date"} {"_id": "ts"}
            {"_id": "regex"} {"_id": "maxkey"}
            """#.replacingOccurrences(of: "} {", with: "}\n{"))
    }

    @Test func missingSortsWithNullAndEmptyArrayBelowNull() {
        expectPipeline(
            #"[{"$sort": {"v": 1, "_id": 1}}, {"$project": {"_id": 1}}]"#,
            #"""
            {"_id": 1, "v": null}
            {"_id": 2}
            {"_id": 3, "v": []}
            {"_id": 4, "v": 0}
            """#,
            #"[{"_id": 3}, {"_id": 1}, {"_id": 2}, {"_id": 4}]"#)
    }

    @Test func numbersCompareExactlyAcrossTypes() {
        let one32 = BSON.int32(1), one64 = BSON.int64(1), oneDouble = BSON.double(1)
        #expect(BSONOrder.compare(one32, one64) == 0)
        #expect(BSONOrder.compare(one64, oneDouble) == 0)
        #expect(BSONOrder.compare(value(#"{"$numberDecimal": "1.000"}"#), one32) == 0)
        // 2^53 + 1 is not representable as a double: the long is larger.
        #expect(BSONOrder.compare(.int64(9_007_199_254_740_993), .double(9_007_199_254_740_992)) == 1)
        #expect(BSONOrder.compare(.double(0.1), value(#"{"$numberDecimal": "0.1"}"#)) == 1)
        #expect(BSONOrder.compare(.double(-.infinity), .int64(.min)) == -1)
        // NaN is below every number and equal to itself.
        #expect(BSONOrder.compare(.double(.nan), .double(-.infinity)) == -1)
        #expect(BSONOrder.compare(.double(.nan), .double(.nan)) == 0)
        #expect(BSONOrder.compare(value(#"{"$numberDecimal": "NaN"}"#), .double(.nan)) == 0)
    }

    @Test func stringsCompareByBytesAndSymbolsEqualStrings() {
        #expect(BSONOrder.compare("B", "a") == -1)
        #expect(BSONOrder.compare("a", "ab") == -1)
        #expect(BSONOrder.compare(.symbol("x"), .string("x")) == 0)
    }

    @Test func documentsCompareFieldByField() {
        #expect(BSONOrder.compare(value(#"{"a": 1}"#), value(#"{"a": 1, "b": 1}"#)) == -1)
        // The value's type ranks before the field name.
        #expect(BSONOrder.compare(value(#"{"b": 1}"#), value(#"{"a": "x"}"#)) == -1)
        #expect(BSONOrder.compare(value(#"{"a": 1}"#), value(#"{"b": 1}"#)) == -1)
        #expect(BSONOrder.compare(value("[1, 2]"), value("[1, 3]")) == -1)
    }

    @Test func groupKeyEqualityAcrossNumericTypes() {
        expectPipeline(
            #"[{"$group": {"_id": "$k", "n": {"$sum": 1}}}]"#,
            #"""
            {"k": 1}
            {"k": {"$numberLong": "1"}}
            {"k": 1.0}
            {"k": {"$numberDecimal": "1.00"}}
            {"k": 2}
            """#,
            #"[{"_id": 1, "n": 4}, {"_id": 2, "n": 1}]"#)
    }

    @Test func groupKeyNullAndMissingAreOneGroup() {
        expectPipeline(
            #"[{"$group": {"_id": "$k", "n": {"$sum": 1}}}]"#,
            #"[{"k": null}, {}, {"k": 1}]"#,
            #"[{"_id": null, "n": 2}, {"_id": 1, "n": 1}]"#)
    }

    @Test func compoundGroupKeyLeavesMissingFieldsOut() {
        expectPipeline(
            #"[{"$group": {"_id": {"a": "$a", "b": "$b"}, "n": {"$sum": 1}}}]"#,
            #"[{"a": 1}, {"a": 1, "b": null}, {"a": 1}]"#,
            #"[{"_id": {"a": 1}, "n": 2}, {"_id": {"a": 1, "b": null}, "n": 1}]"#)
    }

    @Test func stableSort() {
        expectPipeline(
            #"[{"$sort": {"k": -1}}]"#,
            #"[{"_id": 1, "k": 1}, {"_id": 2, "k": 2}, {"_id": 3, "k": 1}, {"_id": 4, "k": 2}, {"_id": 5, "k": 1}]"#,
            #"[{"_id": 2, "k": 2}, {"_id": 4, "k": 2}, {"_id": 1, "k": 1}, {"_id": 3, "k": 1}, {"_id": 5, "k": 1}]"#)
    }

    @Test func sortByArrayUsesMinAscendingAndMaxDescending() {
        let input = #"[{"_id": 1, "v": [1, 9]}, {"_id": 2, "v": [5]}, {"_id": 3, "v": 3}]"#
        expectPipeline(#"[{"$sort": {"v": 1}}]"#, input, #"[{"_id": 1, "v": [1, 9]}, {"_id": 3, "v": 3}, {"_id": 2, "v": [5]}]"#)
        expectPipeline(#"[{"$sort": {"v": -1}}]"#, input, #"[{"_id": 1, "v": [1, 9]}, {"_id": 2, "v": [5]}, {"_id": 3, "v": 3}]"#)
        expectPipeline(
            #"[{"$sort": {"a.b": 1}}, {"$project": {"_id": 1}}]"#,
            #"[{"_id": 1, "a": [{"b": 7}, {"b": 2}]}, {"_id": 2, "a": {"b": 3}}]"#,
            #"[{"_id": 1}, {"_id": 2}]"#)
    }
}

@Suite("decimal128")
struct DecimalTests {
    func dec(_ s: String) -> Dec128 { Dec128(parsing: s)! }

    @Test func parsesAndPrintsLikeMongoDB() {
        #expect(dec("1.50").description == "1.50")
        #expect(dec("1E+3").description == "1E+3")
        #expect(dec("1000").description == "1000")
        #expect(dec("0.000001").description == "0.000001")
        #expect(dec("0.0000001").description == "1E-7")
        #expect(dec("-0").description == "-0")
        #expect(dec("NaN").description == "NaN")
        #expect(dec("-Infinity").description == "-Infinity")
        #expect(Dec128(double: 2.5).description == "2.50000000000000")
        #expect(dec("12345678901234567890123456789012345").description == "1.234567890123456789012345678901234E+34")
        #expect(Dec128(dec("3.25").bits).description == "3.25")
    }

    @Test func arithmeticKeepsPreferredExponents() {
        #expect((dec("1.50") + dec("1")).description == "2.50")
        #expect((dec("0.1") + dec("0.2")).description == "0.3")
        #expect((dec("1.1") * dec("1.1")).description == "1.21")
        #expect((dec("10") / dec("4"))!.description == "2.5")
        #expect((dec("1") / dec("3"))!.description == "0.3333333333333333333333333333333333")
        #expect((dec("2") / dec("3"))!.description == "0.6666666666666666666666666666666667")
        // 0.999…9 (40 nines) rounds to 34 digits.
        #expect((dec("1") - dec("1E-40")).description == "1.000000000000000000000000000000000")
        #expect((dec("1") - dec("1E-33")).description == "0.999999999999999999999999999999999")
        #expect(dec("1") / dec("0") == nil)
    }

    @Test func roundingIsHalfToEven() {
        #expect(dec("2.5").rounded(place: 0, mode: .halfEven).description == "2")
        #expect(dec("3.5").rounded(place: 0, mode: .halfEven).description == "4")
        #expect(dec("-2.55").rounded(place: 1, mode: .halfEven).description == "-2.6")
        #expect(dec("1234.5678").rounded(place: -2, mode: .halfEven).description == "1.2E+3")
        #expect(dec("1.99").rounded(place: 0, mode: .towardZero).description == "1")
    }

    @Test func decimalArithmeticInPipelines() {
        expectExpr(#"{"$add": [{"$numberDecimal": "0.1"}, {"$numberDecimal": "0.2"}]}"#, #"{"$numberDecimal": "0.3"}"#)
        expectExpr(#"{"$add": [{"$numberDecimal": "1.5"}, 1]}"#, #"{"$numberDecimal": "2.5"}"#)
        expectExpr(#"{"$multiply": [{"$numberDecimal": "1.5"}, 2.0]}"#, #"{"$numberDecimal": "3.000000000000000"}"#)
        expectExpr(#"{"$divide": [{"$numberDecimal": "1"}, 8]}"#, #"{"$numberDecimal": "0.125"}"#)
        expectExpr(#"{"$sum": [{"$numberDecimal": "1.1"}, 2, 3.5]}"#, #"{"$numberDecimal": "6.600000000000000000000000000000000"}"#)
    }
}
