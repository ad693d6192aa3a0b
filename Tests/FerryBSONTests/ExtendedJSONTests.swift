import FerryBSON
import Testing

@Suite("Extended JSON")
struct ExtendedJSONTests {
    // MARK: plain JSON

    @Test func plainJSONNumbersBecomeTheNarrowestType() throws {
        let document = try BSONDocument(extendedJSON: """
            {"i32": 2147483647, "neg": -2147483648, "i64": 2147483648, "min64": -9223372036854775808,
             "big": 9223372036854775808, "frac": 1.0, "exp": 1e2, "zero": -0, "negexp": 5E-1}
            """)
        #expect(document["i32"] == .int32(2_147_483_647))
        #expect(document["neg"] == .int32(-2_147_483_648))
        #expect(document["i64"] == .int64(2_147_483_648))
        #expect(document["min64"] == .int64(.min))
        #expect(document["big"] == .double(9_223_372_036_854_775_808))
        #expect(document["frac"] == .double(1))
        #expect(document["exp"] == .double(100))
        #expect(document["zero"] == .int32(0))
        #expect(document["negexp"] == .double(0.5))
    }

    @Test func keyOrderIsPreserved() throws {
        let text = #"{"z":1,"a":2,"m":{"y":true,"b":false},"c":[3,2,1]}"#
        let document = try BSONDocument(extendedJSON: text)
        #expect(document.keys == ["z", "a", "m", "c"])
        #expect(document["m"]?.documentValue?.keys == ["y", "b"])
        #expect(document.extendedJSON() == text)
    }

    @Test func scalarsAtTopLevel() throws {
        #expect(try BSON(extendedJSON: " 42 ") == .int32(42))
        #expect(try BSON(extendedJSON: #""hi""#) == "hi")
        #expect(try BSON(extendedJSON: #"{"$numberLong": "7"}"#) == .int64(7))
        #expect(try BSON(extendedJSON: "[null, true]") == [.null, .bool(true)])
        #expect(BSON.int64(7).extendedJSON(.canonical) == #"{"$numberLong":"7"}"#)
        #expect(BSON.int64(7).extendedJSON() == "7")
    }

    // MARK: output forms

    @Test func canonicalAndRelaxedOutput() {
        let document: BSONDocument = [
            "i": 1, "l": .int64(2), "d": .double(1), "inf": .double(.infinity),
            "t": .timestamp(BSONTimestamp(seconds: 1, increment: 2)), "b": .binary(BSONBinary(subtype: 4, data: [0xFF])),
        ]
        #expect(document.extendedJSON(.canonical) == #"{"i":{"$numberInt":"1"},"l":{"$numberLong":"2"},"d":{"$numberDouble":"1.0"},"inf":{"$numberDouble":"Infinity"},"t":{"$timestamp":{"t":1,"i":2}},"b":{"$binary":{"base64":"/w==","subType":"04"}}}"#)
        #expect(document.extendedJSON(.relaxed) == #"{"i":1,"l":2,"d":1.0,"inf":{"$numberDouble":"Infinity"},"t":{"$timestamp":{"t":1,"i":2}},"b":{"$binary":{"base64":"/w==","subType":"04"}}}"#)
    }

    @Test(arguments: [
        (1.0, "1.0"), (-0.0, "-0.0"), (0.1, "0.1"), (123.25, "123.25"), (1e15, "1000000000000000.0"),
        (1e16, "1E+16"), (1.2345678921232e18, "1.2345678921232E+18"), (0.0001, "0.0001"), (0.00001, "1E-5"),
        (.leastNonzeroMagnitude, "5E-324"), (-1.7976931348623157e308, "-1.7976931348623157E+308"), (100.0, "100.0"),
    ])
    func doublesAreWrittenAsShortestRoundTripDecimals(value: Double, text: String) throws {
        #expect(BSON.double(value).extendedJSON(.relaxed) == text)
        #expect(BSON.double(value).extendedJSON(.canonical) == #"{"$numberDouble":"\#(text)"}"#)
        #expect(try BSON(extendedJSON: text) == .double(value))
    }

    @Test func doublesRoundTripBitForBit() throws {
        // SplitMix64 with a fixed seed: varied bit patterns, same ones every run.
        var state: UInt64 = 0x5EED
        func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        for _ in 0..<4000 {
            let value = Double(bitPattern: next())
            guard value.isFinite else { continue }
            for mode in [ExtendedJSONMode.relaxed, .canonical] {
                let parsed = try BSON(extendedJSON: BSON.double(value).extendedJSON(mode))
                #expect(parsed.doubleValue?.bitPattern == value.bitPattern, "\(value) in \(mode)")
            }
        }
    }

