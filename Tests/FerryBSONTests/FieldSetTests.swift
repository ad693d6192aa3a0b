import FerryBSON
import Testing

/// `BSONFieldSet` and decoding only some fields of a document's bytes.
@Suite struct FieldSetTests {
    /// The reference: `document` with only the fields of `fields` kept, cut down only through
    /// embedded documents (what a selective decode must return).
    static func pruned(_ document: BSONDocument, _ fields: BSONFieldSet) -> BSONDocument {
        if fields.isEverything { return document }
        return BSONDocument(
            document.elements.compactMap { element in
                guard let wanted = fields.child(element.key) else { return nil }
                if !wanted.isEverything, case .document(let inner) = element.value {
                    return BSONElement(element.key, .document(pruned(inner, wanted)))
                }
                return element
            })
    }

    static func decode(_ document: BSONDocument, _ fields: BSONFieldSet) throws -> BSONDocument {
        try document.encode().withUnsafeBytes { try BSONDocument(bytes: $0, selecting: fields) }
    }

    static func set(_ dotted: [String]) -> BSONFieldSet {
        BSONFieldSet(paths: dotted.map { $0.split(separator: ".").map(String.init) })
    }

    @Test func pathsMergeIntoATree() {
        #expect(Self.set(["a.b", "a.c", "d"]).paths == [["a", "b"], ["a", "c"], ["d"]])
        #expect(Self.set(["a.b", "a", "a.c"]).paths == [["a"]], "a shorter path keeps the value whole")
        #expect(Self.set(["a.b.c", "a.b"]).paths == [["a", "b"]])
        #expect(Self.set([]) == .nothing)
        #expect(BSONFieldSet(paths: [["a"], []]).isEverything, "an empty path is the whole document")
        var union = Self.set(["x.y"])
        union.formUnion(Self.set(["x.z", "w"]))
        #expect(union.paths == [["x", "y"], ["x", "z"], ["w"]])
        union.formUnion(.everything)
        #expect(union.isEverything)
        #expect(Self.set(["a.b"]).child("a")?.paths == [["b"]])
        #expect(Self.set(["a.b"]).child("b") == nil)
        #expect(BSONFieldSet.everything.child("anything")?.isEverything == true)
        #expect(Self.set(["a.b", "c"]).description == "[a.b, c]")
    }

    /// Every BSON type is stepped over when not asked for, and decoded exactly when it is.
    @Test func everyTypeIsSkippedOrKeptExactly() throws {
        let everything = BSONCodecTests.everything
        for key in everything.keys {
            let fields = BSONFieldSet(paths: [[key]])  // "" is a key here, not a dotted path
            #expect(try Self.decode(everything, fields) == Self.pruned(everything, fields), "\(key)")
            #expect(try Self.decode(everything, fields).count == everything.keys.filter { $0 == key }.count)
        }
        #expect(try Self.decode(everything, .everything) == everything)
        #expect(try Self.decode(everything, .nothing) == BSONDocument())
        #expect(try Self.decode(everything, Self.set(["absent", "also.absent"])) == BSONDocument())
    }

    @Test func embeddedDocumentsAreCutDownArraysAndScalarsKeptWhole() throws {
        let document = BSONDocument([
            ("data", ["readings": ["temperature": 21.5, "humidity": .int32(40), "label": "x"], "other": [1, 2]]),
            ("list", [["b": 1, "c": 2], 5]),
            ("scalar", .int64(7)),
            ("data", ["readings": ["temperature": .int32(3)]]),  // a repeated key: both kept, in order
        ])
        let fields = Self.set(["data.readings.temperature", "data.readings.humidity", "list.b", "scalar.x", "missing"])
        let got = try Self.decode(document, fields)
        #expect(got == Self.pruned(document, fields))
        #expect(
            got
                == BSONDocument([
                    ("data", ["readings": ["temperature": 21.5, "humidity": .int32(40)]]),
                    ("list", [["b": 1, "c": 2], 5]),
                    ("scalar", .int64(7)),
                    ("data", ["readings": ["temperature": .int32(3)]]),
                ]))
        // Kept values keep their exact types (no number conversion on the way).
        #expect(
            try Self.decode(document, Self.set(["data.readings.humidity"]))
                == BSONDocument([("data", ["readings": ["humidity": .int32(40)]]), ("data", ["readings": [:]])]))
    }

    @Test func malformedBytesStillFail() throws {
        var bytes = (["a": "text", "b": 1] as BSONDocument).encode()
        bytes[0] = 200  // the length no longer matches
        #expect(throws: (any Error).self) { try bytes.withUnsafeBytes { try BSONDocument(bytes: $0, selecting: Self.set(["b"])) } }
        var cut = (["a": "text", "b": 1] as BSONDocument).encode()
        cut[4 + 1 + 2] = 100  // the skipped string's length runs past its container
        #expect(throws: (any Error).self) { try cut.withUnsafeBytes { try BSONDocument(bytes: $0, selecting: Self.set(["b"])) } }
    }
}
