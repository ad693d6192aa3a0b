/// Gives parsed JSON its Extended JSON v2 meaning: canonical and relaxed type wrappers
/// (`{"$numberInt": "1"}`, `{"$date": "…"}`, …), the legacy `$binary`/`$type`, `$regex`/`$options`
/// and `$uuid` forms, and plain JSON (integers become int32, else int64, else double).
///
/// An object holding a wrapper keyword must be exactly that wrapper: a missing, extra or mistyped
/// field is an error, not a silent fallback to a document. `$type`, `$regex` with a non-string
/// value, `$ref`/`$id` (DBRef) and other `$` keys are ordinary document keys, as the spec says.
struct ExtendedJSONReader {
    let parser: JSONParser

    func bson(_ node: JSONNode) throws(BSONError) -> BSON {
        switch node.value {
        case .object(let members):
            if let wrapped = try wrapper(members) { return wrapped }
            return .document(try document(members))
        case .array(let elements):
            var values: [BSON] = []
            values.reserveCapacity(elements.count)
            for element in elements { values.append(try bson(element)) }
            return .array(values)
        case .string(let s): return .string(s)
        case .integer(let i): return Int32(exactly: i).map(BSON.int32) ?? .int64(i)
        case .double(let d): return .double(d)
        case .bool(let b): return .bool(b)
        case .null: return .null
        }
    }

    func document(_ members: [JSONMember]) throws(BSONError) -> BSONDocument {
        var elements: [BSONElement] = []
        elements.reserveCapacity(members.count)
        for member in members {
            if member.key.utf8.contains(0) {
                throw parser.error("key \(member.key.debugDescription) contains a NUL character, which BSON keys cannot hold", at: member.keyOffset)
            }
            elements.append(BSONElement(member.key, try bson(member.value)))
        }
        return BSONDocument(elements)
    }

    /// Keywords that make an object a type wrapper on their own.
    static let keywords: Set<String> = [
        "$oid", "$symbol", "$numberInt", "$numberLong", "$numberDouble", "$numberDecimal", "$binary",
        "$uuid", "$code", "$timestamp", "$regularExpression", "$dbPointer", "$date", "$minKey", "$maxKey",
        "$undefined",
    ]

