import FerryBSON
import FerryTestSupport
import Testing

@Suite("BSON binary codec")
struct BSONCodecTests {
    /// One of every type, nested, in a deliberately unsorted key order.
    static let everything: BSONDocument = [
        "z": .double(-1.5),
        "string": "héllo ☆ \u{0}inside",
        "document": ["b": 1, "a": ["x": .null]],
        "array": [1, "two", .double(3), [.bool(true)]],
        "binary": .binary(BSONBinary(subtype: 0x80, data: [1, 2, 3])),
        "old binary": .binary(BSONBinary(subtype: 2, data: [0xFF, 0xFF])),
        "undefined": .undefined,
        "oid": .objectID(BSONObjectID(bytes: Array(0..<12))),
        "bool": false,
        "date": .datetime(-1),
        "null": .null,
        "regex": .regex(pattern: "^a.*b$", options: "im"),
        "dbPointer": .dbPointer(namespace: "db.coll", id: BSONObjectID(bytes: Array(repeating: 0xAB, count: 12))),
        "code": .javascript("function() {}"),
        "symbol": .symbol("sym"),
        "codeWithScope": .javascriptWithScope(code: "x", scope: ["x": 1]),
        "int32": .int32(.min),
        "timestamp": .timestamp(BSONTimestamp(seconds: 4_000_000_000, increment: 7)),
        "int64": .int64(.max),
        "decimal": .decimal128(BSONDecimal128(low: 1, high: 0x3040_0000_0000_0000)),
        "min": .minKey,
        "max": .maxKey,
        "": "empty key",
    ]

    @Test func everyTypeRoundTripsAndKeepsKeyOrder() throws {
        let bytes = Self.everything.encode()
        let decoded = try BSONDocument(bytes: bytes)
        #expect(decoded == Self.everything)
        #expect(decoded.keys == Self.everything.keys)
        #expect(decoded.encode() == bytes)
        let viaRaw = try bytes.withUnsafeBytes { try BSONDocument(bytes: $0) }
        #expect(viaRaw == Self.everything)
    }

    /// Every engine copies BSON values per row: a case wider than 16 bytes left unboxed doubles
    /// the enum and sends every copy through its value witnesses (see the note on `BSON`).
    @Test func aValueIsSixteenBytesAndATag() {
        #expect(MemoryLayout<BSON>.size == 17)
        #expect(MemoryLayout<BSON?>.size == 17)
        #expect(MemoryLayout<BSONElement>.stride == 40)
    }

    @Test func knownBytes() throws {
        // {"hello": "world"} from bsonspec.org.
        let expected = Hex.decode("160000000268656C6C6F0006000000776F726C640000")!
        let document: BSONDocument = ["hello": "world"]
        #expect(document.encode() == expected)
        #expect(try BSONDocument(bytes: expected) == document)
        #expect(BSONDocument().encode() == [5, 0, 0, 0, 0])
    }

    @Test func duplicateKeysArePreservedInOrder() throws {
        // bson-corpus.md prose test 2: {"foo": 1, "foo": 2}.
        let bytes = Hex.decode("1700000010666f6f000100000010666f6f000200000000")!
        let document = try BSONDocument(bytes: bytes)
        #expect(document.elements == [BSONElement("foo", 1), BSONElement("foo", 2)])
        #expect(document["foo"] == 1)
        #expect(document.encode() == bytes)
    }

    @Test func encodeIntoAppends() throws {
        var buffer: [UInt8] = [0xEE]
        let document: BSONDocument = ["a": 1]
        document.encode(into: &buffer)
        document.encode(into: &buffer)
        #expect(buffer.count == 1 + 2 * document.encode().count)
        #expect(Array(buffer[1...]) == document.encode() + document.encode())
    }

    @Test func regexOptionsAreWrittenSorted() throws {
        let bytes = (["r": .regex(pattern: "a", options: "xmi")] as BSONDocument).encode()
        #expect(try BSONDocument(bytes: bytes)["r"] == .regex(pattern: "a", options: "imx"))
    }

    @Test func arraysGetIndexKeys() throws {
        let bytes = (["a": [.int32(10), .int32(20)]] as BSONDocument).encode()
        #expect(Hex.encode(bytes, uppercase: true) == "1B000000046100130000001030000A000000103100140000000000")
    }

    @Test func largeDocumentRoundTrips() throws {
        var document = BSONDocument()
        for index in 0..<5000 {
            document.append("k\(index)", .binary(BSONBinary(data: Array(repeating: UInt8(truncatingIfNeeded: index), count: index % 300))))
        }
        let bytes = document.encode()
        #expect(try BSONDocument(bytes: bytes) == document)
    }

