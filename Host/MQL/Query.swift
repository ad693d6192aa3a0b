import FerryBSON
import Foundation

/// A compiled `$match` filter.
typealias Matcher = @Sendable (BSONDocument, EvalContext) throws -> Bool

/// The values a dotted path reaches in a document, the way MongoDB's query language walks it:
/// through arrays of documents implicitly, numeric components also as array positions, and at
/// the leaf an array's elements first and then the array itself. `nil` candidates are missing.
enum QueryPath {
    /// True when `test` accepts any candidate.
    static func any(_ doc: BSONDocument, _ path: [String], expand: Bool, _ test: (BSON?) -> Bool) -> Bool {
        visit(doc, path, 0, expand ? .expand : .none, test)
    }

    /// How the leaf value is offered: as is, as its elements then itself, or as its elements only.
    enum LeafMode { case none, expand, elementsOnly }

    private static func visit(_ doc: BSONDocument, _ path: [String], _ i: Int, _ expand: LeafMode, _ test: (BSON?) -> Bool) -> Bool {
        let value = FieldPath.lookup(doc, path[i])
        if i == path.count - 1 { return leaf(value, expand, test) }
        guard let value else { return test(nil) }
        switch value {
        case .document(let d): return visit(d, path, i + 1, expand, test)
        case .array(let a): return visitArray(a, path, i + 1, expand, test)
        default: return test(nil)
        }
    }

    /// `path[i]` applies to the elements of `array`.
    private static func visitArray(_ array: [BSON], _ path: [String], _ i: Int, _ expand: LeafMode, _ test: (BSON?) -> Bool) -> Bool {
        let component = path[i]
        let position = arrayIndex(component)
        if let position, position < array.count {
            let element = array[position]
            if i == path.count - 1 {
                if leaf(element, expand, test) { return true }
            } else {
                switch element {
                case .document(let d): if visit(d, path, i + 1, expand, test) { return true }
                case .array(let inner): if visitArray(inner, path, i + 1, expand, test) { return true }
                default: if test(nil) { return true }
                }
            }
        }
        for element in array {
            guard case .document(let d) = element else { continue }
            // A numeric component names a field of the element only when it has one.
            if position != nil && FieldPath.lookup(d, component) == nil { continue }
            if visit(d, path, i, expand, test) { return true }
        }
        return false
    }

    @inline(__always)
    static func leaf(_ value: BSON?, _ expand: Bool, _ test: (BSON?) -> Bool) -> Bool {
        leaf(value, expand ? .expand : .none, test)
    }

    @inline(__always)
    static func leaf(_ value: BSON?, _ mode: LeafMode, _ test: (BSON?) -> Bool) -> Bool {
        if mode != .none, case .array(let a)? = value {
            for e in a where test(e) { return true }
            if mode == .elementsOnly { return false }
        }
        return test(value)
    }

    static func arrayIndex(_ component: String) -> Int? {
        guard !component.isEmpty, component.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
        if component.utf8.count > 1 && component.utf8.first == 48 { return nil }
        return Int(component)
    }

    /// Every candidate for a sort key: leaf arrays give their elements, not themselves.
    static func sortCandidates(_ doc: BSONDocument, _ path: [String], _ body: (BSON?) -> Void) {
        _ = visit(doc, path, 0, .elementsOnly) { v in
            body(v)
            return false
        }
    }
}

/// One operator's test on a path: either a test of each candidate (`expand` says whether leaf
/// arrays are looked into), or a conjunction of tests ($not's operand). `negated` flips the
/// whole answer ($ne, $nin, $not, $exists: false).
struct LeafTest: Sendable {
    enum Kind: Sendable {
        case candidates(expand: Bool, test: @Sendable (BSON?) -> Bool)
        case all([LeafTest])
    }
    var kind: Kind
    var negated: Bool

    init(expand: Bool, negated: Bool, test: @escaping @Sendable (BSON?) -> Bool) {
        kind = .candidates(expand: expand, test: test)
        self.negated = negated
    }

    init(not inner: [LeafTest]) {
        kind = .all(inner)
        negated = true
    }

    func matches(_ doc: BSONDocument, _ path: [String]) -> Bool {
        switch kind {
        case .candidates(let expand, let test): return negated != QueryPath.any(doc, path, expand: expand, test)
        case .all(let tests): return negated != tests.allSatisfy { $0.matches(doc, path) }
        }
    }

    /// The test applied to one value as if it were the path's value ($elemMatch on values).
    func matches(value: BSON?) -> Bool {
        switch kind {
        case .candidates(let expand, let test): return negated != QueryPath.leaf(value, expand, test)
        case .all(let tests): return negated != tests.allSatisfy { $0.matches(value: value) }
        }
    }
}

