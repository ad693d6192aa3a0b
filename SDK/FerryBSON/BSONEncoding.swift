extension BSONDocument {
    /// The document as BSON bytes.
    ///
    /// Keys and regex patterns/options are C strings on the wire, so a NUL byte in one of them
    /// cannot be encoded: that is a programming error and traps, like an out-of-range index. Use
    /// `encodeChecked()` where such strings come from outside and an error is wanted instead.
    public func encode() -> [UInt8] {
        var writer = ByteWriter()
        BSONEncoder.appendDocument(self, to: &writer)
        return writer.array()
    }

    /// Appends the document's BSON bytes to `buffer`, e.g. to build a batch of documents in one array.
    public func encode(into buffer: inout [UInt8]) {
        var writer = ByteWriter()
        BSONEncoder.appendDocument(self, to: &writer)
        buffer.append(contentsOf: writer.bytes)
    }

    /// Like `encode()`, but throws instead of trapping when a key or regex contains a NUL byte.
    public func encodeChecked() throws -> [UInt8] {
        try BSONEncoder.checkCStrings(in: self, path: "")
        return encode()
    }
}

enum BSONEncoder {
    static func appendDocument(_ document: borrowing BSONDocument, to out: inout ByteWriter) {
        let start = out.count
        out.littleEndian(Int32(0))  // length, patched below
        for index in document.elements.indices {
            // The type byte comes first but is only known once the value is written.
            let typeOffset = out.count
            out.byte(0)
            appendCString(document.elements[index].key, what: "key", to: &out)
            out.patchByte(appendValue(document.elements[index].value, to: &out), at: typeOffset)
        }
        out.byte(0)
        out.patchInt32(Int32(truncatingIfNeeded: out.count - start), at: start)
    }

    static func appendArray(_ array: borrowing [BSON], to out: inout ByteWriter) {
        let start = out.count
        out.littleEndian(Int32(0))
        for index in array.indices {
            let typeOffset = out.count
            out.byte(0)
            out.decimal(index)  // keys are "0", "1", …
            out.byte(0)
            out.patchByte(appendValue(array[index], to: &out), at: typeOffset)
        }
        out.byte(0)
        out.patchInt32(Int32(truncatingIfNeeded: out.count - start), at: start)
    }

    /// Writes the value and returns its type byte.
    static func appendValue(_ value: borrowing BSON, to out: inout ByteWriter) -> UInt8 {
        switch value {
        case .double(let d):
            out.littleEndian(d.bitPattern)
            return BSONTypeCode.double
        case .string(let s):
            appendString(s, to: &out)
            return BSONTypeCode.string
        case .document(let d):
            appendDocument(d, to: &out)
            return BSONTypeCode.document
        case .array(let a):
            appendArray(a, to: &out)
            return BSONTypeCode.array
        case .binary(let b):
            appendBinary(b, to: &out)
            return BSONTypeCode.binary
        case .undefined:
            return BSONTypeCode.undefined
        case .objectID(let oid):
            appendObjectID(oid, to: &out)
            return BSONTypeCode.objectID
        case .bool(let b):
            out.byte(b ? 1 : 0)
            return BSONTypeCode.bool
        case .datetime(let ms):
            out.littleEndian(ms)
            return BSONTypeCode.datetime
        case .null:
            return BSONTypeCode.null
        case .regex(let pattern, let options):
            appendCString(pattern, what: "regex pattern", to: &out)
            appendCString(canonicalRegexOptions(options), what: "regex options", to: &out)
            return BSONTypeCode.regex
        case .dbPointer(let namespace, let id):
            appendString(namespace, to: &out)
            appendObjectID(id, to: &out)
            return BSONTypeCode.dbPointer
        case .javascript(let code):
            appendString(code, to: &out)
            return BSONTypeCode.javascript
        case .symbol(let symbol):
            appendString(symbol, to: &out)
            return BSONTypeCode.symbol
        case .javascriptWithScope(let code, let scope):
            let start = out.count
            out.littleEndian(Int32(0))
            appendString(code, to: &out)
            appendDocument(scope, to: &out)
            out.patchInt32(Int32(truncatingIfNeeded: out.count - start), at: start)
            return BSONTypeCode.javascriptWithScope
        case .int32(let i):
            out.littleEndian(i)
            return BSONTypeCode.int32
        case .timestamp(let t):
            out.littleEndian(t.increment)
            out.littleEndian(t.seconds)
            return BSONTypeCode.timestamp
        case .int64(let i):
            out.littleEndian(i)
            return BSONTypeCode.int64
        case .decimal128(let d):
            out.littleEndian(d.low)
            out.littleEndian(d.high)
            return BSONTypeCode.decimal128
        case .minKey:
            return BSONTypeCode.minKey
        case .maxKey:
            return BSONTypeCode.maxKey
        }
    }

    @inline(__always)
    static func appendObjectID(_ id: BSONObjectID, to out: inout ByteWriter) {
        // `bytes` is a var: a resized one would silently corrupt every following element.
        precondition(id.bytes.count == 12, "an ObjectId is 12 bytes, this one has \(id.bytes.count)")
        out.bytes(id.bytes)
    }

    static func appendBinary(_ binary: BSONBinary, to out: inout ByteWriter) {
        if binary.subtype == BSONTypeCode.binaryOldSubtype {
            out.littleEndian(Int32(binary.data.count + 4))
            out.byte(binary.subtype)
            out.littleEndian(Int32(binary.data.count))
        } else {
            out.littleEndian(Int32(binary.data.count))
            out.byte(binary.subtype)
        }
        out.bytes(binary.data)
    }

    /// int32 byte count (terminator included), the UTF-8 bytes, then NUL.
    @inline(__always)
    static func appendString(_ string: String, to out: inout ByteWriter) {
        out.littleEndian(Int32(string.utf8.count + 1))
        out.utf8(string)
        out.byte(0)
    }

    @inline(__always)
    static func appendCString(_ string: String, what: StaticString, to out: inout ByteWriter) {
        let start = out.count
        out.utf8(string)
        if firstNUL(out.base + start, count: out.count - start) != nil {
            preconditionFailure("BSON \(what) \(string.debugDescription) contains a NUL byte (use encodeChecked() to get an error)")
        }
        out.byte(0)
    }

    /// Finds the first key or regex string that cannot be written as a C string.
    static func checkCStrings(in document: BSONDocument, path: String) throws(BSONError) {
        for element in document.elements {
            let elementPath = path.isEmpty ? element.key : path + "." + element.key
            if element.key.utf8.contains(0) {
                throw BSONError("key \(element.key.debugDescription) at \(elementPath.debugDescription) contains a NUL byte")
            }
            try checkCStrings(in: element.value, path: elementPath)
        }
    }

    static func checkCStrings(in value: BSON, path: String) throws(BSONError) {
        switch value {
        case .document(let d): try checkCStrings(in: d, path: path)
        case .javascriptWithScope(_, let scope): try checkCStrings(in: scope, path: path)
        case .array(let a):
            for (index, element) in a.enumerated() { try checkCStrings(in: element, path: "\(path).\(index)") }
        case .regex(let pattern, let options):
            if pattern.utf8.contains(0) || options.utf8.contains(0) {
                throw BSONError("regex at \(path.debugDescription) contains a NUL byte in its pattern or options")
            }
        default: break
        }
    }
}
