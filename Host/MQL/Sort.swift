import FerryBSON

/// A parsed sort specification (`{time_received: 1, value: -1}`) and MongoDB's sort-key rules:
/// through arrays the key is the smallest element for ascending order and the largest for
/// descending; missing sorts as null; an empty array sorts below null.
struct SortSpec: Sendable {
    struct Key: Sendable {
        let path: [String]
        let descending: Bool
    }
    let keys: [Key]

    init(keys: [Key]) { self.keys = keys }

    /// `{field: 1 | -1, …}`; `op` names the operator for errors.
    init(_ spec: BSON, op: String) throws {
        guard case .document(let d) = spec else {
            throw mqlError(op, "\(op) expects a sort specification object like {field: 1}, found \(Values.typeName(spec))")
        }
        if d.isEmpty { throw mqlError(op, "\(op) must have at least one sort key") }
        var keys: [Key] = []
        for element in d.elements {
            let path = try FieldPath(element.key, op: op, what: "sort key").components
            switch element.value {
            case .document(let meta) where meta.elements.first?.key == "$meta":
                throw mqlError(op, "\(op) on {$meta: …} is not supported: Ferry has no text or search scores")
            default:
                guard element.value.isNumeric, let n = element.value.exactInt64, n == 1 || n == -1 else {
                    throw mqlError(op, "\(op) key ordering must be 1 (for ascending) or -1 (for descending); found \(Values.describe(element.value)) for '\(element.key)'")
                }
                keys.append(Key(path: path, descending: n == -1))
            }
        }
        self.keys = keys
    }

    /// The sort key of one document, one value per key.
    func extract(_ doc: BSONDocument) -> [BSON?] {
        keys.map { SortSpec.key(doc, $0) }
    }

    static func key(_ doc: BSONDocument, _ key: Key) -> BSON? {
        // Fast path: a plain value at a top-level or nested field, no arrays on the way.
        var current = doc
        for (i, component) in key.path.enumerated() {
            guard let v = FieldPath.lookup(current, component) else { return .null }
            if i == key.path.count - 1 {
                if case .array = v { break }
                return v
            }
            switch v {
            case .document(let d): current = d
            case .array: return slowKey(doc, key)
            default: return .null
            }
        }
        return slowKey(doc, key)
    }

    private static func slowKey(_ doc: BSONDocument, _ key: Key) -> BSON? {
        var best: BSON?
        var sawAny = false
        QueryPath.sortCandidates(doc, key.path) { candidate in
            let v = candidate ?? .null
            if sawAny {
                let c = BSONOrder.compare(v, best)
                if key.descending ? c > 0 : c < 0 { best = v }
            } else {
                best = v
                sawAny = true
            }
        }
        // Only empty arrays on the way: the key sorts below null.
        return sawAny ? best : nil
    }

    /// Compares two extracted keys, directions applied.
    func compareKeys(_ a: [BSON?], _ b: [BSON?]) -> Int {
        for (i, k) in keys.enumerated() {
            let c = BSONOrder.compare(a[i], b[i])
            if c != 0 { return k.descending ? -c : c }
        }
        return 0
    }

    /// Sorts documents stably by this spec.
    func sort(_ docs: [BSONDocument]) -> [BSONDocument] {
        let decorated = docs.map { extract($0) }
        let order = (0..<docs.count).sorted { i, j in
            let c = compareKeys(decorated[i], decorated[j])
            return c != 0 ? c < 0 : i < j
        }
        return order.map { docs[$0] }
    }
}
