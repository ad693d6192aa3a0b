/// Writes Extended JSON v2 in compact form (no whitespace, like mongoexport and EJSON.stringify).
/// Strings are raw UTF-8; only `"`, `\` and control characters are escaped.
struct ExtendedJSONWriter: ~Copyable {
    let mode: ExtendedJSONMode
    var out = ByteWriter()

    init(mode: ExtendedJSONMode) {
        self.mode = mode
    }

    var text: String { String(decoding: out.bytes, as: UTF8.self) }

    mutating func write(_ document: BSONDocument) {
        out.byte(UInt8(ascii: "{"))
        var first = true
        for element in document.elements {
            if !first { out.byte(UInt8(ascii: ",")) }
            first = false
            writeString(element.key)
            out.byte(UInt8(ascii: ":"))
            write(element.value)
        }
        out.byte(UInt8(ascii: "}"))
    }

    mutating func write(_ value: BSON) {
        switch value {
        case .double(let d):
            if mode == .relaxed && d.isFinite {
                DoubleFormatting.append(d, to: &out)
            } else {
                open("$numberDouble")
                out.byte(UInt8(ascii: "\""))
                DoubleFormatting.append(d, to: &out)
                out.byte(UInt8(ascii: "\""))
                close()
            }
        case .string(let s):
            writeString(s)
        case .document(let d):
            write(d)
        case .array(let a):
            out.byte(UInt8(ascii: "["))
            for (index, element) in a.enumerated() {
                if index > 0 { out.byte(UInt8(ascii: ",")) }
                write(element)
            }
            out.byte(UInt8(ascii: "]"))
        case .binary(let b):
            open("$binary")
            literal("{\"base64\":\"")
            Base64.encode(b.data, to: &out)
            literal("\",\"subType\":\"")
            out.hexByte(b.subtype)
            literal("\"}")
            close()
        case .undefined:
            literal("{\"$undefined\":true}")
        case .objectID(let oid):
            open("$oid")
            writeObjectID(oid)
            close()
        case .bool(let b):
            if b { literal("true") } else { literal("false") }
        case .datetime(let ms):
            open("$date")
            if mode == .relaxed && ISODate.relaxedRange.contains(ms) {
                out.byte(UInt8(ascii: "\""))
                ISODate.format(ms, to: &out)
                out.byte(UInt8(ascii: "\""))
            } else {
                numberLong(ms)
            }
            close()
        case .null:
            literal("null")
        case .regex(let pattern, let options):
            open("$regularExpression")
            literal("{\"pattern\":")
            writeString(pattern)
            literal(",\"options\":")
            writeString(canonicalRegexOptions(options))
            literal("}")
            close()
        case .dbPointer(let namespace, let id):
            open("$dbPointer")
            literal("{\"$ref\":")
            writeString(namespace)
            literal(",\"$id\":{\"$oid\":")
            writeObjectID(id)
            literal("}}")
            close()
        case .javascript(let code):
            open("$code")
            writeString(code)
            close()
        case .symbol(let s):
            open("$symbol")
            writeString(s)
            close()
        case .javascriptWithScope(let code, let scope):
            open("$code")
            writeString(code)
            literal(",\"$scope\":")
            write(scope)
            close()
        case .int32(let i):
            if mode == .relaxed {
                out.decimal(i)
            } else {
                open("$numberInt")
                out.byte(UInt8(ascii: "\""))
                out.decimal(i)
                out.byte(UInt8(ascii: "\""))
                close()
            }
        case .timestamp(let t):
            literal("{\"$timestamp\":{\"t\":")
            out.decimal(t.seconds)
            literal(",\"i\":")
            out.decimal(t.increment)
            literal("}}")
        case .int64(let i):
            if mode == .relaxed { out.decimal(i) } else { numberLong(i) }
        case .decimal128(let d):
            open("$numberDecimal")
            writeString(d.description)
            close()
        case .minKey:
            literal("{\"$minKey\":1}")
        case .maxKey:
            literal("{\"$maxKey\":1}")
        }
    }

    /// Writes `{"<keyword>":` — the caller writes the value and `close()`s.
    mutating func open(_ keyword: StaticString) {
        literal("{\"")
        literal(keyword)
        literal("\":")
    }

    mutating func close() { out.byte(UInt8(ascii: "}")) }

    mutating func numberLong(_ value: Int64) {
        literal("{\"$numberLong\":\"")
        out.decimal(value)
        literal("\"}")
    }

    mutating func writeObjectID(_ id: BSONObjectID) {
        out.byte(UInt8(ascii: "\""))
        for byte in id.bytes { out.hexByte(byte) }
        out.byte(UInt8(ascii: "\""))
    }

    mutating func literal(_ text: StaticString) {
        out.literal(text)
    }

    mutating func writeString(_ string: String) {
        out.byte(UInt8(ascii: "\""))
        let copied: Void? = string.utf8.withContiguousStorageIfAvailable { writeEscaped($0) }
        if copied == nil { Array(string.utf8).withUnsafeBufferPointer { writeEscaped($0) } }
        out.byte(UInt8(ascii: "\""))
    }

    /// Copies runs of plain bytes in bulk and escapes the rest.
    mutating func writeEscaped(_ bytes: UnsafeBufferPointer<UInt8>) {
        var runStart = bytes.startIndex
        var index = bytes.startIndex
        while index != bytes.endIndex {
            let byte = bytes[index]
            if byte >= 0x20 && byte != UInt8(ascii: "\"") && byte != UInt8(ascii: "\\") {
                index = bytes.index(after: index)
                continue
            }
            out.bytes(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: bytes[runStart..<index])))
            switch byte {
            case UInt8(ascii: "\""): literal("\\\"")
            case UInt8(ascii: "\\"): literal("\\\\")
            case 0x08: literal("\\b")
            case 0x0C: literal("\\f")
            case 0x0A: literal("\\n")
            case 0x0D: literal("\\r")
            case 0x09: literal("\\t")
            default:
                literal("\\u00")
                out.hexByte(byte)
            }
            index = bytes.index(after: index)
            runStart = index
        }
        out.bytes(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: bytes[runStart..<index])))
    }
}
