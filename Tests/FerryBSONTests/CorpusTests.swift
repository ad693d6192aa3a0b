import FerryBSON
import FerryTestSupport
import Testing

/// The official BSON corpus, run as bson-corpus.md says for a codec with a native representation.
/// Every failing case is reported as `file › description: what differed`.
@Suite("BSON corpus")
struct CorpusTests {
    @Test("valid cases round-trip between BSON and canonical/relaxed Extended JSON")
    func validCases() {
        guard let files = loadCorpus() else { return }
        var total = 0
        var failed = 0
        for file in files {
            for valid in file.valid ?? [] {
                total += 1
                let problems = Self.check(valid)
                if !problems.isEmpty { failed += 1 }
                for problem in problems { Issue.record("\(file.name) › \(valid.description): \(problem)") }
            }
        }
        print("BSON corpus: \(total - failed) of \(total) valid cases passed")
        #expect(total > 0, "the corpus has no valid cases")
    }

    @Test("decodeErrors are rejected with a byte offset")
    func decodeErrors() {
        guard let files = loadCorpus() else { return }
        var total = 0
        var failed = 0
        for file in files {
            for bad in file.decodeErrors ?? [] {
                total += 1
                if let problem = Self.check(bad) {
                    failed += 1
                    Issue.record("\(file.name) › \(bad.description): \(problem)")
                }
            }
        }
        print("BSON corpus: \(total - failed) of \(total) decodeErrors cases passed")
        #expect(total > 0, "the corpus has no decodeErrors cases")
    }

    @Test("parseErrors are rejected by the Extended JSON or decimal128 parser")
    func parseErrors() {
        guard let files = loadCorpus() else { return }
        var total = 0
        var failed = 0
        for file in files {
            for bad in file.parseErrors ?? [] {
                total += 1
                if let problem = Self.check(bad, bsonType: file.bson_type) {
                    failed += 1
                    Issue.record("\(file.name) › \(bad.description): \(problem)")
                }
            }
        }
        print("BSON corpus: \(total - failed) of \(total) parseErrors cases passed")
        #expect(total > 0, "the corpus has no parseErrors cases")
    }

    private func loadCorpus() -> [CorpusFile]? {
        do {
            return try Corpus.load()
        } catch {
            Issue.record("BSON corpus unavailable: \(error)")
            return nil
        }
    }

    // MARK: valid

    /// The assertions of bson-corpus.md "Testing validity", native-representation codec:
    /// cB → native → cB, cEJ, rEJ; cEJ → native → cEJ, cB (unless lossy); dB → native → cB (and
    /// cEJ, rEJ, which the direct-codec list asks); dEJ → native → cEJ, cB (unless lossy);
    /// rEJ → native → rEJ.
    static func check(_ valid: CorpusFile.Valid) -> [String] {
        var problems: [String] = []
        let lossy = valid.lossy ?? false
        guard let canonicalBytes = Hex.decode(valid.canonical_bson) else {
            return ["canonical_bson is not hex"]
        }

        func decode(_ bytes: [UInt8], _ what: String) -> BSONDocument? {
            do { return try BSONDocument(bytes: bytes) } catch {
                problems.append("\(what) does not decode: \(error)")
                return nil
            }
        }
        func parse(_ text: String, _ what: String) -> BSONDocument? {
            do { return try BSONDocument(extendedJSON: text) } catch {
                problems.append("\(what) does not parse: \(error)")
                return nil
            }
        }
        func expectBSON(_ document: BSONDocument, _ what: String) {
            let encoded = document.encode()
            if encoded != canonicalBytes {
                problems.append("\(what) encodes to \(Hex.encode(encoded, uppercase: true)), expected canonical_bson \(Hex.encode(canonicalBytes, uppercase: true))")
            }
        }
        func expectJSON(_ document: BSONDocument, _ mode: ExtendedJSONMode, _ expected: String, _ what: String) {
            let actual = document.extendedJSON(mode)
            if let difference = jsonDifference(actual, expected) { problems.append("\(what): \(difference)") }
        }

        if let native = decode(canonicalBytes, "canonical_bson") {
            expectBSON(native, "canonical_bson → native")
            expectJSON(native, .canonical, valid.canonical_extjson, "canonical_bson → canonical Extended JSON")
            if let relaxed = valid.relaxed_extjson {
                expectJSON(native, .relaxed, relaxed, "canonical_bson → relaxed Extended JSON")
            }
        }
        if let native = parse(valid.canonical_extjson, "canonical_extjson") {
            expectJSON(native, .canonical, valid.canonical_extjson, "canonical_extjson → native → canonical Extended JSON")
            if !lossy { expectBSON(native, "canonical_extjson → native") }
        }
        if let degenerate = valid.degenerate_bson {
            if let bytes = Hex.decode(degenerate), let native = decode(bytes, "degenerate_bson") {
                expectBSON(native, "degenerate_bson → native")
                expectJSON(native, .canonical, valid.canonical_extjson, "degenerate_bson → canonical Extended JSON")
                if let relaxed = valid.relaxed_extjson {
                    expectJSON(native, .relaxed, relaxed, "degenerate_bson → relaxed Extended JSON")
                }
            }
        }
        if let degenerate = valid.degenerate_extjson, let native = parse(degenerate, "degenerate_extjson") {
            expectJSON(native, .canonical, valid.canonical_extjson, "degenerate_extjson → native → canonical Extended JSON")
            if !lossy { expectBSON(native, "degenerate_extjson → native") }
        }
        if let relaxed = valid.relaxed_extjson, let native = parse(relaxed, "relaxed_extjson") {
            expectJSON(native, .relaxed, relaxed, "relaxed_extjson → native → relaxed Extended JSON")
        }
        return problems
    }

