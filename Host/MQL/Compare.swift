import FerryBSON
import Foundation

/// MongoDB's total order over BSON values (no collation): first by canonical type
/// (MinKey < missing/undefined < null < numbers < string/symbol < object < array < binData <
/// ObjectId < bool < date < timestamp < regex < dbPointer < code < code-with-scope < MaxKey),
/// then within the type. Numbers compare exactly across int32/int64/double/decimal128; strings
/// by their UTF-8 bytes. `nil` is a missing value.
enum BSONOrder {
    @inline(__always)
    static func rank(_ v: BSON?) -> Int {
        guard let v else { return 0 }
        switch v {
        case .minKey: return -1
        case .undefined: return 0
        case .null: return 5
        case .int32, .int64, .double, .decimal128: return 10
        case .string, .symbol: return 15
        case .document: return 20
        case .array: return 25
        case .binary: return 30
        case .objectID: return 35
        case .bool: return 40
        case .datetime: return 45
        case .timestamp: return 47
        case .regex: return 50
        case .dbPointer: return 55
        case .javascript: return 60
        case .javascriptWithScope: return 65
        case .maxKey: return 127
        }
    }

    /// -1, 0 or 1.
    static func compare(_ a: BSON?, _ b: BSON?) -> Int {
        // Fast paths for the hot types.
        if let a, let b {
            switch (a, b) {
            case (.double(let x), .double(let y)): return Arithmetic.compareDoubles(x, y)
            case (.int32(let x), .int32(let y)): return x < y ? -1 : (x > y ? 1 : 0)
            case (.datetime(let x), .datetime(let y)): return x < y ? -1 : (x > y ? 1 : 0)
            case (.string(let x), .string(let y)): return compareStrings(x, y)
            default: break
            }
        }
        let ra = rank(a), rb = rank(b)
        if ra != rb { return ra < rb ? -1 : 1 }
        guard let a, let b else { return 0 }
        switch (a, b) {
        case _ where ra == 10:
            return Arithmetic.compare(a, b)
        case (.string(let x), .string(let y)), (.string(let x), .symbol(let y)), (.symbol(let x), .string(let y)),
            (.symbol(let x), .symbol(let y)):
            return compareStrings(x, y)
        case (.document(let x), .document(let y)):
            return compareDocuments(x, y)
        case (.array(let x), .array(let y)):
            return compareArrays(x, y)
        case (.binary(let x), .binary(let y)):
            if x.data.count != y.data.count { return x.data.count < y.data.count ? -1 : 1 }
            if x.subtype != y.subtype { return x.subtype < y.subtype ? -1 : 1 }
            return compareBytes(x.data, y.data)
        case (.objectID(let x), .objectID(let y)):
            return compareBytes(x.bytes, y.bytes)
        case (.bool(let x), .bool(let y)):
            return x == y ? 0 : (x ? 1 : -1)
        case (.datetime(let x), .datetime(let y)):
            return x < y ? -1 : (x > y ? 1 : 0)
        case (.timestamp(let x), .timestamp(let y)):
            if x.seconds != y.seconds { return x.seconds < y.seconds ? -1 : 1 }
            return x.increment < y.increment ? -1 : (x.increment > y.increment ? 1 : 0)
        case (.regex(let p1, let o1), .regex(let p2, let o2)):
            let c = compareStrings(p1, p2)
            return c != 0 ? c : compareStrings(o1, o2)
        case (.dbPointer(let n1, let i1), .dbPointer(let n2, let i2)):
            let c = compareStrings(n1, n2)
            return c != 0 ? c : compareBytes(i1.bytes, i2.bytes)
        case (.javascript(let x), .javascript(let y)):
            return compareStrings(x, y)
        case (.javascriptWithScope(let c1, let s1), .javascriptWithScope(let c2, let s2)):
            let c = compareStrings(c1, c2)
            return c != 0 ? c : compareDocuments(s1, s2)
        default:
            // Same rank and no payload (null, undefined, MinKey, MaxKey).
            return 0
        }
    }

    @inline(__always)
    static func equal(_ a: BSON?, _ b: BSON?) -> Bool { compare(a, b) == 0 }

    /// By UTF-8 bytes: `memcmp` over the strings' contiguous storage (native Swift strings have it).
    static func compareStrings(_ x: String, _ y: String) -> Int {
        var x = x, y = y
        return x.withUTF8 { a in
            y.withUTF8 { b in
                let common = min(a.count, b.count)
                if common > 0 {
                    let c = memcmp(a.baseAddress!, b.baseAddress!, common)
                    if c != 0 { return c < 0 ? -1 : 1 }
                }
                return a.count == b.count ? 0 : (a.count < b.count ? -1 : 1)
            }
        }
    }

