import FerryBSON

/// A dotted field path (`data.readings.temperature`), parsed once.
struct FieldPath: Sendable, Hashable, CustomStringConvertible {
    let components: [String]

    init(components: [String]) { self.components = components }

    /// Parses and validates a path as MongoDB does for expressions and stage arguments.
    init(_ dotted: String, op: String?, what: String = "field path") throws {
        if dotted.isEmpty { throw mqlError(op, "\(what) must not be empty") }
        let parts = dotted.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        for part in parts {
            if part.isEmpty { throw mqlError(op, "\(what) '\(dotted)' has an empty component (two dots, or a dot at an end)") }
            if part.hasPrefix("$") { throw mqlError(op, "\(what) '\(dotted)': field names may not start with '$'") }
            if part.contains("\0") { throw mqlError(op, "\(what) '\(dotted)' contains a null byte") }
        }
        components = parts
    }

    var description: String { components.joined(separator: ".") }
    var first: String { components[0] }
    var count: Int { components.count }

    /// Expression semantics: through an array, the path maps over its documents (non-documents,
    /// nested arrays included, are skipped) and yields an array; a missing field yields missing.
    @inline(__always)
    func evaluate(in doc: BSONDocument) -> BSON? {
        FieldPath.evaluate(components, from: 0, in: doc)
    }

    func evaluate(value: BSON?) -> BSON? {
        guard let value else { return nil }
        switch value {
        case .document(let d): return FieldPath.evaluate(components, from: 0, in: d)
        case .array(let a): return FieldPath.evaluateArray(components, from: 0, a)
        default: return nil
        }
    }

    static func evaluate(_ components: [String], from start: Int, in doc: BSONDocument) -> BSON? {
        var current = doc
        var index = start
        let last = components.count - 1
        while true {
            guard let value = lookup(current, components[index]) else { return nil }
            if index == last { return value }
            switch value {
            case .document(let d):
                current = d
                index += 1
            case .array(let a):
                return evaluateArray(components, from: index + 1, a)
            default:
                return nil
            }
        }
    }

    static func evaluateArray(_ components: [String], from index: Int, _ array: [BSON]) -> BSON {
        var result: [BSON] = []
        result.reserveCapacity(array.count)
        for element in array {
            switch element {
            case .document(let d):
                if let v = evaluate(components, from: index, in: d) { result.append(v) }
            default:
                // MongoDB skips non-documents, nested arrays included.
                continue
            }
        }
        return .array(result)
    }

    /// The value at a dotted path through sub-documents only (no array traversal), as `$unwind`
    /// and `$densify` read their field.
    static func nested(_ components: [String], in doc: BSONDocument) -> BSON? {
        var current = doc
        for (i, component) in components.enumerated() {
            guard let v = lookup(current, component) else { return nil }
            if i == components.count - 1 { return v }
            guard case .document(let d) = v else { return nil }
            current = d
        }
        return nil
    }

    @inline(__always)
    static func lookup(_ doc: BSONDocument, _ key: String) -> BSON? {
        for element in doc.elements where element.key == key { return element.value }
        return nil
    }
}

extension BSONDocument {
    /// Sets `path` to `value` (nil removes it), creating intermediate documents; a non-document
    /// in the way is replaced by a document. Used to build stage outputs.
    mutating func setPath(_ components: ArraySlice<String>, _ value: BSON?) {
        guard let head = components.first else { return }
        if components.count == 1 {
            self[head] = value
            return
        }
        var child: BSONDocument
        if case .document(let existing)? = self[head] { child = existing } else { child = BSONDocument() }
        if value == nil, self[head] == nil { return }
        child.setPath(components.dropFirst(), value)
        self[head] = .document(child)
    }

    /// Removes the field at `path`, looking inside documents only.
    mutating func removePath(_ components: ArraySlice<String>) {
        guard let head = components.first else { return }
        if components.count == 1 {
            self[head] = nil
            return
        }
        guard let index = elements.firstIndex(where: { $0.key == head }), case .document(var child) = elements[index].value else { return }
        elements[index].value = .null
        child.removePath(components.dropFirst())
        elements[index].value = .document(child)
    }
}
