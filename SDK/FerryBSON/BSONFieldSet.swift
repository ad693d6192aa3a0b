/// The parts of a document a reader needs, as a tree of field names: `everything`, or the named
/// fields, each needed whole or only in some of its own fields. Built from dotted paths
/// (`["data", "readings", "temperature"]`); a path that ends where another continues keeps the
/// shorter one (its value is needed whole anyway).
public struct BSONFieldSet: Sendable, Hashable {
    struct Child: Sendable, Hashable {
        var name: String
        /// `name`'s UTF-8, compared against keys in encoded bytes without making a String of them.
        var utf8: [UInt8]
        var fields: BSONFieldSet
    }

    /// True when the value is needed whole.
    public private(set) var isEverything: Bool
    /// The needed fields, in the order they were first named; meaningful when not `isEverything`.
    private(set) var children: [Child]

    /// The whole value.
    public static let everything = BSONFieldSet(isEverything: true, children: [])
    /// No field at all (a `$count` needs to know only that a document is there).
    public static let nothing = BSONFieldSet(isEverything: false, children: [])

    private init(isEverything: Bool, children: [Child]) {
        self.isEverything = isEverything
        self.children = children
    }

    /// The fields on `paths`, each a path of field names from the top of the document.
    public init(paths: some Sequence<[String]>) {
        self = .nothing
        for path in paths { insert(path[...]) }
    }

    /// Adds the value at `path` (whole). An empty path is the whole document.
    public mutating func insert(_ path: ArraySlice<String>) {
        if isEverything { return }
        guard let first = path.first else {
            self = .everything
            return
        }
        if let i = children.firstIndex(where: { $0.name == first }) {
            children[i].fields.insert(path.dropFirst())
        } else {
            var child = BSONFieldSet.nothing
            child.insert(path.dropFirst())
            children.append(Child(name: first, utf8: Array(first.utf8), fields: child))
        }
    }

    /// Everything either set needs.
    public mutating func formUnion(_ other: BSONFieldSet) {
        if other.isEverything {
            self = .everything
            return
        }
        for path in other.paths { insert(path[...]) }
    }

    /// What is needed of the field `name`: nil when it is not needed at all.
    public func child(_ name: String) -> BSONFieldSet? {
        if isEverything { return .everything }
        return children.first { $0.name == name }?.fields
    }

    /// The set as dotted paths, each leading to a value needed whole (`[[]]` for `everything`).
    public var paths: [[String]] {
        if isEverything { return [[]] }
        return children.flatMap { child in child.fields.paths.map { [child.name] + $0 } }
    }

    /// The needed field whose name is the bytes `key`, if any.
    func child(utf8 key: UnsafeBufferPointer<UInt8>) -> BSONFieldSet? {
        for child in children where child.utf8.count == key.count {
            if child.utf8.withUnsafeBufferPointer({ $0.elementsEqual(key) }) { return child.fields }
        }
        return nil
    }
}

extension BSONFieldSet: CustomStringConvertible {
    public var description: String {
        isEverything ? "everything" : "[" + paths.map { $0.joined(separator: ".") }.joined(separator: ", ") + "]"
    }
}

extension BSONDocument {
    /// Decodes only `fields` of the BSON document filling `bytes`: the elements (and embedded
    /// documents' elements) not asked for are skipped over without being decoded, those asked
    /// for are decoded exactly as `init(bytes:)` would, in their stored order (repeated keys
    /// included). A field asked for only in part is cut down only when it is an embedded
    /// document; any other value (an array, say) is kept whole. Skipped values are checked only
    /// as far as needed to step over them.
    public init(bytes: UnsafeRawBufferPointer, selecting fields: BSONFieldSet) throws {
        if fields.isEverything {
            self = try BSONDecoder.decodeDocument(bytes)
            return
        }
        guard bytes.count >= 5 else {
            throw BSONError.bytes("a document needs at least 5 bytes, got \(bytes.count)", at: 0)
        }
        self = try bytes.withMemoryRebound(to: UInt8.self) { (buffer) throws(BSONError) -> BSONDocument in
            let decoder = BSONDecoder(bytes: buffer)
            let declared = decoder.int32(at: 0)
            if Int(declared) != buffer.count {
                throw .bytes("document length \(declared) does not match the \(buffer.count) bytes given", at: 0)
            }
            var offset = 0
            return try decoder.document(at: &offset, limit: buffer.count, depth: 0, selecting: fields)
        }
    }
}

extension BSONDecoder {
    func document(at offset: inout Int, limit: Int, depth: Int, selecting fields: BSONFieldSet) throws(BSONError) -> BSONDocument {
        let end = try containerEnd(at: offset, limit: limit, depth: depth, what: "document")
        var elements: [BSONElement] = []
        var position = offset + 4
        while position < end - 1 {
            let typeOffset = position
            let type = bytes[position]
            if type == 0 {
                throw .bytes("unexpected end-of-document byte: the length at byte \(offset) puts the end at byte \(end - 1)", at: typeOffset)
            }
            position += 1
            let keyStart = position
            try skipCString(at: &position, limit: end - 1, what: "key")
            guard let wanted = fields.child(utf8: UnsafeBufferPointer(rebasing: bytes[keyStart..<position - 1])) else {
                position = try skipValue(type: type, typeOffset: typeOffset, at: position, limit: end - 1, depth: depth)
                continue
            }
            let key = try utf8(from: keyStart, to: position - 1, what: "key")
            let value: BSON
            if !wanted.isEverything, type == BSONTypeCode.document {
                value = .document(try document(at: &position, limit: end - 1, depth: depth + 1, selecting: wanted))
            } else {
                value = try self.value(type: type, typeOffset: typeOffset, at: &position, limit: end - 1, depth: depth)
            }
            elements.append(BSONElement(key, value))
        }
        offset = end
        return BSONDocument(elements)
    }

    /// Where the value of `type` starting at `offset` ends, stepping over it: lengths and
    /// terminators are checked, contents not. Rare types are decoded and dropped.
    func skipValue(type: UInt8, typeOffset: Int, at offset: Int, limit: Int, depth: Int) throws(BSONError) -> Int {
        var size: Int
        switch type {
        case BSONTypeCode.undefined, BSONTypeCode.null, BSONTypeCode.minKey, BSONTypeCode.maxKey: size = 0
        case BSONTypeCode.bool: size = 1
        case BSONTypeCode.int32: size = 4
        case BSONTypeCode.double, BSONTypeCode.datetime, BSONTypeCode.timestamp, BSONTypeCode.int64: size = 8
        case BSONTypeCode.objectID: size = 12
        case BSONTypeCode.decimal128: size = 16
        case BSONTypeCode.string, BSONTypeCode.javascript, BSONTypeCode.symbol:
            try need(4, at: offset, limit: limit, what: "string length")
            let length = Int(int32(at: offset))
            guard length >= 1, length <= limit - offset - 4 else {
                throw .bytes("string length \(length) does not fit the \(limit - offset - 4) bytes left in its container", at: offset)
            }
            guard bytes[offset + 4 + length - 1] == 0 else { throw .bytes("string is not terminated by 0x00", at: offset + 4 + length - 1) }
            return offset + 4 + length
        case BSONTypeCode.document, BSONTypeCode.array:
            return try containerEnd(at: offset, limit: limit, depth: depth + 1, what: type == BSONTypeCode.array ? "array" : "document")
        default:
            var position = offset
            _ = try value(type: type, typeOffset: typeOffset, at: &position, limit: limit, depth: depth)
            return position
        }
        try need(size, at: offset, limit: limit, what: "value")
        return offset + size
    }
}
