import FerryBSON
import Testing

@Suite("decimal128 strings")
struct Decimal128Tests {
    @Test(arguments: [
        ("0", "0"), ("-0", "-0"), ("1.23", "1.23"), ("-1.230", "-1.230"), ("1E+3", "1E+3"), ("1000", "1000"),
        ("0.000001", "0.000001"), ("0.0000001", "1E-7"), ("12345678901234567890123456789012.34", "12345678901234567890123456789012.34"),
        ("1e6144", "1.000000000000000000000000000000000E+6144"), ("+.5", "0.5"), ("9.999999999999999999999999999999999E+6144", "9.999999999999999999999999999999999E+6144"),
        ("1E-6176", "1E-6176"), ("0E+99999", "0E+6111"), ("-INFINITY", "-Infinity"), ("nan", "NaN"),
        ("123.4500000000000000000000000000000000", "123.4500000000000000000000000000000"),
    ])
    func parsesAndPrints(input: String, output: String) throws {
        let value = try BSONDecimal128(input)
        #expect(value.description == output)
        #expect(try BSONDecimal128(output) == value)
    }

    @Test func bitsMatchTheBIDEncoding() throws {
        #expect(try BSONDecimal128("1") == BSONDecimal128(low: 1, high: 0x3040_0000_0000_0000))
        #expect(try BSONDecimal128("-1.00E-8") == BSONDecimal128(low: 100, high: 0xB02C_0000_0000_0000))
        #expect(try BSONDecimal128("Infinity") == .infinity)
    }

    @Test(arguments: ["", "1.2.3", "1e", "e5", "--1", " 1", "1 ", "Infin", "1E+6145000", "1E-6177",
                      "1.0000000000000000000000000000000001", "0x10", "1,5"])
    func rejectsWhatCannotBeStoredExactly(input: String) throws {
        let error = try #require(throws: BSONError.self) { try BSONDecimal128(input) }
        #expect(error.message.hasPrefix("invalid decimal128 string \(input.debugDescription): "))
    }

    @Test func extendedJSONUsesTheStringForm() throws {
        let value = try BSON(extendedJSON: #"{"$numberDecimal": "-12.50"}"#)
        #expect(value.extendedJSON() == #"{"$numberDecimal":"-12.50"}"#)
        #expect(value.extendedJSON(.canonical) == #"{"$numberDecimal":"-12.50"}"#)
    }
}
