/// A JSON value as written, before any Extended JSON meaning is given to it: member order is kept,
/// integers stay distinct from fractions, and every node remembers where it started.
struct JSONNode {
    enum Value {
        case object([JSONMember])
        case array([JSONNode])
        case string(String)
        /// A number without fraction or exponent that fits 64 bits.
        case integer(Int64)
        /// A number with a fraction or exponent, or an integer too large for 64 bits.
        case double(Double)
        case bool(Bool)
        case null
    }

    var value: Value
    /// Byte offset of the node's first character in the UTF-8 text.
    var offset: Int
}

struct JSONMember {
    var key: String
    var keyOffset: Int
    var value: JSONNode
}

/// Strict RFC 8259 JSON over UTF-8 bytes. Errors are `BSONError`s located at line:column.
struct JSONParser {
    let text: UnsafeBufferPointer<UInt8>
    var position: Int
    /// Parsing stops here (a JSON Lines line); errors still count lines from the start of `text`.
    let end: Int
    /// Reused for strings with escapes, so they cost no per-character allocation.
    var scratch: [UInt8] = []

    init(text: UnsafeBufferPointer<UInt8>, start: Int = 0, end: Int? = nil) {
        self.text = text
        self.position = start
        self.end = end ?? text.count
    }

    /// Runs `body` with a parser over the UTF-8 of `string`.
    static func withParser<R>(_ string: String, _ body: (inout JSONParser) throws(BSONError) -> R) throws(BSONError) -> R {
        var string = string
        // withUTF8 rethrows untyped errors, so carry the typed one out in a Result.
        let result = string.withUTF8 { (utf8) -> Result<R, BSONError> in
            var parser = JSONParser(text: utf8)
            do throws(BSONError) { return .success(try body(&parser)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    /// One value filling the rest of the text (surrounding whitespace allowed).
    mutating func parseComplete() throws(BSONError) -> JSONNode {
        skipWhitespace()
        let node = try parseValue(depth: 0)
        skipWhitespace()
        if position < end { throw error("expected the end of the input after the value", found: true) }
        return node
    }

    mutating func parseValue(depth: Int) throws(BSONError) -> JSONNode {
        guard depth < maximumNestingDepth else {
            throw error("objects and arrays nested deeper than \(maximumNestingDepth) levels")
        }
        guard position < end else { throw error("expected a value but the input ended") }
        let start = position
        switch text[position] {
        case UInt8(ascii: "{"): return JSONNode(value: .object(try parseObject(depth: depth)), offset: start)
        case UInt8(ascii: "["): return JSONNode(value: .array(try parseArray(depth: depth)), offset: start)
        case UInt8(ascii: "\""): return JSONNode(value: .string(try parseString()), offset: start)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return JSONNode(value: try parseNumber(), offset: start)
        case UInt8(ascii: "t"): try parseLiteral("true"); return JSONNode(value: .bool(true), offset: start)
        case UInt8(ascii: "f"): try parseLiteral("false"); return JSONNode(value: .bool(false), offset: start)
        case UInt8(ascii: "n"): try parseLiteral("null"); return JSONNode(value: .null, offset: start)
        default: throw error("expected a value (object, array, string, number, true, false or null)", found: true)
        }
    }

    mutating func parseObject(depth: Int) throws(BSONError) -> [JSONMember] {
        position += 1
        var members: [JSONMember] = []
        skipWhitespace()
        if position < end, text[position] == UInt8(ascii: "}") {
            position += 1
            return members
        }
        while true {
            skipWhitespace()
            guard position < end, text[position] == UInt8(ascii: "\"") else {
                throw error("expected a string key", found: true)
            }
            let keyOffset = position
            let key = try parseString()
            skipWhitespace()
            guard position < end, text[position] == UInt8(ascii: ":") else {
                throw error("expected ':' after the key", found: true)
            }
            position += 1
            skipWhitespace()
            let value = try parseValue(depth: depth + 1)
            members.append(JSONMember(key: key, keyOffset: keyOffset, value: value))
            skipWhitespace()
            guard position < end else { throw error("expected ',' or '}' but the input ended") }
            switch text[position] {
            case UInt8(ascii: ","): position += 1
            case UInt8(ascii: "}"): position += 1; return members
            default: throw error("expected ',' or '}' after an object member", found: true)
            }
        }
    }

    mutating func parseArray(depth: Int) throws(BSONError) -> [JSONNode] {
        position += 1
        var elements: [JSONNode] = []
        skipWhitespace()
        if position < end, text[position] == UInt8(ascii: "]") {
            position += 1
            return elements
        }
        while true {
            skipWhitespace()
            elements.append(try parseValue(depth: depth + 1))
            skipWhitespace()
            guard position < end else { throw error("expected ',' or ']' but the input ended") }
            switch text[position] {
            case UInt8(ascii: ","): position += 1
            case UInt8(ascii: "]"): position += 1; return elements
            default: throw error("expected ',' or ']' after an array element", found: true)
            }
        }
    }

    mutating func parseString() throws(BSONError) -> String {
        position += 1
        let start = position
        // Fast path: no escapes, so the bytes are the string (the input is valid UTF-8 already).
        while position < end {
            let byte = text[position]
            if byte == UInt8(ascii: "\"") {
                let string = String(decoding: UnsafeBufferPointer(rebasing: text[start..<position]), as: UTF8.self)
                position += 1
                return string
            }
            if byte == UInt8(ascii: "\\") || byte < 0x20 { break }
            position += 1
        }
        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: UnsafeBufferPointer(rebasing: text[start..<position]))
        while position < end {
            let byte = text[position]
            switch byte {
            case UInt8(ascii: "\""):
                position += 1
                return String(decoding: scratch, as: UTF8.self)
            case UInt8(ascii: "\\"):
                try parseEscape()
            case 0..<0x20:
                throw error("control characters must be escaped inside strings", found: true)
            default:
                scratch.append(byte)
                position += 1
            }
        }
        throw error("unterminated string")
    }

    /// Appends the character of one backslash escape to `scratch`.
    mutating func parseEscape() throws(BSONError) {
        position += 1
        guard position < end else { throw error("unterminated string") }
        let escaped = text[position]
        position += 1
        switch escaped {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): scratch.append(escaped)
        case UInt8(ascii: "b"): scratch.append(0x08)
        case UInt8(ascii: "f"): scratch.append(0x0C)
        case UInt8(ascii: "n"): scratch.append(0x0A)
        case UInt8(ascii: "r"): scratch.append(0x0D)
        case UInt8(ascii: "t"): scratch.append(0x09)
        case UInt8(ascii: "u"):
            var scalar = try parseHex4()
            if (0xD800..<0xDC00).contains(scalar) {
                // A high surrogate must be followed by an escaped low surrogate.
                guard position + 1 < end, text[position] == UInt8(ascii: "\\"), text[position + 1] == UInt8(ascii: "u") else {
                    throw error("unpaired UTF-16 surrogate in \\u escape")
                }
                position += 2
                let low = try parseHex4()
                guard (0xDC00..<0xE000).contains(low) else { throw error("unpaired UTF-16 surrogate in \\u escape") }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            } else if (0xDC00..<0xE000).contains(scalar) {
                throw error("unpaired UTF-16 surrogate in \\u escape")
            }
            scratch.append(contentsOf: UTF8.encode(Unicode.Scalar(scalar)!)!)
        default:
            position -= 1
            throw error("invalid escape sequence", found: true)
        }
    }

    mutating func parseHex4() throws(BSONError) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard position < end, let digit = hexValue(text[position]) else {
                throw error("expected 4 hex digits after \\u", found: position < end)
            }
            value = value << 4 | UInt32(digit)
            position += 1
        }
        return value
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`
    mutating func parseNumber() throws(BSONError) -> JSONNode.Value {
        let start = position
        let negative = text[position] == UInt8(ascii: "-")
        if negative { position += 1 }
        guard position < end, isDigit(text[position]) else { throw error("expected a digit", found: position < end) }
        if text[position] == UInt8(ascii: "0"), position + 1 < end, isDigit(text[position + 1]) {
            throw error("numbers cannot have leading zeros")
        }
        // Accumulate negatively so Int64.min fits.
        var accumulated: Int64 = 0
        var overflow = false
        while position < end, isDigit(text[position]) {
            let digit = Int64(text[position] - UInt8(ascii: "0"))
            let (times10, o1) = accumulated.multipliedReportingOverflow(by: 10)
            let (next, o2) = times10.subtractingReportingOverflow(digit)
            overflow = overflow || o1 || o2
            accumulated = next
            position += 1
        }
        var isInteger = true
        if position < end, text[position] == UInt8(ascii: ".") {
            isInteger = false
            position += 1
            guard position < end, isDigit(text[position]) else {
                throw error("expected a digit after the decimal point", found: position < end)
            }
            while position < end, isDigit(text[position]) { position += 1 }
        }
        if position < end, text[position] == UInt8(ascii: "e") || text[position] == UInt8(ascii: "E") {
            isInteger = false
            position += 1
            if position < end, text[position] == UInt8(ascii: "+") || text[position] == UInt8(ascii: "-") { position += 1 }
            guard position < end, isDigit(text[position]) else {
                throw error("expected a digit in the exponent", found: position < end)
            }
            while position < end, isDigit(text[position]) { position += 1 }
        }
        if isInteger && !overflow {
            if negative { return .integer(accumulated) }
            if accumulated != .min { return .integer(-accumulated) }
        }
        let lexeme = String(decoding: UnsafeBufferPointer(rebasing: text[start..<position]), as: UTF8.self)
        return .double(Double(lexeme) ?? .nan)
    }

    mutating func parseLiteral(_ literal: StaticString) throws(BSONError) {
        let count = literal.utf8CodeUnitCount
        let matches = position + count <= end
            && UnsafeBufferPointer(start: literal.utf8Start, count: count)
                .elementsEqual(UnsafeBufferPointer(rebasing: text[position..<position + count]))
        guard matches else { throw error("expected a value (object, array, string, number, true, false or null)", found: true) }
        position += count
    }

    mutating func skipWhitespace() {
        while position < end {
            switch text[position] {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"): position += 1
            default: return
            }
        }
    }

    @inline(__always)
    func isDigit(_ byte: UInt8) -> Bool { byte &- UInt8(ascii: "0") < 10 }

    /// An error at the current position; `found` appends what character is there.
    func error(_ message: String, found: Bool = false) -> BSONError {
        var message = message
        if found, position < end { message += ", found \(describeCharacter(at: position))" }
        return error(message, at: position)
    }

    func error(_ message: String, at offset: Int) -> BSONError {
        BSONError(message, at: location(of: offset))
    }

    /// 1-based line and column (counting Unicode scalars) of a byte offset.
    func location(of offset: Int) -> BSONError.Location {
        var line = 1
        var lineStart = 0
        for index in 0..<min(offset, text.count) where text[index] == UInt8(ascii: "\n") {
            line += 1
            lineStart = index + 1
        }
        var column = 1
        for index in lineStart..<min(offset, text.count) where text[index] & 0xC0 != 0x80 { column += 1 }
        return .text(line: line, column: column)
    }

    func describeCharacter(at offset: Int) -> String {
        var length = 1
        while offset + length < text.count, text[offset + length] & 0xC0 == 0x80 { length += 1 }
        let character = String(decoding: UnsafeBufferPointer(rebasing: text[offset..<offset + length]), as: UTF8.self)
        return character.debugDescription.replacingQuoteMarks()
    }
}

extension String {
    /// "\"x\"" → "'x'", which reads better inside messages that quote keys with double quotes.
    func replacingQuoteMarks() -> String {
        guard count >= 2, first == "\"", last == "\"" else { return self }
        return "'" + dropFirst().dropLast() + "'"
    }
}