enum QueryCompiler {
    static let topLevelOperators = ["$and", "$or", "$nor", "$expr", "$comment", "$alwaysTrue", "$alwaysFalse"]
    static let fieldOperators = [
        "$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$not", "$exists", "$type", "$regex", "$options",
        "$elemMatch", "$size", "$all", "$mod",
    ]

    /// `allowExpr` is false inside `$elemMatch`, where MongoDB refuses `$expr` at any depth.
    static func compile(_ query: BSONDocument, _ c: ExprCompiler, allowExpr: Bool = true) throws -> Matcher {
        var parts: [Matcher] = []
        for element in query.elements {
            if element.key.hasPrefix("$") {
                if let m = try compileTopLevel(element.key, element.value, c, allowExpr: allowExpr) { parts.append(m) }
            } else {
                let path = try FieldPath(element.key, op: "$match", what: "query path").components
                let tests = try compileFieldCondition(element.value, c, allowExpr: allowExpr)
                if tests.count == 1 {
                    let t = tests[0]
                    parts.append { doc, _ in t.matches(doc, path) }
                } else {
                    parts.append { doc, _ in tests.allSatisfy { $0.matches(doc, path) } }
                }
            }
        }
        let all = parts
        switch all.count {
        case 0: return { _, _ in true }
        case 1: return all[0]
        default:
            return { doc, ctx in
                for p in all where try !p(doc, ctx) { return false }
                return true
            }
        }
    }

    private static func compileTopLevel(_ key: String, _ value: BSON, _ c: ExprCompiler, allowExpr: Bool) throws -> Matcher? {
        switch key {
        case "$and", "$or", "$nor":
            guard case .array(let clauses) = value, !clauses.isEmpty else {
                throw mqlError(key, "\(key) must be a nonempty array")
            }
            let compiled = try clauses.map { clause -> Matcher in
                guard case .document(let d) = clause else {
                    throw mqlError(key, "\(key)'s entries must be objects, found \(Values.typeName(clause))")
                }
                return try compile(d, c, allowExpr: allowExpr)
            }
            switch key {
            case "$and": return { doc, ctx in try compiled.allSatisfy { try $0(doc, ctx) } }
            case "$or": return { doc, ctx in try compiled.contains { try $0(doc, ctx) } }
            default: return { doc, ctx in try !compiled.contains { try $0(doc, ctx) } }
            }
        case "$expr":
            guard allowExpr else { throw mqlError("$expr", "$expr can only be applied to the top-level document") }
            let expr = try c.compile(value).eval
            return { doc, ctx in
                ctx.setDocument(doc)
                return Values.isTruthy(try expr(ctx))
            }
        case "$comment":
            return nil
        case "$alwaysTrue":
            return { _, _ in true }
        case "$alwaysFalse":
            return { _, _ in false }
        case "$where", "$text", "$jsonSchema", "$sampleRate":
            throw mqlError(key, "\(key) is not supported by Ferry's query language")
        default:
            throw mqlError(key, unknownNameMessage(kind: "top level query operator", name: key, among: topLevelOperators))
        }
    }

    /// `{a: 5}`, `{a: /re/}`, `{a: {$gt: 1, $lt: 5}}`.
    static func compileFieldCondition(_ value: BSON, _ c: ExprCompiler, allowExpr: Bool = true) throws -> [LeafTest] {
        switch value {
        case .document(let d) where d.elements.first?.key.hasPrefix("$") == true:
            return try compileOperators(d, c)
        case .regex(let pattern, let options):
            return [try regexTest(pattern, options)]
        default:
            return [equalityTest(value)]
        }
    }