    @Test func nulInKeyIsAnErrorWithEncodeChecked() {
        let document: BSONDocument = ["ok": ["bad\u{0}key": 1]]
        #expect {
            _ = try document.encodeChecked()
        } throws: { error in
            "\(error)".contains("ok.bad\\0key") && "\(error)".contains("NUL")
        }
        let regex: BSONDocument = ["r": [.regex(pattern: "a\u{0}", options: "")]]
        #expect(throws: BSONError.self) { try regex.encodeChecked() }
        #expect(throws: Never.self) { try Self.everything.encodeChecked() }
    }

    @Test func nulInKeyTrapsInPlainEncode() async {
        await #expect(processExitsWith: .failure) {
            _ = BSONDocument([BSONElement("a\u{0}b", 1)]).encode()
        }
    }

    @Test func objectIDHex() throws {
        let id = try BSONObjectID(hexString: "56E1FC72e0c917e9c4714161")
        #expect(id.bytes == [0x56, 0xE1, 0xFC, 0x72, 0xE0, 0xC9, 0x17, 0xE9, 0xC4, 0x71, 0x41, 0x61])
        #expect(id.hexString == "56e1fc72e0c917e9c4714161")
        #expect(throws: BSONError.self) { try BSONObjectID(hexString: "56e1fc72e0c917e9c471416") }
        #expect(throws: BSONError.self) { try BSONObjectID(hexString: "56e1fc72e0c917e9c471416x") }
    }

    // MARK: errors

    @Test func errorsNameTheByteOffset() throws {
        // {"a": true} with the boolean byte changed to 2: the byte sits at offset 7.
        let error = try #require(throws: BSONError.self) {
            try BSONDocument(bytes: Hex.decode("090000000861000200")!)
        }
        #expect(error.byteOffset == 7)
        #expect(error.description == "invalid BSON at byte 7: boolean byte is 2, not 0 or 1")
    }

    @Test func trailingBytesAreRejected() throws {
        var bytes = (["a": 1] as BSONDocument).encode()
        bytes.append(0)
        let error = try #require(throws: BSONError.self) { try BSONDocument(bytes: bytes) }
        #expect(error.message.contains("does not match"))
        #expect(throws: BSONError.self) { try BSONDocument(bytes: []) }
    }

    @Test func invalidUTF8IsRejected() throws {
        let invalid: [[UInt8]] = [
            [0xC0, 0x80],  // overlong NUL
            [0xE0, 0x80, 0x80],  // overlong
            [0xED, 0xA0, 0x80],  // UTF-16 surrogate
            [0xF4, 0x90, 0x80, 0x80],  // above U+10FFFF
            [0xF0, 0x90, 0x80],  // truncated
            [0x80],  // lone continuation
            [0xFF],
        ]
        for sequence in invalid {
            let bytes = Self.stringDocument(sequence)
            let error = try #require(throws: BSONError.self, "\(sequence)") { try BSONDocument(bytes: bytes) }
            #expect(error.message == "string is not valid UTF-8")
            #expect(error.byteOffset == 11)
        }
        let valid: [[UInt8]] = [[0xF0, 0x9F, 0x98, 0x80], [0xF4, 0x8F, 0xBF, 0xBF], [0xEF, 0xBF, 0xBD], Array("12345678é".utf8)]
        for sequence in valid {
            let document = try BSONDocument(bytes: Self.stringDocument(sequence))
            #expect(Array(document["a"]!.stringValue!.utf8) == sequence)
        }
    }

    /// {"a": <string with these bytes>}
    static func stringDocument(_ content: [UInt8]) -> [UInt8] {
        let length = content.count + 1
        let total = 4 + 1 + 2 + 4 + length + 1
        return [UInt8(total), 0, 0, 0, 0x02, 0x61, 0, UInt8(length), 0, 0, 0] + content + [0, 0]
    }

    @Test func deepNestingIsRefusedNotACrash() throws {
        var document: BSONDocument = ["leaf": 1]
        for _ in 0..<250 { document = ["d": .document(document)] }
        let bytes = document.encode()
        let error = try #require(throws: BSONError.self) { try BSONDocument(bytes: bytes) }
        #expect(error.message.contains("nested deeper than 200"))

        var shallow: BSONDocument = ["leaf": 1]
        for _ in 0..<150 { shallow = ["d": .document(shallow)] }
        #expect(try BSONDocument(bytes: shallow.encode()) == shallow)
    }

    @Test func everyTruncationIsAnError() throws {
        // Each strict prefix of a valid document, with its length fixed up to match, must fail cleanly.
        let bytes = Self.everything.encode()
        for cut in 5..<bytes.count {
            var prefix = Array(bytes[..<cut])
            prefix.withUnsafeMutableBytes { $0.storeBytes(of: Int32(cut).littleEndian, toByteOffset: 0, as: Int32.self) }
            #expect(throws: BSONError.self, "cut at \(cut)") { try BSONDocument(bytes: prefix) }
        }
    }
}