    @Test func stringsEscapeOnlyWhatJSONRequires() throws {
        var text = "quote\" backslash\\ slash/ é ☆ 😀 "
        for scalar in 0..<0x20 { text.unicodeScalars.append(Unicode.Scalar(UInt8(scalar))) }
        let json = BSON.string(text).extendedJSON()
        #expect(json.hasPrefix(#""quote\" backslash\\ slash/ é ☆ 😀 \u0000\u0001"#))
        #expect(json.contains(#"\b\t\n\u000b\f\r"#))
        #expect(try BSON(extendedJSON: json) == .string(text))
        #expect(try BSON(extendedJSON: #""\u00e9\ud83d\ude00\/""#) == "é😀/")
    }

    // MARK: dates

    @Test func relaxedDatesAreISOStringsOnlyFrom1970Through9999() throws {
        let cases: [(Int64, String)] = [
            (0, #"{"$date":"1970-01-01T00:00:00Z"}"#),
            (1_356_351_330_501, #"{"$date":"2012-12-24T12:15:30.501Z"}"#),
            (253_402_300_799_999, #"{"$date":"9999-12-31T23:59:59.999Z"}"#),
            (253_402_300_800_000, #"{"$date":{"$numberLong":"253402300800000"}}"#),
            (-1, #"{"$date":{"$numberLong":"-1"}}"#),
            (-62_135_596_800_000, #"{"$date":{"$numberLong":"-62135596800000"}}"#),
            (.max, #"{"$date":{"$numberLong":"9223372036854775807"}}"#),
        ]
        for (milliseconds, relaxed) in cases {
            #expect(BSON.datetime(milliseconds).extendedJSON(.relaxed) == relaxed)
            #expect(BSON.datetime(milliseconds).extendedJSON(.canonical) == #"{"$date":{"$numberLong":"\#(milliseconds)"}}"#)
            #expect(try BSON(extendedJSON: relaxed) == .datetime(milliseconds))
        }
    }

    @Test func isoDateTextKeepsMillisecondsWhenAskedAndEveryYearDigit() throws {
        let cases: [(Int64, String, String)] = [
            (0, "1970-01-01T00:00:00Z", "1970-01-01T00:00:00.000Z"),
            (1_356_351_330_501, "2012-12-24T12:15:30.501Z", "2012-12-24T12:15:30.501Z"),
            (-1, "1969-12-31T23:59:59.999Z", "1969-12-31T23:59:59.999Z"),
            (-62_135_596_800_000, "0001-01-01T00:00:00Z", "0001-01-01T00:00:00.000Z"),
            (-62_167_219_200_000, "0000-01-01T00:00:00Z", "0000-01-01T00:00:00.000Z"),
            (-62_198_755_200_000, "-0001-01-01T00:00:00Z", "-0001-01-01T00:00:00.000Z"),
            (253_402_300_800_000, "10000-01-01T00:00:00Z", "10000-01-01T00:00:00.000Z"),
        ]
        for (milliseconds, plain, withMilliseconds) in cases {
            #expect(ISODate.string(milliseconds) == plain)
            #expect(ISODate.string(milliseconds, alwaysMilliseconds: true) == withMilliseconds)
            if milliseconds >= -62_135_596_800_000, milliseconds < 253_402_300_800_000 {
                #expect(try ISODate.parse(withMilliseconds).get() == milliseconds, "\(withMilliseconds)")
            }
        }
    }

    @Test func isoDatesParseWithOffsetsFractionsAndOldYears() throws {
        let cases: [(String, Int64)] = [
            ("1970-01-01T01:00:00+01:00", 0),
            ("1970-01-01T00:00:00-0130", 5_400_000),
            ("1969-12-31T23:59:59.999Z", -1),
            ("1969-12-31T23:59:59.9Z", -100),
            ("2000-02-29T12:00:00.123456Z", 951_825_600_123),
            ("0001-01-01T00:00:00Z", -62_135_596_800_000),
            ("1600-03-01T00:00:00z", -11_670_912_000_000),
        ]
        for (text, milliseconds) in cases {
            #expect(try BSON(extendedJSON: #"{"$date": "\#(text)"}"#) == .datetime(milliseconds), "\(text)")
        }
        for bad in ["2001-02-29T00:00:00Z", "2000-01-01 00:00:00Z", "2000-01-01T24:00:00Z", "2000-01-01T00:00:00", "2000-1-01T00:00:00Z", "2000-01-01T00:00:00.Z"] {
            let error = try #require(throws: BSONError.self, "\(bad)") { try BSON(extendedJSON: #"{"$date": "\#(bad)"}"#) }
            #expect(error.message.contains("invalid $date"))
        }
    }

    // MARK: legacy and lookalike forms

    @Test func legacyFormsAreAccepted() throws {
        #expect(try BSON(extendedJSON: #"{"$binary": "AQI=", "$type": "80"}"#) == .binary(BSONBinary(subtype: 0x80, data: [1, 2])))
        #expect(try BSON(extendedJSON: #"{"$regex": "a+", "$options": "mi"}"#) == .regex(pattern: "a+", options: "im"))
        #expect(try BSON(extendedJSON: #"{"$uuid": "73ffd264-44b3-4c69-90e8-e7d1dfc035d4"}"#)
            == .binary(BSONBinary(subtype: 4, data: [0x73, 0xFF, 0xD2, 0x64, 0x44, 0xB3, 0x4C, 0x69, 0x90, 0xE8, 0xE7, 0xD1, 0xDF, 0xC0, 0x35, 0xD4])))
    }

    @Test func queryOperatorsStayDocuments() throws {
        let query = try BSONDocument(extendedJSON: #"{"a": {"$regex": "^x"}, "b": {"$type": "string"}, "c": {"$ref": "coll", "$id": 1}, "d": {"$gt": 5}}"#)
        #expect(query["a"] == ["$regex": "^x"])
        #expect(query["b"] == ["$type": "string"])
        #expect(query["c"] == ["$ref": "coll", "$id": 1])
        #expect(query["d"] == ["$gt": 5])
    }

    @Test func aTypeWrapperIsNotADocument() throws {
        let error = try #require(throws: BSONError.self) { try BSONDocument(extendedJSON: #"{"$oid": "000000000000000000000000"}"#) }
        #expect(error.message.contains("type wrapper"))
        #expect(throws: BSONError.self) { try BSONDocument(extendedJSON: "[1]") }
    }

    // MARK: errors

    @Test func syntaxErrorsGiveLineColumnAndWhatWasExpected() throws {
        let cases: [(String, Int, Int, String)] = [
            ("{\n  \"a\": 1,\n  \"b\": tru\n}", 3, 8, "expected a value"),
            ("{\"a\" 1}", 1, 6, "expected ':' after the key, found '1'"),
            ("{\"a\": 1,}", 1, 9, "expected a string key, found '}'"),
            ("{\"a\": [1 2]}", 1, 10, "expected ',' or ']' after an array element, found '2'"),
            ("{\"é\": 01}", 1, 7, "numbers cannot have leading zeros"),
            ("{\"a\": \"x", 1, 9, "unterminated string"),
            ("{\"a\": 1} x", 1, 10, "expected the end of the input after the value, found 'x'"),
            ("{\"a\": \"\\x\"}", 1, 9, "invalid escape sequence, found 'x'"),
            ("{\"a\": \"\\ud800\"}", 1, 14, "unpaired UTF-16 surrogate"),
            ("", 1, 1, "expected a value but the input ended"),
        ]
        for (text, line, column, message) in cases {
            let error = try #require(throws: BSONError.self, "\(text)") { try BSONDocument(extendedJSON: text) }
            #expect(error.line == line && error.column == column, "\(text): \(error)")
            #expect(error.message.hasPrefix(message), "\(text): \(error)")
            #expect(error.description.hasPrefix("invalid Extended JSON at \(line):\(column): "))
        }
    }

    @Test func wrapperErrorsPointAtTheBadValue() throws {
        let error = try #require(throws: BSONError.self) {
            try BSONDocument(extendedJSON: "{\"ok\": 1,\n \"n\": {\"$numberInt\": \"12x\"}}")
        }
        #expect(error.line == 2 && error.column == 22, "\(error)")
        #expect(error.message == #"invalid $numberInt: expected a 32-bit integer string, not "12x""#)
        #expect(throws: BSONError.self) { try BSON(extendedJSON: #"{"$numberInt": "2147483648"}"#) }
        #expect(throws: BSONError.self) { try BSON(extendedJSON: #"{"$numberLong": "+1"}"#) }
        #expect(throws: BSONError.self) { try BSON(extendedJSON: #"{"$numberDouble": "0x10"}"#) }
        #expect(throws: BSONError.self) { try BSON(extendedJSON: #"{"$numberDouble": "inf"}"#) }
        #expect(throws: BSONError.self) { try BSON(extendedJSON: #"{"$binary": {"base64": "AQI", "subType": "00"}}"#) }
        #expect(throws: BSONError.self) { try BSON(extendedJSON: #"{"$binary": {"base64": "AQ==", "subType": "100"}}"#) }
        #expect(throws: BSONError.self) { try BSON(extendedJSON: #"{"$oid": "00000000000000000000000g"}"#) }
        #expect(throws: BSONError.self) { try BSON(extendedJSON: #"{"$timestamp": {"t": -1, "i": 0}}"#) }
        #expect(throws: BSONError.self) { try BSON(extendedJSON: #"{"$undefined": false}"#) }
    }

    @Test func deepNestingIsRefused() throws {
        let deep = String(repeating: "[", count: 1000) + String(repeating: "]", count: 1000)
        let error = try #require(throws: BSONError.self) { try BSON(extendedJSON: deep) }
        #expect(error.message.contains("nested deeper than 200"))
    }
}
