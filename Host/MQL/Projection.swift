import FerryBSON

/// The projection tree behind `$project`, `$addFields`/`$set` and `$unset`, applied as MongoDB
/// applies it: dotted paths reach into sub-documents and through arrays of them; computed
/// fields replace a field in place or are appended.
struct Projection: Sendable {
    enum Mode: Sendable { case inclusion, exclusion, addFields }

    indirect enum Child: Sendable {
        case include
        case exclude
        case computed(Expr)
        case node(Node)
    }

    struct Node: Sendable {
        var children: [(String, Child)] = []

        func child(_ key: String) -> Child? {
            for (k, c) in children where k == key { return c }
            return nil
        }

        var hasComputed: Bool {
            children.contains { _, c in
                switch c {
                case .computed: return true
                case .node(let n): return n.hasComputed
                default: return false
                }
            }
        }

        mutating func insert(_ path: ArraySlice<String>, _ value: Child, fullPath: String, op: String) throws {
            let head = path.first!
            let index = children.firstIndex { $0.0 == head }
            if path.count == 1 {
                if index != nil { throw mqlError(op, "Invalid \(op) :: caused by :: Path collision at \(fullPath)") }
                children.append((head, value))
                return
            }
            if let index {
                guard case .node(var sub) = children[index].1 else {
                    throw mqlError(op, "Invalid \(op) :: caused by :: Path collision at \(fullPath)")
                }
                try sub.insert(path.dropFirst(), value, fullPath: fullPath, op: op)
                children[index].1 = .node(sub)
            } else {
                var sub = Node()
                try sub.insert(path.dropFirst(), value, fullPath: fullPath, op: op)
                children.append((head, .node(sub)))
            }
        }
    }

    let mode: Mode
    let root: Node

    // MARK: Parsing

    /// `$project`'s specification.
    static func project(_ spec: BSON, _ c: ExprCompiler) throws -> Projection {
        let op = "$project"
        guard case .document(let d) = spec else {
            throw mqlError(op, "$project specification must be an object, found \(Values.typeName(spec))")
        }
        if d.isEmpty { throw mqlError(op, "Invalid $project :: caused by :: projection specification must have at least one field") }
        var entries: [(String, Child)] = []
        try flatten(d, prefix: "", into: &entries, c, op: op, literalsAreExpressions: false)
        var idExcluded = false
        var mode: Mode?
        for (path, child) in entries {
            let isId = path == "_id"
            switch child {
            case .include:
                if isId { continue }
                if mode == .exclusion { throw mqlError(op, "Invalid $project :: caused by :: Cannot do inclusion on field \(path) in exclusion projection") }
                mode = .inclusion
            case .computed:
                if mode == .exclusion { throw mqlError(op, "Invalid $project :: caused by :: Cannot use expression other than $meta in exclusion projection (field \(path))") }
                mode = .inclusion
            case .exclude:
                if isId {
                    idExcluded = true
                    continue
                }
                if mode == .inclusion { throw mqlError(op, "Invalid $project :: caused by :: Cannot do exclusion on field \(path) in inclusion projection") }
                mode = .exclusion
            case .node: break
            }
        }
        // Only _id mentioned: {_id: 0} excludes it, {_id: 1} keeps only it.
        let finalMode = mode ?? (idExcluded ? .exclusion : .inclusion)
        var root = Node()
        var sawId = false
        for (path, child) in entries {
            if path == "_id" { sawId = true }
            try root.insert(ArraySlice(path.split(separator: ".").map(String.init)), child, fullPath: path, op: op)
        }
        if finalMode == .inclusion && !sawId && !idExcluded {
            root.children.insert(("_id", .include), at: 0)
        }
        if finalMode == .inclusion && idExcluded {
            root.children.removeAll { $0.0 == "_id" }
        }
        return Projection(mode: finalMode, root: root)
    }

    /// `$addFields`/`$set`: every leaf is an expression; nested objects merge into sub-documents.
    static func addFields(_ spec: BSON, _ c: ExprCompiler, op: String) throws -> Projection {
        guard case .document(let d) = spec else {
            throw mqlError(op, "\(op) specification must be an object, found \(Values.typeName(spec))")
        }
        var entries: [(String, Child)] = []
        try flatten(d, prefix: "", into: &entries, c, op: op, literalsAreExpressions: true)
        var root = Node()
        for (path, child) in entries {
            try root.insert(ArraySlice(path.split(separator: ".").map(String.init)), child, fullPath: path, op: op)
        }
        return Projection(mode: .addFields, root: root)
    }

