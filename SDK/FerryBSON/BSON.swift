/// A BSON value: every type of the BSON 1.1 spec, deprecated ones included, so that any valid BSON
/// round-trips byte for byte.
///
/// Equality is structural (`.int32(1) != .double(1)`, NaN != NaN); MongoDB's comparison order
/// across types lives in the MQL engine, which needs it, not here.
public enum BSON: Sendable, Hashable {
    case double(Double)
    case string(String)
    case document(BSONDocument)
    case array([BSON])
    case binary(BSONBinary)
    case undefined
    case objectID(BSONObjectID)
    case bool(Bool)
    /// Milliseconds since the Unix epoch, UTC.
    case datetime(Int64)
    case null
    // The three rare cases whose payloads are wider than 16 bytes are boxed: a BSON is then 17
    // bytes, not 33, and Swift copies it inline rather than through its value witnesses (an
    // in-memory `$group` runs ~1.5× faster; Benchmarks/README.md, "BSON values half the size").
    indirect case regex(pattern: String, options: String)
    indirect case dbPointer(namespace: String, id: BSONObjectID)
    case javascript(String)
    case symbol(String)
    indirect case javascriptWithScope(code: String, scope: BSONDocument)
    case int32(Int32)
    case timestamp(BSONTimestamp)
    case int64(Int64)
    case decimal128(BSONDecimal128)
    case minKey
    case maxKey
}

/// One key/value pair of a document.
public struct BSONElement: Sendable, Hashable {
    public var key: String
    public var value: BSON
    public init(_ key: String, _ value: BSON) {
        self.key = key
        self.value = value
    }
}

/// An ordered BSON document. Keys keep their insertion order; lookups are linear, which beats
/// hashing for the small documents readings are made of.
public struct BSONDocument: Sendable, Hashable, RandomAccessCollection, MutableCollection {
    public var elements: [BSONElement]

    public init() { elements = [] }
    public init(_ elements: [BSONElement]) { self.elements = elements }
    public init(_ pairs: [(String, BSON)]) { elements = pairs.map { BSONElement($0.0, $0.1) } }

    public var startIndex: Int { elements.startIndex }
    public var endIndex: Int { elements.endIndex }
    public subscript(position: Int) -> BSONElement {
        get { elements[position] }
        set { elements[position] = newValue }
    }

    public var keys: [String] { elements.map(\.key) }

    /// The value of the first element named `key`. Setting `nil` removes it; setting a value
    /// replaces it in place or appends it.
    public subscript(key: String) -> BSON? {
        get {
            for element in elements where element.key == key { return element.value }
            return nil
        }
        set {
            if let index = elements.firstIndex(where: { $0.key == key }) {
                if let newValue { elements[index].value = newValue } else { elements.remove(at: index) }
            } else if let newValue {
                elements.append(BSONElement(key, newValue))
            }
        }
    }

    public mutating func append(_ key: String, _ value: BSON) {
        elements.append(BSONElement(key, value))
    }
}

extension BSONDocument: ExpressibleByDictionaryLiteral {
    public init(dictionaryLiteral pairs: (String, BSON)...) {
        self.init(pairs.map { BSONElement($0.0, $0.1) })
    }
}

public struct BSONBinary: Sendable, Hashable {
    public var subtype: UInt8
    public var data: [UInt8]
    public init(subtype: UInt8 = 0, data: [UInt8]) {
        self.subtype = subtype
        self.data = data
    }
}

public struct BSONObjectID: Sendable, Hashable {
    /// The 12 bytes, big-endian as on the wire.
    public var bytes: [UInt8]
    public init(bytes: [UInt8]) {
        precondition(bytes.count == 12, "an ObjectId is 12 bytes")
        self.bytes = bytes
    }
}

public struct BSONTimestamp: Sendable, Hashable {
    public var seconds: UInt32
    public var increment: UInt32
    public init(seconds: UInt32, increment: UInt32) {
        self.seconds = seconds
        self.increment = increment
    }
}

/// IEEE 754-2008 decimal128 in the BID encoding, kept as its raw 128 bits (low and high 64-bit
/// halves as little-endian on the wire).
public struct BSONDecimal128: Sendable, Hashable {
    public var low: UInt64
    public var high: UInt64
    public init(low: UInt64, high: UInt64) {
        self.low = low
        self.high = high
    }
}

extension BSON: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    /// Integer literals that fit 32 bits are int32, as MongoDB's shell and drivers do.
    public init(integerLiteral value: Int) {
        self = Int32(exactly: value).map(BSON.int32) ?? .int64(Int64(value))
    }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: BSON...) { self = .array(elements) }
    public init(dictionaryLiteral pairs: (String, BSON)...) {
        self = .document(BSONDocument(pairs.map { BSONElement($0.0, $0.1) }))
    }
    public init(nilLiteral: ()) { self = .null }
}

extension BSON {
    public var documentValue: BSONDocument? { if case .document(let d) = self { d } else { nil } }
    public var arrayValue: [BSON]? { if case .array(let a) = self { a } else { nil } }
    public var stringValue: String? { if case .string(let s) = self { s } else { nil } }
    public var boolValue: Bool? { if case .bool(let b) = self { b } else { nil } }
    /// int32, int64 or double as a Double (decimal128 is not converted here).
    public var doubleValue: Double? {
        switch self {
        case .double(let d): d
        case .int32(let i): Double(i)
        case .int64(let i): Double(i)
        default: nil
        }
    }
    /// int32, int64, or a double with no fractional part, as an Int64.
    public var int64Value: Int64? {
        switch self {
        case .int32(let i): Int64(i)
        case .int64(let i): i
        case .double(let d): Int64(exactly: d)
        default: nil
        }
    }
}
