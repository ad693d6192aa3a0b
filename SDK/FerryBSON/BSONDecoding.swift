extension BSONDocument {
    /// Decodes one BSON document that must fill `bytes` exactly. Strict: every length, terminator,
    /// type byte, boolean and UTF-8 string is checked, and the error names the byte offset.
    public init(bytes: [UInt8]) throws {
        self = try bytes.withUnsafeBytes { (raw: UnsafeRawBufferPointer) throws(BSONError) -> BSONDocument in
            try BSONDecoder.decodeDocument(raw)
        }
    }

    /// Decodes one BSON document that must fill `bytes` exactly; the buffer is only read during the call.
    public init(bytes: UnsafeRawBufferPointer) throws {
        self = try BSONDecoder.decodeDocument(bytes)
    }
}

/// Nesting deeper than this is refused rather than risking the stack of a small-stacked thread
/// (MongoDB itself stores at most 100 levels).
let maximumNestingDepth = 200

/// A bounds-checked reader over one BSON buffer. Every read is checked against a `limit` (the end
/// of the innermost enclosing container, its terminator excluded) before it touches memory.
struct BSONDecoder {
    let bytes: UnsafeBufferPointer<UInt8>

    static func decodeDocument(_ raw: UnsafeRawBufferPointer) throws(BSONError) -> BSONDocument {
        guard raw.count >= 5 else {
            throw .bytes("a document needs at least 5 bytes, got \(raw.count)", at: 0)
        }
        return try raw.withMemoryRebound(to: UInt8.self) { (bytes) throws(BSONError) -> BSONDocument in
            let decoder = BSONDecoder(bytes: bytes)
            let declared = decoder.int32(at: 0)
            if Int(declared) != bytes.count {
                throw .bytes("document length \(declared) does not match the \(bytes.count) bytes given", at: 0)
            }
            var offset = 0
            return try decoder.document(at: &offset, limit: bytes.count, depth: 0)
        }
    }

    // MARK: Containers

    func document(at offset: inout Int, limit: Int, depth: Int) throws(BSONError) -> BSONDocument {
        let end = try containerEnd(at: offset, limit: limit, depth: depth, what: "document")
        var elements: [BSONElement] = []
        // Readings are small documents: one allocation for up to 8 elements instead of four.
        elements.reserveCapacity(min(8, (end - offset) / 8))
        var position = offset + 4
        while position < end - 1 {
            let typeOffset = position
            let type = bytes[position]
            if type == 0 {
                throw .bytes("unexpected end-of-document byte: the length at byte \(offset) puts the end at byte \(end - 1)", at: typeOffset)
            }
            position += 1
            let key = try cString(at: &position, limit: end - 1, what: "key")
            let value = try value(type: type, typeOffset: typeOffset, at: &position, limit: end - 1, depth: depth)
            elements.append(BSONElement(key, value))
        }
        offset = end
        return BSONDocument(elements)
    }

    /// Arrays are documents whose keys are ignored: "0", "1", … is expected, anything is accepted.
    func array(at offset: inout Int, limit: Int, depth: Int) throws(BSONError) -> [BSON] {
        let end = try containerEnd(at: offset, limit: limit, depth: depth, what: "array")
        var values: [BSON] = []
        values.reserveCapacity(min(8, (end - offset) / 8))
        var position = offset + 4
        while position < end - 1 {
            let typeOffset = position
            let type = bytes[position]
            if type == 0 {
                throw .bytes("unexpected end-of-array byte: the length at byte \(offset) puts the end at byte \(end - 1)", at: typeOffset)
            }
            position += 1
            try skipCString(at: &position, limit: end - 1, what: "array key")
            values.append(try value(type: type, typeOffset: typeOffset, at: &position, limit: end - 1, depth: depth))
        }
        offset = end
        return values
    }

    /// Checks a container's length prefix and terminator; returns its end (one past the terminator).
    func containerEnd(at offset: Int, limit: Int, depth: Int, what: @autoclosure () -> String) throws(BSONError) -> Int {
        guard depth < maximumNestingDepth else {
            throw .bytes("\(what()) nested deeper than \(maximumNestingDepth) levels", at: offset)
        }
        try need(4, at: offset, limit: limit, what: "\(what()) length")
        let length = Int(int32(at: offset))
        guard length >= 5 else {
            throw .bytes("\(what()) length \(length) is less than the minimum of 5", at: offset)
        }
        guard length <= limit - offset else {
            throw .bytes("\(what()) length \(length) runs past the \(limit - offset) bytes left in its container", at: offset)
        }
        let end = offset + length
        guard bytes[end - 1] == 0 else {
            throw .bytes("\(what()) does not end with a 0x00 terminator", at: end - 1)
        }
        return end
    }