    private static func compileOperators(_ d: BSONDocument, _ c: ExprCompiler) throws -> [LeafTest] {
        var tests: [LeafTest] = []
        var regexOptions: String?
        var regexPattern: BSON?
        for element in d.elements {
            let op = element.key
            let arg = element.value
            switch op {
            case "$eq": tests.append(equalityTest(arg))
            case "$ne":
                var t = equalityTest(arg)
                t.negated = true
                tests.append(t)
            case "$gt", "$gte", "$lt", "$lte": tests.append(try comparisonTest(op, arg))
            case "$in", "$nin":
                var t = try inTest(op, arg)
                t.negated = op == "$nin"
                tests.append(t)
            case "$exists":
                let wanted = Values.isTruthy(arg)
                tests.append(LeafTest(expand: false, negated: !wanted) { $0 != nil })
            case "$type": tests.append(try typeTest(arg))
            case "$regex":
                regexPattern = arg
            case "$options":
                guard case .string(let o) = arg else { throw mqlError("$options", "$options has to be a string") }
                regexOptions = o
            case "$size":
                guard arg.isNumeric, let n = arg.exactInt64 else {
                    if arg.isNumeric { throw mqlError("$size", "$size must be a whole number") }
                    throw mqlError("$size", "$size needs a number, found \(Values.typeName(arg))")
                }
                if n < 0 { throw mqlError("$size", "$size may not be negative") }
                tests.append(LeafTest(expand: false, negated: false) { v in
                    if case .array(let a)? = v { return a.count == n }
                    return false
                })
            case "$mod": tests.append(try modTest(arg))
            case "$all": tests.append(contentsOf: try allTests(arg, c))
            case "$elemMatch": tests.append(try elemMatchTest(arg, c))
            case "$not":
                let inner: [LeafTest]
                switch arg {
                case .regex(let p, let o): inner = [try regexTest(p, o)]
                case .document(let sub) where sub.elements.first?.key.hasPrefix("$") == true:
                    inner = try compileOperators(sub, c)
                case .document:
                    throw mqlError("$not", "$not needs an operator object or a regular expression, not a plain object")
                default:
                    throw mqlError("$not", "$not needs a regex or a document, found \(Values.typeName(arg))")
                }
                tests.append(LeafTest(not: inner))
            case "$geoWithin", "$geoIntersects", "$near", "$nearSphere":
                throw mqlError(op, "\(op) is not supported in $match; use the $geoNear stage")
            default:
                throw mqlError(op, unknownNameMessage(kind: "query operator", name: op, among: fieldOperators))
            }
        }
        if let regexPattern {
            switch regexPattern {
            case .string(let p): tests.append(try regexTest(p, regexOptions ?? ""))
            case .regex(let p, let o):
                if regexOptions != nil && !o.isEmpty { throw mqlError("$regex", "options set in both $regex and $options") }
                tests.append(try regexTest(p, regexOptions ?? o))
            default: throw mqlError("$regex", "$regex has to be a string")
            }
        } else if regexOptions != nil {
            throw mqlError("$options", "$options needs a $regex")
        }
        return tests
    }

    static func equalityTest(_ rhs: BSON) -> LeafTest {
        if case .null = rhs {
            return LeafTest(expand: true, negated: false) { v in
                guard let v else { return true }
                if case .null = v { return true }
                return false
            }
        }
        let rank = BSONOrder.rank(rhs)
        return LeafTest(expand: true, negated: false) { v in
            guard let v, BSONOrder.rank(v) == rank else { return false }
            return BSONOrder.compare(v, rhs) == 0
        }
    }

    static func comparisonTest(_ op: String, _ rhs: BSON) throws -> LeafTest {
        if case .regex = rhs { throw mqlError(op, "\(op) can't have a regex value") }
        let accept: @Sendable (Int) -> Bool
        switch op {
        case "$gt": accept = { $0 > 0 }
        case "$gte": accept = { $0 >= 0 }
        case "$lt": accept = { $0 < 0 }
        default: accept = { $0 <= 0 }
        }
        let inclusive = op == "$gte" || op == "$lte"
        let rank = BSONOrder.rank(rhs)
        let rhsIsNaN = isNaN(rhs)
        switch rhs {
        case .null:
            return LeafTest(expand: true, negated: false) { v in
                guard inclusive else { return false }
                guard let v else { return true }
                if case .null = v { return true }
                return false
            }
        case .minKey, .maxKey:
            return LeafTest(expand: true, negated: false) { v in accept(BSONOrder.compare(v ?? .null, rhs)) }
        default:
            return LeafTest(expand: true, negated: false) { v in
                guard let v, BSONOrder.rank(v) == rank else { return false }
                if rank == 10, rhsIsNaN || isNaN(v) { return inclusive && rhsIsNaN && isNaN(v) }
                return accept(BSONOrder.compare(v, rhs))
            }
        }
    }

    static func isNaN(_ v: BSON) -> Bool {
        switch v {
        case .double(let d): d.isNaN
        case .decimal128(let d): Dec128(d).isNaN
        default: false
        }
    }

    static func inTest(_ op: String, _ arg: BSON) throws -> LeafTest {
        guard case .array(let values) = arg else { throw mqlError(op, "\(op) needs an array") }
        var equals: [LeafTest] = []
        var regexes: [MQLRegex] = []
        var set = Set<GroupKey>()
        var matchesNull = false
        for v in values {
            switch v {
            case .regex(let p, let o): regexes.append(try MQLRegex(pattern: p, options: o, op: op))
            case .document(let d) where d.elements.first?.key.hasPrefix("$") == true:
                throw mqlError(op, "cannot nest $ under \(op)")
            case .null: matchesNull = true
            default:
                // Hashable fast path for scalars; same-rank equality is GroupKey equality.
                set.insert(GroupKey(v))
                equals.append(equalityTest(v))
            }
        }
        let matchesNullValue = matchesNull, regexList = regexes, keySet = set
        let literalRegexes = values.filter { if case .regex = $0 { return true } else { return false } }
        return LeafTest(expand: true, negated: false) { v in
            guard let v else { return matchesNullValue }
            if case .null = v { return matchesNullValue }
            if keySet.contains(GroupKey(v)) { return true }
            if !regexList.isEmpty {
                switch v {
                case .string(let s), .symbol(let s): if regexList.contains(where: { $0.matches(s) }) { return true }
                case .regex: if literalRegexes.contains(where: { BSONOrder.compare($0, v) == 0 }) { return true }
                default: break
                }
            }
            return false
        }
    }

