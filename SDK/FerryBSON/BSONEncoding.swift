extension BSONDocument {
    /// The document as BSON bytes.
    ///
    /// Keys and regex patterns/options are C strings on the wire, so a NUL byte in one of them
    /// cannot be encoded: that is a programming error and traps, like an out-of-range index. Use
    /// `encodeChecked()` where such strings come from outside and an error is wanted instead.
    public func encode() -> [UInt8] {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(128)
        encode(into: &buffer)
        return buffer
    }

    /// Appends the document's BSON bytes to `buffer`, so a hot loop can reuse one allocation.
    public func encode(into buffer: inout [UInt8]) {
        BSONEncoder.appendDocument(self, to: &buffer)
    }

    /// Like `encode()`, but throws instead of trapping when a key or regex contains a NUL byte.
    public func encodeChecked() throws -> [UInt8] {
        try BSONEncoder.checkCStrings(in: self, path: "")
        return encode()
    }
}

enum BSONEncoder {
    static func appendDocument(_ document: BSONDocument, to out: inout [UInt8]) {
        let start = beginLength(&out)
        for element in document.elements {
            out.append(element.value.typeCode)
            appendCString(element.key, what: "key", to: &out)
            appendValue(element.value, to: &out)
        }
        out.append(0)
        endLength(start, &out)
    }

    static func appendArray(_ array: [BSON], to out: inout [UInt8]) {
        let start = beginLength(&out)
        for (index, value) in array.enumerated() {
            out.append(value.typeCode)
            appendDecimal(index, to: &out)
            out.append(0)
            appendValue(value, to: &out)
        }
        out.append(0)
        endLength(start, &out)
    }

    static func appendValue(_ value: BSON, to out: inout [UInt8]) {
        switch value {
        case .double(let d): appendLittleEndian(d.bitPattern, to: &out)
        case .string(let s), .javascript(let s), .symbol(let s): appendString(s, to: &out)
        case .document(let d): appendDocument(d, to: &out)
        case .array(let a): appendArray(a, to: &out)
        case .binary(let b): appendBinary(b, to: &out)
        case .undefined, .null, .minKey, .maxKey: break
        case .objectID(let oid): out.append(contentsOf: oid.bytes)
        case .bool(let b): out.append(b ? 1 : 0)
        case .datetime(let ms): appendLittleEndian(ms, to: &out)
        case .regex(let pattern, let options):
            appendCString(pattern, what: "regex pattern", to: &out)
            appendCString(canonicalRegexOptions(options), what: "regex options", to: &out)
        case .dbPointer(let namespace, let id):
            appendString(namespace, to: &out)
            out.append(contentsOf: id.bytes)
        case .javascriptWithScope(let code, let scope):
            let start = beginLength(&out)
            appendString(code, to: &out)
            appendDocument(scope, to: &out)
            endLength(start, &out)
        case .int32(let i): appendLittleEndian(i, to: &out)
        case .timestamp(let t):
            appendLittleEndian(t.increment, to: &out)
            appendLittleEndian(t.seconds, to: &out)
        case .int64(let i): appendLittleEndian(i, to: &out)
        case .decimal128(let d):
            appendLittleEndian(d.low, to: &out)
            appendLittleEndian(d.high, to: &out)
        }
    }

    static func appendBinary(_ binary: BSONBinary, to out: inout [UInt8]) {
        if binary.subtype == BSONTypeCode.binaryOldSubtype {
            appendLittleEndian(Int32(binary.data.count + 4), to: &out)
            out.append(binary.subtype)
            appendLittleEndian(Int32(binary.data.count), to: &out)
        } else {
            appendLittleEndian(Int32(binary.data.count), to: &out)
            out.append(binary.subtype)
        }
        out.append(contentsOf: binary.data)
    }

    /// int32 byte count (terminator included), the UTF-8 bytes, then NUL.
    static func appendString(_ string: String, to out: inout [UInt8]) {
        appendLittleEndian(Int32(string.utf8.count + 1), to: &out)
        appendUTF8(string, to: &out)
        out.append(0)
    }

    static func appendCString(_ string: String, what: StaticString, to out: inout [UInt8]) {
        let start = out.count
        appendUTF8(string, to: &out)
        for index in start..<out.count where out[index] == 0 {
            preconditionFailure("BSON \(what) \(string.debugDescription) contains a NUL byte (use encodeChecked() to get an error)")
        }
        out.append(0)
    }

    @inline(__always)
    static func appendUTF8(_ string: String, to out: inout [UInt8]) {
        let copied: Void? = string.utf8.withContiguousStorageIfAvailable { out.append(contentsOf: $0) }
        if copied == nil { out.append(contentsOf: string.utf8) }
    }

    @inline(__always)
    static func appendLittleEndian<T: FixedWidthInteger>(_ value: T, to out: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { out.append(contentsOf: $0) }
    }

    /// Array keys are the decimal indexes "0", "1", …
    static func appendDecimal(_ value: Int, to out: inout [UInt8]) {
        if value < 10 {
            out.append(UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: value))
            return
        }
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
            UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &digits) { buffer in
            var remaining = value
            var index = buffer.count
            repeat {
                index -= 1
                buffer[index] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: remaining % 10)
                remaining /= 10
            } while remaining > 0
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[index...]))
        }
    }

    /// Reserves an int32 length slot and returns where it starts.
    @inline(__always)
    static func beginLength(_ out: inout [UInt8]) -> Int {
        let start = out.count
        appendLittleEndian(Int32(0), to: &out)
        return start
    }

    /// Fills the slot reserved by `beginLength` with the byte count since then.
    @inline(__always)
    static func endLength(_ start: Int, _ out: inout [UInt8]) {
        let length = Int32(truncatingIfNeeded: out.count - start)
        out.withUnsafeMutableBytes { $0.storeBytes(of: length.littleEndian, toByteOffset: start, as: Int32.self) }
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