    // MARK: Values

    func value(type: UInt8, typeOffset: Int, at offset: inout Int, limit: Int, depth: Int) throws(BSONError) -> BSON {
        switch type {
        case BSONTypeCode.double:
            return .double(Double(bitPattern: try fixed(UInt64.self, at: &offset, limit: limit, what: "double")))
        case BSONTypeCode.string:
            return .string(try string(at: &offset, limit: limit, what: "string"))
        case BSONTypeCode.document:
            return .document(try document(at: &offset, limit: limit, depth: depth + 1))
        case BSONTypeCode.array:
            return .array(try array(at: &offset, limit: limit, depth: depth + 1))
        case BSONTypeCode.binary:
            return .binary(try binary(at: &offset, limit: limit))
        case BSONTypeCode.undefined:
            return .undefined
        case BSONTypeCode.objectID:
            return .objectID(try objectID(at: &offset, limit: limit))
        case BSONTypeCode.bool:
            try need(1, at: offset, limit: limit, what: "boolean")
            let byte = bytes[offset]
            guard byte <= 1 else { throw .bytes("boolean byte is \(byte), not 0 or 1", at: offset) }
            offset += 1
            return .bool(byte == 1)
        case BSONTypeCode.datetime:
            return .datetime(try fixed(Int64.self, at: &offset, limit: limit, what: "datetime"))
        case BSONTypeCode.null:
            return .null
        case BSONTypeCode.regex:
            let pattern = try cString(at: &offset, limit: limit, what: "regex pattern")
            let options = try cString(at: &offset, limit: limit, what: "regex options")
            return .regex(pattern: pattern, options: canonicalRegexOptions(options))
        case BSONTypeCode.dbPointer:
            let namespace = try string(at: &offset, limit: limit, what: "DBPointer namespace")
            return .dbPointer(namespace: namespace, id: try objectID(at: &offset, limit: limit))
        case BSONTypeCode.javascript:
            return .javascript(try string(at: &offset, limit: limit, what: "JavaScript code"))
        case BSONTypeCode.symbol:
            return .symbol(try string(at: &offset, limit: limit, what: "symbol"))
        case BSONTypeCode.javascriptWithScope:
            return try codeWithScope(at: &offset, limit: limit, depth: depth)
        case BSONTypeCode.int32:
            return .int32(try fixed(Int32.self, at: &offset, limit: limit, what: "int32"))
        case BSONTypeCode.timestamp:
            let increment = try fixed(UInt32.self, at: &offset, limit: limit, what: "timestamp increment")
            let seconds = try fixed(UInt32.self, at: &offset, limit: limit, what: "timestamp seconds")
            return .timestamp(BSONTimestamp(seconds: seconds, increment: increment))
        case BSONTypeCode.int64:
            return .int64(try fixed(Int64.self, at: &offset, limit: limit, what: "int64"))
        case BSONTypeCode.decimal128:
            let low = try fixed(UInt64.self, at: &offset, limit: limit, what: "decimal128")
            let high = try fixed(UInt64.self, at: &offset, limit: limit, what: "decimal128")
            return .decimal128(BSONDecimal128(low: low, high: high))
        case BSONTypeCode.minKey:
            return .minKey
        case BSONTypeCode.maxKey:
            return .maxKey
        default:
            throw .bytes("unknown element type 0x\(String(type, radix: 16, uppercase: true))", at: typeOffset)
        }
    }

    func binary(at offset: inout Int, limit: Int) throws(BSONError) -> BSONBinary {
        let lengthOffset = offset
        let length = Int(try fixed(Int32.self, at: &offset, limit: limit, what: "binary length"))
        guard length >= 0 else { throw .bytes("binary length \(length) is negative", at: lengthOffset) }
        guard 1 + length <= limit - offset else {
            throw .bytes("binary length \(length) runs past the \(max(0, limit - offset - 1)) bytes left in its container", at: lengthOffset)
        }
        let subtype = bytes[offset]
        offset += 1
        var dataStart = offset
        var dataCount = length
        if subtype == BSONTypeCode.binaryOldSubtype {
            // Subtype 2 repeats the payload length inside the payload; both must agree.
            guard length >= 4 else {
                throw .bytes("binary subtype 2 length \(length) is too short for its inner length", at: lengthOffset)
            }
            let inner = Int(int32(at: offset))
            guard inner == length - 4 else {
                throw .bytes("binary subtype 2 inner length \(inner) does not match outer length \(length) - 4", at: offset)
            }
            dataStart += 4
            dataCount = inner
        }
        offset += length
        return BSONBinary(subtype: subtype, data: Array(UnsafeBufferPointer(rebasing: bytes[dataStart..<dataStart + dataCount])))
    }