    static func compareBytes(_ x: [UInt8], _ y: [UInt8]) -> Int {
        for (p, q) in zip(x, y) where p != q { return p < q ? -1 : 1 }
        return x.count == y.count ? 0 : (x.count < y.count ? -1 : 1)
    }

    static func compareArrays(_ x: [BSON], _ y: [BSON]) -> Int {
        for (p, q) in zip(x, y) {
            let c = compare(p, q)
            if c != 0 { return c }
        }
        return x.count == y.count ? 0 : (x.count < y.count ? -1 : 1)
    }

    /// Element by element: the values' canonical types first, then the field names, then the values.
    static func compareDocuments(_ x: BSONDocument, _ y: BSONDocument) -> Int {
        for (p, q) in zip(x.elements, y.elements) {
            let rp = rank(p.value), rq = rank(q.value)
            if rp != rq { return rp < rq ? -1 : 1 }
            let k = compareStrings(p.key, q.key)
            if k != 0 { return k }
            let c = compare(p.value, q.value)
            if c != 0 { return c }
        }
        return x.count == y.count ? 0 : (x.count < y.count ? -1 : 1)
    }
}

/// A BSON value (or missing) hashed and compared with MongoDB's equality: `1 == 1.0 ==
/// NumberLong(1) == NumberDecimal("1.00")`, a string equals the symbol with the same text,
/// NaN equals NaN. Used for `$group` keys, `$addToSet`, `$setUnion`, partitions.
struct GroupKey: Hashable, Sendable {
    let value: BSON?
    /// `GroupKey.hash(value)`, computed once: sets probe and compare it before comparing values.
    let hash: Int

    init(_ value: BSON?) {
        self.value = value
        hash = GroupKey.hash(value)
    }

    static func == (a: GroupKey, b: GroupKey) -> Bool { a.hash == b.hash && BSONOrder.compare(a.value, b.value) == 0 }

    func hash(into hasher: inout Hasher) {
        hasher.combine(hash)
    }

    /// A hash consistent with MongoDB's equality (the per-process seeded `Hasher`).
    @inline(__always)
    static func hash(_ value: BSON?) -> Int {
        var hasher = Hasher()
        hashValue(value, into: &hasher)
        return hasher.finalize()
    }

    static func hashValue(_ value: BSON?, into hasher: inout Hasher) {
        guard let value else {
            hasher.combine(0 as UInt8)
            return
        }
        hasher.combine(UInt8(truncatingIfNeeded: BSONOrder.rank(value)))
        switch value {
        case .int32(let i): hasher.combine(Int64(i))
        case .int64(let i): hasher.combine(i)
        case .double(let d): hashNumber(d, exact: Int64(exactly: d), into: &hasher)
        case .decimal128(let bits):
            let d = Dec128(bits)
            hashNumber(d.doubleValue, exact: d.isIntegral ? d.truncatedInt64 : nil, into: &hasher)
        case .string(let s), .symbol(let s), .javascript(let s): hashString(s, into: &hasher)
        case .document(let doc):
            hasher.combine(doc.count)
            for element in doc.elements {
                hashString(element.key, into: &hasher)
                hashValue(element.value, into: &hasher)
            }
        case .array(let array):
            hasher.combine(array.count)
            for element in array { hashValue(element, into: &hasher) }
        case .binary(let b): hasher.combine(b.data)
        case .objectID(let o): hasher.combine(o.bytes)
        case .bool(let b): hasher.combine(b)
        case .datetime(let ms): hasher.combine(ms)
        case .timestamp(let t): hasher.combine(t.seconds); hasher.combine(t.increment)
        case .regex(let p, let o): hashString(p, into: &hasher); hashString(o, into: &hasher)
        case .dbPointer(let n, let i): hashString(n, into: &hasher); hasher.combine(i.bytes)
        case .javascriptWithScope(let c, _): hashString(c, into: &hasher)
        case .null, .undefined, .minKey, .maxKey: break
        }
    }

    /// By UTF-8 bytes, as strings compare (and cheaper than `String`'s normalizing hash).
    @inline(__always)
    private static func hashString(_ s: String, into hasher: inout Hasher) {
        var s = s
        s.withUTF8 { bytes in
            hasher.combine(bytes.count)
            hasher.combine(bytes: UnsafeRawBufferPointer(bytes))
        }
    }

    private static func hashNumber(_ d: Double, exact: Int64?, into hasher: inout Hasher) {
        if let exact {
            hasher.combine(exact)
        } else if d.isNaN {
            hasher.combine(Double.nan.bitPattern)
        } else {
            hasher.combine(d)
        }
    }
}
