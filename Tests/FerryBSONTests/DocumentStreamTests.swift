import FerryBSON
import Testing

@Suite("Extended JSON document streams")
struct DocumentStreamTests {
    @Test func oneArrayOfDocuments() throws {
        let documents = try BSONDocument.parseExtendedJSONDocuments("""
             [ {"a": 1},
               {"b": {"$numberLong": "2"}} ]
            """)
        #expect(documents == [["a": 1], ["b": .int64(2)]])
        #expect(try BSONDocument.parseExtendedJSONDocuments("[]").isEmpty)
    }

    @Test func jsonLinesWithBlankLines() throws {
        let documents = try BSONDocument.parseExtendedJSONDocuments("{\"a\": 1}\n\n  \r\n{\"b\": 2}\r\n{\"c\": {\"$date\": \"1970-01-01T00:00:00Z\"}}")
        #expect(documents == [["a": 1], ["b": 2], ["c": .datetime(0)]])
        #expect(try BSONDocument.parseExtendedJSONDocuments("").isEmpty)
        #expect(try BSONDocument.parseExtendedJSONDocuments(" \n\n").isEmpty)
    }

    @Test func errorsNameTheLine() throws {
        let broken = "{\"a\": 1}\n{\"b\": 2}\n{\"c\": 3\n{\"d\": 4}"
        let error = try #require(throws: BSONError.self) { try BSONDocument.parseExtendedJSONDocuments(broken) }
        #expect(error.line == 3 && error.column == 8, "\(error)")
        #expect(error.message.hasPrefix("expected ',' or '}' but the input ended"))

        let notObject = try #require(throws: BSONError.self) { try BSONDocument.parseExtendedJSONDocuments("{\"a\": 1}\n42\n") }
        #expect(notObject.line == 2 && notObject.column == 1)
        #expect(notObject.message.hasPrefix("expected a JSON object"))

        let inArray = try #require(throws: BSONError.self) { try BSONDocument.parseExtendedJSONDocuments("[\n{\"a\": 1},\n7\n]") }
        #expect(inArray.line == 3 && inArray.column == 1)

        let badWrapper = try #require(throws: BSONError.self) {
            try BSONDocument.parseExtendedJSONDocuments("{}\n{}\n{\"x\": {\"$oid\": 1}}")
        }
        #expect(badWrapper.line == 3)
    }
}