    func objectID(at offset: inout Int, limit: Int) throws(BSONError) -> BSONObjectID {
        try need(12, at: offset, limit: limit, what: "ObjectId")
        let id = BSONObjectID(bytes: Array(UnsafeBufferPointer(rebasing: bytes[offset..<offset + 12])))
        offset += 12
        return id
    }

    /// Code with scope: int32 total length, string, document, and the total must match exactly.
    func codeWithScope(at offset: inout Int, limit: Int, depth: Int) throws(BSONError) -> BSON {
        let start = offset
        let total = Int(try fixed(Int32.self, at: &offset, limit: limit, what: "code-with-scope length"))
        // 4 (total) + 5 (shortest string) + 5 (shortest document).
        guard total >= 14 else {
            throw .bytes("code-with-scope length \(total) is less than the minimum of 14", at: start)
        }
        guard total <= limit - start else {
            throw .bytes("code-with-scope length \(total) runs past the \(limit - start) bytes left in its container", at: start)
        }
        let end = start + total
        let code = try string(at: &offset, limit: end, what: "code-with-scope code")
        let scope = try document(at: &offset, limit: end, depth: depth + 1)
        guard offset == end else {
            throw .bytes("code-with-scope length \(total) but its code and scope take \(offset - start) bytes", at: start)
        }
        return .javascriptWithScope(code: code, scope: scope)
    }

    // MARK: Strings

    /// int32 byte count (terminator included, so at least 1), UTF-8 bytes, then NUL.
    func string(at offset: inout Int, limit: Int, what: @autoclosure () -> String) throws(BSONError) -> String {
        let lengthOffset = offset
        let length = Int(try fixed(Int32.self, at: &offset, limit: limit, what: "\(what()) length"))
        guard length >= 1 else {
            throw .bytes("\(what()) length \(length) is less than the minimum of 1", at: lengthOffset)
        }
        guard length <= limit - offset else {
            throw .bytes("\(what()) length \(length) runs past the \(limit - offset) bytes left in its container", at: lengthOffset)
        }
        let end = offset + length - 1
        guard bytes[end] == 0 else {
            throw .bytes("\(what()) is not terminated by 0x00", at: end)
        }
        let text = try utf8(from: offset, to: end, what: what())
        offset = end + 1
        return text
    }

    /// NUL-terminated UTF-8 (keys and regexes).
    func cString(at offset: inout Int, limit: Int, what: @autoclosure () -> String) throws(BSONError) -> String {
        let start = offset
        try skipCString(at: &offset, limit: limit, what: what())
        return try utf8(from: start, to: offset - 1, what: what())
    }

    func skipCString(at offset: inout Int, limit: Int, what: @autoclosure () -> String) throws(BSONError) {
        if offset < limit, let nul = firstNUL(bytes.baseAddress! + offset, count: limit - offset) {
            offset += nul + 1
            return
        }
        throw .bytes("\(what()) has no 0x00 terminator before the end of its container", at: offset)
    }

    func utf8(from start: Int, to end: Int, what: @autoclosure () -> String) throws(BSONError) -> String {
        let slice = UnsafeBufferPointer(rebasing: bytes[start..<end])
        guard isValidUTF8(slice) else { throw .bytes("\(what()) is not valid UTF-8", at: start) }
        return String(decoding: slice, as: UTF8.self)
    }

    // MARK: Fixed-size reads

    @inline(__always)
    func need(_ count: Int, at offset: Int, limit: Int, what: @autoclosure () -> String) throws(BSONError) {
        guard count <= limit - offset else {
            throw .bytes("\(what()) needs \(count) bytes, only \(max(0, limit - offset)) left in its container", at: offset)
        }
    }

    @inline(__always)
    func fixed<T: FixedWidthInteger>(_: T.Type, at offset: inout Int, limit: Int, what: @autoclosure () -> String) throws(BSONError) -> T {
        try need(MemoryLayout<T>.size, at: offset, limit: limit, what: what())
        let value = T(littleEndian: UnsafeRawPointer(bytes.baseAddress!).loadUnaligned(fromByteOffset: offset, as: T.self))
        offset += MemoryLayout<T>.size
        return value
    }

    /// Unchecked: callers have bounds-checked `offset + 4`.
    @inline(__always)
    func int32(at offset: Int) -> Int32 {
        Int32(littleEndian: UnsafeRawPointer(bytes.baseAddress!).loadUnaligned(fromByteOffset: offset, as: Int32.self))
    }
}