    static func typeTest(_ arg: BSON) throws -> LeafTest {
        let specs: [BSON]
        if case .array(let a) = arg { specs = a } else { specs = [arg] }
        var codes = Set<Int>()
        var number = false
        for s in specs {
            switch s {
            case .string("number"): number = true
            case .string(let name):
                guard let code = Values.typeCodes[name] else {
                    throw mqlError("$type", "unknown type name alias: \(name)")
                }
                codes.insert(code)
            default:
                guard s.isNumeric, let code = s.exactInt64, code == -1 || code == 127 || (1...19).contains(code) else {
                    throw mqlError("$type", "invalid numerical type code: \(Values.describe(s))")
                }
                codes.insert(Int(code))
            }
        }
        let anyNumber = number, typeCodes = codes
        return LeafTest(expand: true, negated: false) { v in
            guard let v else { return false }
            if anyNumber && v.isNumeric { return true }
            return typeCodes.contains(Values.typeCode(v))
        }
    }

    static func regexTest(_ pattern: String, _ options: String) throws -> LeafTest {
        let regex = try MQLRegex(pattern: pattern, options: options, op: "$regex")
        return LeafTest(expand: true, negated: false) { v in
            switch v {
            case .string(let s)?, .symbol(let s)?: return regex.matches(s)
            case .regex(let p, let o)?: return p == pattern && o == options
            default: return false
            }
        }
    }

    static func modTest(_ arg: BSON) throws -> LeafTest {
        guard case .array(let a) = arg else { throw mqlError("$mod", "malformed mod, needs to be an array") }
        if a.count < 2 { throw mqlError("$mod", "malformed mod, not enough elements") }
        if a.count > 2 { throw mqlError("$mod", "malformed mod, too many elements") }
        guard a[0].isNumeric, a[1].isNumeric else { throw mqlError("$mod", "malformed mod, divisor and remainder must be numbers") }
        let divisor = StringOperators.coerceToLong(a[0]), remainder = StringOperators.coerceToLong(a[1])
        if divisor == 0 { throw mqlError("$mod", "divisor cannot be 0") }
        return LeafTest(expand: true, negated: false) { v in
            guard let v, v.isNumeric else { return false }
            if let d = v.numericDouble, !d.isFinite { return false }
            let x = StringOperators.coerceToLong(v)
            if divisor == -1 { return remainder == 0 }
            return x % divisor == remainder
        }
    }

    static func allTests(_ arg: BSON, _ c: ExprCompiler) throws -> [LeafTest] {
        guard case .array(let values) = arg else { throw mqlError("$all", "$all needs an array") }
        if values.isEmpty { return [LeafTest(expand: false, negated: false) { _ in false }] }
        return try values.map { v in
            if case .document(let d) = v, d.elements.first?.key == "$elemMatch" {
                return try elemMatchTest(d.elements.first!.value, c)
            }
            if case .document(let d) = v, d.elements.first?.key.hasPrefix("$") == true {
                throw mqlError("$all", "no $ expressions in $all, except $elemMatch")
            }
            if case .regex(let p, let o) = v { return try regexTest(p, o) }
            return equalityTest(v)
        }
    }

    static func elemMatchTest(_ arg: BSON, _ c: ExprCompiler) throws -> LeafTest {
        guard case .document(let d) = arg else { throw mqlError("$elemMatch", "$elemMatch needs an object") }
        let logical: Set<String> = ["$and", "$or", "$nor", "$where", "$expr", "$comment"]
        if let first = d.elements.first?.key, first.hasPrefix("$"), !logical.contains(first) {
            let tests = try compileOperators(d, c)
            return LeafTest(expand: false, negated: false) { v in
                guard case .array(let a)? = v else { return false }
                return a.contains { e in tests.allSatisfy { $0.matches(value: e) } }
            }
        }
        let matcher = try compile(d, c, allowExpr: false)
        return LeafTest(expand: false, negated: false) { v in
            guard case .array(let a)? = v else { return false }
            // The sub-query holds no $expr (refused when compiled), so it never reads this context.
            let context = EvalContext(slotCount: 0, environment: RunEnvironment(now: 0, lookup: nil, options: MQLOptions(), seed: 0))
            return a.contains { e in
                guard case .document(let sub) = e else { return false }
                return (try? matcher(sub, context)) ?? false
            }
        }
    }
}

