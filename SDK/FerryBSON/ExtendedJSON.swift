/// Extended JSON v2 (https://github.com/mongodb/specifications, extended-json.md).
public enum ExtendedJSONMode: Sendable, Hashable {
    /// Every type wrapped so it reads back exactly: `{"$numberInt":"1"}`.
    case canonical
    /// Numbers as JSON numbers and recent dates as ISO-8601 strings, for people and other tools.
    case relaxed
}

extension BSON {
    public func extendedJSON(_ mode: ExtendedJSONMode = .relaxed) -> String {
        var writer = ExtendedJSONWriter(mode: mode)
        writer.write(self)
        return writer.text
    }

    /// Parses one Extended JSON value, canonical, relaxed or plain JSON.
    public init(extendedJSON text: String) throws {
        self = try JSONParser.withParser(text) { (parser) throws(BSONError) -> BSON in
            let node = try parser.parseComplete()
            return try ExtendedJSONReader(parser: parser).bson(node)
        }
    }
}

extension BSONDocument {
    public func extendedJSON(_ mode: ExtendedJSONMode = .relaxed) -> String {
        var writer = ExtendedJSONWriter(mode: mode)
        writer.write(self)
        return writer.text
    }

    /// Parses an Extended JSON object (not a type wrapper such as `{"$oid": …}`).
    public init(extendedJSON text: String) throws {
        self = try JSONParser.withParser(text) { (parser) throws(BSONError) -> BSONDocument in
            let node = try parser.parseComplete()
            return try ExtendedJSONReader(parser: parser).topLevelDocument(node)
        }
    }

    /// Reads many documents: either one JSON array of objects, or JSON Lines (one object per line,
    /// blank lines ignored). Errors carry the line and column in `text`.
    public static func parseExtendedJSONDocuments(_ text: String) throws -> [BSONDocument] {
        try JSONParser.withParser(text) { (parser) throws(BSONError) -> [BSONDocument] in
            parser.skipWhitespace()
            guard parser.position < parser.end else { return [] }
            let reader = ExtendedJSONReader(parser: parser)
            if parser.text[parser.position] == UInt8(ascii: "[") {
                let node = try parser.parseComplete()
                guard case .array(let elements) = node.value else { preconditionFailure("'[' starts an array") }
                var documents: [BSONDocument] = []
                documents.reserveCapacity(elements.count)
                for element in elements { documents.append(try reader.topLevelDocument(element)) }
                return documents
            }
            return try jsonLines(parser.text)
        }
    }

    static func jsonLines(_ text: UnsafeBufferPointer<UInt8>) throws(BSONError) -> [BSONDocument] {
        var documents: [BSONDocument] = []
        var lineStart = 0
        while lineStart < text.count {
            var lineEnd = lineStart
            while lineEnd < text.count, text[lineEnd] != UInt8(ascii: "\n") { lineEnd += 1 }
            var parser = JSONParser(text: text, start: lineStart, end: lineEnd)
            parser.skipWhitespace()
            if parser.position < lineEnd {
                guard text[parser.position] == UInt8(ascii: "{") else {
                    throw parser.error("expected a JSON object (one document per line, or a single array of documents)", found: true)
                }
                let node = try parser.parseComplete()
                documents.append(try ExtendedJSONReader(parser: parser).topLevelDocument(node))
            }
            lineStart = lineEnd + 1
        }
        return documents
    }
}

extension ExtendedJSONReader {
    /// A document where one is required: a JSON object that is not a type wrapper.
    func topLevelDocument(_ node: JSONNode) throws(BSONError) -> BSONDocument {
        guard case .object(let members) = node.value else {
            throw parser.error("expected a JSON object (a document)", at: node.offset)
        }
        if try wrapper(members) != nil {
            throw parser.error("expected a document, but this object is an Extended JSON type wrapper", at: node.offset)
        }
        return try document(members)
    }
}