    /// `$unset`: a field name or an array of them.
    static func unset(_ spec: BSON) throws -> Projection {
        let op = "$unset"
        var paths: [String] = []
        switch spec {
        case .string(let s): paths = [s]
        case .array(let a):
            if a.isEmpty { throw mqlError(op, "$unset specification must be a string or an array with at least one field") }
            for v in a {
                guard case .string(let s) = v else { throw mqlError(op, "$unset specification must be a string or an array containing only string values") }
                paths.append(s)
            }
        default: throw mqlError(op, "$unset specification must be a string or an array, found \(Values.typeName(spec))")
        }
        var root = Node()
        for p in paths {
            let path = try FieldPath(p, op: op, what: "$unset field")
            try root.insert(ArraySlice(path.components), .exclude, fullPath: p, op: op)
        }
        return Projection(mode: .exclusion, root: root)
    }

    private static func flatten(
        _ d: BSONDocument, prefix: String, into entries: inout [(String, Child)], _ c: ExprCompiler, op: String,
        literalsAreExpressions: Bool
    ) throws {
        for element in d.elements {
            let key = element.key
            if key.hasPrefix("$") {
                throw mqlError(op, "Invalid \(op) :: caused by :: FieldPath field names may not start with '$': '\(key)'")
            }
            _ = try FieldPath(key, op: op, what: "field")
            let path = prefix.isEmpty ? key : prefix + "." + key
            switch element.value {
            case .document(let sub) where sub.elements.first?.key.hasPrefix("$") == true:
                entries.append((path, .computed(try c.compile(element.value))))
            case .document(let sub):
                if sub.isEmpty {
                    if literalsAreExpressions {
                        entries.append((path, .computed(Expr(constant: .document(sub)))))
                        continue
                    }
                    throw mqlError(op, "Invalid \(op) :: caused by :: An empty sub-projection is not a valid value. Found empty object at path \(path)")
                }
                try flatten(sub, prefix: path, into: &entries, c, op: op, literalsAreExpressions: literalsAreExpressions)
            case .bool(let b) where !literalsAreExpressions:
                entries.append((path, b ? .include : .exclude))
            case .int32, .int64, .double, .decimal128:
                if literalsAreExpressions {
                    entries.append((path, .computed(Expr(constant: element.value))))
                } else {
                    entries.append((path, Values.isTruthy(element.value) ? .include : .exclude))
                }
            default:
                entries.append((path, .computed(try c.compile(element.value))))
            }
        }
    }

    // MARK: Applying

    func apply(_ doc: BSONDocument, _ ctx: EvalContext) throws -> BSONDocument {
        switch mode {
        case .inclusion:
            var out = Projection.include(root, doc)
            if root.hasComputed {
                ctx.setDocument(doc)
                try Projection.compute(root, &out, ctx)
            }
            return out
        case .exclusion:
            return Projection.exclude(root, doc)
        case .addFields:
            ctx.setDocument(doc)
            var out = doc
            try Projection.compute(root, &out, ctx)
            return out
        }
    }

    private static func include(_ node: Node, _ doc: BSONDocument) -> BSONDocument {
        var out = BSONDocument()
        for element in doc.elements {
            guard let child = node.child(element.key) else { continue }
            switch child {
            case .include:
                out.elements.append(element)
            case .node(let sub):
                if let v = includeValue(sub, element.value) { out.elements.append(BSONElement(element.key, v)) }
            case .exclude, .computed:
                continue
            }
        }
        return out
    }

    private static func includeValue(_ node: Node, _ value: BSON) -> BSON? {
        switch value {
        case .document(let d): return .document(include(node, d))
        case .array(let a): return .array(a.compactMap { includeValue(node, $0) })
        default: return nil
        }
    }

    private static func exclude(_ node: Node, _ doc: BSONDocument) -> BSONDocument {
        var out = BSONDocument()
        for element in doc.elements {
            guard let child = node.child(element.key) else {
                out.elements.append(element)
                continue
            }
            switch child {
            case .exclude: continue
            case .node(let sub): out.elements.append(BSONElement(element.key, excludeValue(sub, element.value)))
            default: out.elements.append(element)
            }
        }
        return out
    }

    private static func excludeValue(_ node: Node, _ value: BSON) -> BSON {
        switch value {
        case .document(let d): return .document(exclude(node, d))
        case .array(let a): return .array(a.map { excludeValue(node, $0) })
        default: return value
        }
    }

    /// Evaluates the computed fields of `node` into `out`, in specification order.
    private static func compute(_ node: Node, _ out: inout BSONDocument, _ ctx: EvalContext) throws {
        for (key, child) in node.children {
            switch child {
            case .computed(let e):
                out[key] = try e.eval(ctx)
            case .node(let sub) where sub.hasComputed:
                out[key] = try computeValue(sub, out[key], ctx)
            default:
                continue
            }
        }
    }

    private static func computeValue(_ node: Node, _ value: BSON?, _ ctx: EvalContext) throws -> BSON? {
        switch value {
        case .document(var d)?:
            try compute(node, &d, ctx)
            return .document(d)
        case .array(let a)?:
            return .array(try a.map { try computeValue(node, $0, ctx) ?? .null })
        default:
            var d = BSONDocument()
            try compute(node, &d, ctx)
            return .document(d)
        }
    }
}