    /// The wrapped value if `members` form a type wrapper, nil for an ordinary document.
    func wrapper(_ members: [JSONMember]) throws(BSONError) -> BSON? {
        // Keys may come in any order ($scope before $code, $options before $regex), so any "$" key
        // makes the object a candidate; ordinary documents skip the rest after this one scan.
        guard members.contains(where: { $0.key.utf8.first == UInt8(ascii: "$") }) else { return nil }
        if let regex = try legacyRegex(members) { return regex }
        guard let keyword = members.first(where: { Self.keywords.contains($0.key) }) else { return nil }
        let value = keyword.value

        func fail(_ message: String, _ node: JSONNode? = nil) -> BSONError {
            parser.error("invalid \(keyword.key): \(message)", at: (node ?? value).offset)
        }
        func only(_ allowed: Set<String>) throws(BSONError) {
            for member in members where !allowed.contains(member.key) {
                throw parser.error(
                    "unexpected key \(member.key.debugDescription) beside \(keyword.key); this wrapper takes only "
                        + allowed.sorted().map(\.debugDescription).joined(separator: " and "), at: member.keyOffset)
            }
        }
        func string(_ node: JSONNode, _ what: String) throws(BSONError) -> String {
            guard case .string(let s) = node.value else { throw fail("\(what) must be a string", node) }
            return s
        }

        switch keyword.key {
        case "$binary":
            if case .string = value.value {
                try only(["$binary", "$type"])
                return .binary(try legacyBinary(members, keyword))
            }
            try only(["$binary"])
            let fields = try subfields(of: value, exactly: ["base64", "subType"], in: keyword.key)
            return .binary(BSONBinary(
                subtype: try subtype(try string(fields[1], "subType"), fields[1], keyword.key),
                data: try base64(try string(fields[0], "base64"), fields[0], keyword.key)))
        case "$code":
            let code = try string(value, "the code")
            guard let scopeMember = members.first(where: { $0.key == "$scope" }) else {
                try only(["$code"])
                return .javascript(code)
            }
            try only(["$code", "$scope"])
            guard case .object(let scopeMembers) = scopeMember.value.value,
                try wrapper(scopeMembers) == nil
            else { throw fail("$scope must be a document", scopeMember.value) }
            return .javascriptWithScope(code: code, scope: try document(scopeMembers))
        default:
            break
        }

        try only([keyword.key])
        switch keyword.key {
        case "$oid":
            guard let bytes = parseHex(try string(value, "the ObjectId")), bytes.count == 12 else {
                throw fail("expected 24 hex digits")
            }
            return .objectID(BSONObjectID(bytes: bytes))
        case "$symbol":
            return .symbol(try string(value, "the symbol"))
        case "$numberInt":
            let text = try string(value, "the value")
            guard isPlainInteger(text), let i = Int32(text) else { throw fail("expected a 32-bit integer string, not \(text.debugDescription)") }
            return .int32(i)
        case "$numberLong":
            return .int64(try int64String(try string(value, "the value"), value, keyword.key))
        case "$numberDouble":
            let text = try string(value, "the value")
            guard let d = parseDoubleString(text) else {
                throw fail("expected a decimal number, Infinity, -Infinity or NaN, not \(text.debugDescription)")
            }
            return .double(d)
        case "$numberDecimal":
            let text = try string(value, "the value")
            do { return .decimal128(try BSONDecimal128.parse(text)) } catch { throw fail(error.message) }
        case "$uuid":
            return .binary(BSONBinary(subtype: 4, data: try uuid(try string(value, "the UUID"), value)))
        case "$timestamp":
            let fields = try subfields(of: value, exactly: ["t", "i"], in: keyword.key)
            func uint32(_ node: JSONNode, _ name: String) throws(BSONError) -> UInt32 {
                guard case .integer(let i) = node.value, let u = UInt32(exactly: i) else {
                    throw fail("\(name) must be an integer from 0 to 4294967295", node)
                }
                return u
            }
            return .timestamp(BSONTimestamp(seconds: try uint32(fields[0], "t"), increment: try uint32(fields[1], "i")))
        case "$regularExpression":
            let fields = try subfields(of: value, exactly: ["pattern", "options"], in: keyword.key)
            return try regex(try string(fields[0], "pattern"), try string(fields[1], "options"), at: value.offset)
        case "$dbPointer":
            let fields = try subfields(of: value, exactly: ["$ref", "$id"], in: keyword.key)
            guard case .objectID(let id) = try bson(fields[1]) else { throw fail("$id must be an ObjectId", fields[1]) }
            return .dbPointer(namespace: try string(fields[0], "$ref"), id: id)
        case "$date":
            switch value.value {
            case .string(let text):
                switch ISODate.parse(text) {
                case .success(let ms): return .datetime(ms)
                case .failure(let error): throw fail(error.message)
                }
            case .object(let inner) where inner.count == 1 && inner[0].key == "$numberLong":
                return .datetime(try int64String(try string(inner[0].value, "$numberLong"), inner[0].value, "$numberLong"))
            default:
                throw fail("expected an ISO-8601 string or {\"$numberLong\": \"<milliseconds>\"}")
            }
        case "$minKey", "$maxKey":
            guard case .integer(1) = value.value else { throw fail("the value must be the integer 1") }
            return keyword.key == "$minKey" ? .minKey : .maxKey
        case "$undefined":
            guard case .bool(true) = value.value else { throw fail("the value must be true") }
            return .undefined
        default:
            preconditionFailure("keyword \(keyword.key) has no reader")
        }
    }

    /// `{"$regex": "<pattern>", "$options": "<options>"}`: only when both are strings, since
    /// `{"$regex": {…}}` is the MQL query operator holding a BSON regex.
    func legacyRegex(_ members: [JSONMember]) throws(BSONError) -> BSON? {
        guard members.count == 2,
            let pattern = members.first(where: { $0.key == "$regex" }), case .string(let p) = pattern.value.value,
            let options = members.first(where: { $0.key == "$options" }), case .string(let o) = options.value.value
        else { return nil }
        return try regex(p, o, at: pattern.value.offset)
    }

    func regex(_ pattern: String, _ options: String, at offset: Int) throws(BSONError) -> BSON {
        if pattern.utf8.contains(0) || options.utf8.contains(0) {
            throw parser.error("a regular expression's pattern and options cannot contain NUL characters", at: offset)
        }
        return .regex(pattern: pattern, options: canonicalRegexOptions(options))
    }

    /// `{"$binary": "<base64>", "$type": "<hex>"}` (Extended JSON v1).
    func legacyBinary(_ members: [JSONMember], _ keyword: JSONMember) throws(BSONError) -> BSONBinary {
        guard case .string(let data) = keyword.value.value,
            let typeMember = members.first(where: { $0.key == "$type" }), case .string(let type) = typeMember.value.value
        else { throw parser.error("invalid $binary: the legacy form needs \"$type\" as a hex string", at: keyword.value.offset) }
        return BSONBinary(
            subtype: try subtype(type, typeMember.value, "$binary"), data: try base64(data, keyword.value, "$binary"))
    }