    /// nil when the two texts are the same JSON once normalised (bson-corpus.md: whitespace and
    /// the choice of escapes are not significant; member order and number spelling are).
    static func jsonDifference(_ actual: String, _ expected: String) -> String? {
        let normalizedExpected: String
        do { normalizedExpected = try JSONNormalizer.normalize(expected) } catch {
            return "expected text is not JSON (\(error)): \(expected)"
        }
        guard let normalizedActual = try? JSONNormalizer.normalize(actual) else {
            return "produced invalid JSON: \(actual)"
        }
        return normalizedActual == normalizedExpected ? nil : "got \(normalizedActual), expected \(normalizedExpected)"
    }

    // MARK: errors

    static func check(_ bad: CorpusFile.DecodeError) -> String? {
        guard let bytes = Hex.decode(bad.bson) else { return "bson is not hex" }
        do {
            let document = try BSONDocument(bytes: bytes)
            return "decoded without error to \(document.extendedJSON(.canonical))"
        } catch let error as BSONError {
            return error.byteOffset == nil ? "error has no byte offset: \(error)" : nil
        } catch {
            return "threw \(type(of: error)) instead of BSONError: \(error)"
        }
    }

    /// bson-corpus.md "Testing parsing errors": 0x13 strings go to the decimal128 parser; the
    /// others (0x00, 0x05, …) are Extended JSON documents that must still be well-formed JSON.
    static func check(_ bad: CorpusFile.ParseError, bsonType: String) -> String? {
        if bsonType == "0x13" {
            if let value = try? BSONDecimal128(bad.string) {
                return "decimal128 parser accepted \(bad.string.debugDescription) as \(value)"
            }
            let wrapped = #"{"d": {"$numberDecimal": "\#(bad.string)"}}"#
            if (try? JSONNormalizer.normalize(wrapped)) != nil, let document = try? BSONDocument(extendedJSON: wrapped) {
                return "Extended JSON parser accepted \(wrapped) as \(document.extendedJSON(.canonical))"
            }
            return nil
        }
        do {
            _ = try JSONNormalizer.normalize(bad.string)
        } catch {
            return "the case is not even plain JSON (\(error)), so it does not test Extended JSON"
        }
        do {
            let document = try BSONDocument(extendedJSON: bad.string)
            return "parsed without error to \(document.extendedJSON(.canonical))"
        } catch let error as BSONError {
            return error.line == nil ? "error has no line:column: \(error)" : nil
        } catch {
            return "threw \(type(of: error)) instead of BSONError: \(error)"
        }
    }
}