    /// The members of an object that must have exactly `names` as keys, in any order; returned in `names` order.
    func subfields(of node: JSONNode, exactly names: [String], in keyword: String) throws(BSONError) -> [JSONNode] {
        guard case .object(let members) = node.value else {
            throw parser.error("invalid \(keyword): expected an object with \(names.map(\.debugDescription).joined(separator: " and "))", at: node.offset)
        }
        var found: [JSONNode?] = Array(repeating: nil, count: names.count)
        for member in members {
            guard let index = names.firstIndex(of: member.key), found[index] == nil else {
                throw parser.error("invalid \(keyword): unexpected key \(member.key.debugDescription)", at: member.keyOffset)
            }
            found[index] = member.value
        }
        var result: [JSONNode] = []
        for (index, name) in names.enumerated() {
            guard let value = found[index] else {
                throw parser.error("invalid \(keyword): missing \(name.debugDescription)", at: node.offset)
            }
            result.append(value)
        }
        return result
    }

    func subtype(_ text: String, _ node: JSONNode, _ keyword: String) throws(BSONError) -> UInt8 {
        guard (1...2).contains(text.utf8.count), let value = UInt8(text, radix: 16), text.utf8.allSatisfy({ hexValue($0) != nil }) else {
            throw parser.error("invalid \(keyword): subType must be 1 or 2 hex digits, not \(text.debugDescription)", at: node.offset)
        }
        return value
    }

    func base64(_ text: String, _ node: JSONNode, _ keyword: String) throws(BSONError) -> [UInt8] {
        guard let data = Base64.decode(text) else {
            throw parser.error("invalid \(keyword): \(text.debugDescription) is not padded base64", at: node.offset)
        }
        return data
    }

    /// 8-4-4-4-12 hex digits.
    func uuid(_ text: String, _ node: JSONNode) throws(BSONError) -> [UInt8] {
        let utf8 = Array(text.utf8)
        let hyphens = [8, 13, 18, 23]
        guard utf8.count == 36, hyphens.allSatisfy({ utf8[$0] == UInt8(ascii: "-") }),
            let bytes = parseHex(String(decoding: utf8.filter { $0 != UInt8(ascii: "-") }, as: UTF8.self)),
            bytes.count == 16
        else { throw parser.error("invalid $uuid: expected 8-4-4-4-12 hex digits, not \(text.debugDescription)", at: node.offset) }
        return bytes
    }

    func int64String(_ text: String, _ node: JSONNode, _ keyword: String) throws(BSONError) -> Int64 {
        guard isPlainInteger(text), let value = Int64(text) else {
            throw parser.error("invalid \(keyword): expected a 64-bit integer string, not \(text.debugDescription)", at: node.offset)
        }
        return value
    }
}

/// `-?[0-9]+`: what `$numberInt` and `$numberLong` hold (Swift's own parser would also take "+1").
func isPlainInteger(_ text: String) -> Bool {
    var digits = text.utf8[...]
    if digits.first == UInt8(ascii: "-") { digits = digits.dropFirst() }
    return !digits.isEmpty && digits.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
}

/// A `$numberDouble` string: a decimal number (optionally signed, with fraction and exponent),
/// or Infinity, -Infinity, NaN. Swift's `Double(String)` alone would also take hex and "inf".
func parseDoubleString(_ text: String) -> Double? {
    switch text {
    case "Infinity": return .infinity
    case "-Infinity": return -.infinity
    case "NaN": return .nan
    default: break
    }
    var sawDigit = false
    var state = 0  // 0 sign/int, 1 fraction, 2 exponent sign, 3 exponent digits
    var sawExponentDigit = false
    for (index, byte) in text.utf8.enumerated() {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"):
            if state >= 2 { state = 3; sawExponentDigit = true } else { sawDigit = true }
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            guard index == 0 || state == 2 else { return nil }
            if state == 2 { state = 3 }
        case UInt8(ascii: "."):
            guard state == 0 else { return nil }
            state = 1
        case UInt8(ascii: "e"), UInt8(ascii: "E"):
            guard state <= 1, sawDigit else { return nil }
            state = 2
        default:
            return nil
        }
    }
    guard sawDigit, state < 2 || sawExponentDigit else { return nil }
    return Double(text)
}
