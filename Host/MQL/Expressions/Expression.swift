import FerryBSON

/// The evaluation state of one pipeline run: the current document and the variable slots.
/// Compiled expressions read it; stages set the document. One per run, used by one thread (the
/// one pulling the run's cursor; sub-pipelines get a `child()`), so its properties skip Swift's
/// dynamic exclusivity checks: a runtime call on every access in the per-row hot path.
final class EvalContext {
    /// $$ROOT.
    @exclusivity(unchecked) var root: BSONDocument = BSONDocument()
    /// $$CURRENT when it is a document (always, unless a $let rebinds CURRENT).
    @exclusivity(unchecked) var currentDoc: BSONDocument = BSONDocument()
    /// $$CURRENT when a $let rebound it to a non-document; `nil` while `currentDoc` is in force.
    @exclusivity(unchecked) var currentOverride: BSON?? = nil
    /// User variables and per-site bindings ($let, $map's `as`, $$value/$$this…), by slot.
    @exclusivity(unchecked) var variables: [BSON?]
    let environment: RunEnvironment

    init(slotCount: Int, environment: RunEnvironment) {
        variables = [BSON?](repeating: nil, count: max(slotCount, 1))
        self.environment = environment
    }

    @inline(__always)
    func setDocument(_ doc: BSONDocument) {
        root = doc
        currentDoc = doc
        currentOverride = nil
    }

    /// A context for a sub-pipeline ($lookup, $facet) that sees the same variables.
    func child() -> EvalContext {
        let c = EvalContext(slotCount: variables.count, environment: environment)
        c.variables = variables
        return c
    }

    var current: BSON? {
        if let currentOverride { return currentOverride }
        return .document(currentDoc)
    }
}

/// What a run needs beyond the documents: the clock, the other collections, randomness, limits.
final class RunEnvironment {
    let now: Int64
    let lookup: (@Sendable (String) throws -> [BSONDocument])?
    let options: MQLOptions
    var random: SplitMix64

    init(now: Int64, lookup: (@Sendable (String) throws -> [BSONDocument])?, options: MQLOptions, seed: UInt64) {
        self.now = now
        self.lookup = lookup
        self.options = options
        self.random = SplitMix64(seed: seed)
    }
}

/// A small, seedable generator, so `$sample` and `$rand` are reproducible under test.
struct SplitMix64: RandomNumberGenerator, Sendable {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

typealias EvalFunction = @Sendable (EvalContext) throws -> BSON?

/// A compiled expression: a closure over its compiled arguments, evaluated once per document.
/// `nil` results mean "missing".
struct Expr: Sendable {
    let eval: EvalFunction
    /// Set when the expression is a constant (after folding): `.some(nil)` is a constant missing.
    let constant: BSON??
    /// Set when the expression is a plain field path on $$CURRENT (`"$a.b"`).
    let fieldPath: FieldPath?

    init(_ eval: @escaping EvalFunction) {
        self.eval = eval
        constant = nil
        fieldPath = nil
    }

    init(constant value: BSON?) {
        eval = { _ in value }
        constant = .some(value)
        fieldPath = nil
    }

    init(path: FieldPath) {
        let components = path.components
        let first = components[0]
        if components.count == 1 {
            eval = { ctx in
                if ctx.currentOverride == nil { return FieldPath.lookup(ctx.currentDoc, first) }
                return path.evaluate(value: ctx.current)
            }
        } else {
            eval = { ctx in
                if ctx.currentOverride == nil { return FieldPath.evaluate(components, from: 0, in: ctx.currentDoc) }
                return path.evaluate(value: ctx.current)
            }
        }
        constant = nil
        fieldPath = path
    }

    var isConstant: Bool { constant != nil }

    // MARK: Builders with constant folding

    static func unary(_ a: Expr, _ f: @escaping @Sendable (BSON?) throws -> BSON?) -> Expr {
        if let c = a.constant, let folded = try? f(c) { return Expr(constant: folded) }
        let ae = a.eval
        return Expr { ctx in try f(ae(ctx)) }
    }

    static func binary(_ a: Expr, _ b: Expr, _ f: @escaping @Sendable (BSON?, BSON?) throws -> BSON?) -> Expr {
        if let ca = a.constant, let cb = b.constant, let folded = try? f(ca, cb) { return Expr(constant: folded) }
        let ae = a.eval, be = b.eval
        return Expr { ctx in try f(ae(ctx), be(ctx)) }
    }

    static func nary(_ args: [Expr], _ f: @escaping @Sendable ([BSON?]) throws -> BSON?) -> Expr {
        if args.allSatisfy(\.isConstant), let folded = try? f(args.map { $0.constant! }) {
            return Expr(constant: folded)
        }
        let evals = args.map(\.eval)
        return Expr { ctx in
            var values = [BSON?]()
            values.reserveCapacity(evals.count)
            for e in evals { values.append(try e(ctx)) }
            return try f(values)
        }
    }
}

/// Compiles aggregation expressions into closures, resolving variables to slots once.
final class ExprCompiler {
    let registry: MQLOperatorRegistry
    /// Visible user variables, innermost scope last.
    private var scopes: [[String: Int]] = [[:]]
    private(set) var slotCount = 0
    /// Whether $$DESCEND/$$PRUNE/$$KEEP are defined ($redact).
    var redactVariables = false

    init(registry: MQLOperatorRegistry) {
        self.registry = registry
    }

    func newSlot() -> Int {
        defer { slotCount += 1 }
        return slotCount
    }

    /// Runs `body` with `bindings` visible as variables; returns its result.
    func withScope<T>(_ bindings: [String: Int], _ body: () throws -> T) rethrows -> T {
        scopes.append(bindings)
        defer { scopes.removeLast() }
        return try body()
    }

    func lookupVariable(_ name: String) -> Int? {
        for scope in scopes.reversed() {
            if let slot = scope[name] { return slot }
        }
        return nil
    }

    /// Defines a user variable name after checking it as MongoDB does.
    static func validateVariableName(_ name: String, op: String) throws {
        guard let first = name.unicodeScalars.first else {
            throw mqlError(op, "empty variable names are not allowed")
        }
        if first.isASCII && !(first >= "a" && first <= "z") {
            throw mqlError(op, "'\(name)' starts with an invalid character for a user variable name")
        }
        for scalar in name.unicodeScalars where scalar.isASCII {
            let ok = (scalar >= "a" && scalar <= "z") || (scalar >= "A" && scalar <= "Z") || (scalar >= "0" && scalar <= "9") || scalar == "_"
            if !ok { throw mqlError(op, "'\(name)' contains an invalid character for a variable name: '\(Character(scalar))'") }
        }
    }

    // MARK: Compiling

    func compile(_ value: BSON) throws -> Expr {
        switch value {
        case .string(let s):
            if s.hasPrefix("$$") { return try compileVariable(String(s.dropFirst(2))) }
            if s.hasPrefix("$") {
                let path = try FieldPath(String(s.dropFirst()), op: nil, what: "field path")
                return Expr(path: path)
            }
            return Expr(constant: value)
        case .array(let elements):
            let compiled = try elements.map { try compile($0) }
            if compiled.allSatisfy(\.isConstant) {
                return Expr(constant: .array(compiled.map { $0.constant! ?? .null }))
            }
            let evals = compiled.map(\.eval)
            return Expr { ctx in
                var out = [BSON]()
                out.reserveCapacity(evals.count)
                for e in evals { out.append(try e(ctx) ?? .null) }
                return .array(out)
            }
        case .document(let doc):
            if let first = doc.elements.first, first.key.hasPrefix("$") {
                guard doc.count == 1 else {
                    throw mqlError(first.key, "an expression object must contain exactly one field, the operator name; found \(doc.count) fields in \(Values.describe(value))")
                }
                return try compileOperator(first.key, first.value)
            }
            return try compileObject(doc)
        default:
            return Expr(constant: value)
        }
    }

    /// `{a: <expr>, b: {...}}`: fields evaluating to missing are left out.
    func compileObject(_ doc: BSONDocument) throws -> Expr {
        var fields: [(String, Expr)] = []
        var seen = Set<String>()
        for element in doc.elements {
            if element.key.hasPrefix("$") {
                throw mqlError(element.key, "field names in an expression object may not start with '$' (did you mean to use \(element.key) as an operator? It must then be the object's only field)")
            }
            if element.key.contains(".") {
                throw mqlError(nil, "field names in an expression object may not contain '.': '\(element.key)'")
            }
            if element.key.isEmpty { throw mqlError(nil, "field names in an expression object may not be empty") }
            if !seen.insert(element.key).inserted {
                throw mqlError(nil, "duplicate field name '\(element.key)' in an expression object")
            }
            fields.append((element.key, try compile(element.value)))
        }
        if fields.allSatisfy({ $0.1.isConstant }) {
            var out = BSONDocument()
            for (k, e) in fields { if let v = e.constant! { out.append(k, v) } }
            return Expr(constant: .document(out))
        }
        let compiled = fields.map { ($0.0, $0.1.eval) }
        return Expr { ctx in
            var out = BSONDocument()
            out.elements.reserveCapacity(compiled.count)
            for (k, e) in compiled {
                if let v = try e(ctx) { out.elements.append(BSONElement(k, v)) }
            }
            return .document(out)
        }
    }

    func compileVariable(_ text: String) throws -> Expr {
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let name = String(parts[0])
        var path: FieldPath?
        if parts.count == 2 { path = try FieldPath(String(parts[1]), op: nil, what: "variable path") }
        let base: Expr
        switch name {
        case "ROOT":
            if let path {
                let comps = path.components
                return Expr { ctx in FieldPath.evaluate(comps, from: 0, in: ctx.root) }
            }
            base = Expr { ctx in .document(ctx.root) }
        case "CURRENT":
            if let path { return Expr(path: path) }
            base = Expr { ctx in ctx.current }
        case "REMOVE":
            return Expr(constant: nil)
        case "NOW":
            base = Expr { ctx in .datetime(ctx.environment.now) }
        case "DESCEND", "PRUNE", "KEEP":
            guard redactVariables else {
                throw mqlError(nil, "use of undefined variable: \(name) ($$DESCEND, $$PRUNE and $$KEEP exist only in $redact)")
            }
            return Expr(constant: .string(name.lowercased()))
        case "CLUSTER_TIME", "USER_ROLES", "SEARCH_META":
            throw mqlError(nil, "the variable $$\(name) is not available in Ferry")
        default:
            guard let slot = lookupVariable(name) else {
                throw mqlError(nil, "use of undefined variable: \(name)")
            }
            base = Expr { ctx in ctx.variables[slot] }
        }
        guard let path else { return base }
        let be = base.eval
        return Expr { ctx in path.evaluate(value: try be(ctx)) }
    }

    func compileOperator(_ name: String, _ argument: BSON) throws -> Expr {
        if let builtin = BuiltinExpressions.table[name] {
            do {
                return try builtin(self, name, argument)
            } catch var error as MQLError {
                if error.operatorName == nil { error.operatorName = name }
                throw error
            }
        }
        if let plugin = registry.expressions[name] {
            return try compilePluginOperator(plugin, argument)
        }
        let known = Array(BuiltinExpressions.table.keys) + Array(registry.expressions.keys)
        throw mqlError(name, unknownNameMessage(kind: "expression operator", name: name, among: known))
    }

    private func compilePluginOperator(_ op: MQLExpressionOperator, _ argument: BSON) throws -> Expr {
        if let validate = op.validate {
            do { try validate(argument) } catch {
                throw mqlError(op.name, "invalid argument: \(pluginMessage(error))")
            }
        }
        let arg = try compile(argument)
        let evaluate = op.evaluate
        let name = op.name
        let ae = arg.eval
        return Expr { ctx in
            let value = try ae(ctx) ?? .null
            do { return try evaluate(value) } catch {
                throw mqlError(name, pluginMessage(error))
            }
        }
    }

    // MARK: Argument helpers

    /// The operands of an operator written `{$op: [a, b]}` or `{$op: a}`.
    func operands(_ argument: BSON) -> [BSON] {
        if case .array(let a) = argument { return a }
        return [argument]
    }

    func compileOperands(_ name: String, _ argument: BSON, count: Int) throws -> [Expr] {
        let ops = operands(argument)
        guard ops.count == count else {
            throw mqlError(name, "expression \(name) takes exactly \(count) argument\(count == 1 ? "" : "s"); \(ops.count) were passed in")
        }
        return try ops.map { try compile($0) }
    }

    func compileOperands(_ name: String, _ argument: BSON, min: Int, max: Int) throws -> [Expr] {
        let ops = operands(argument)
        guard ops.count >= min && ops.count <= max else {
            throw mqlError(name, "expression \(name) takes \(min == max ? "exactly \(min)" : "\(min) to \(max)") arguments; \(ops.count) were passed in")
        }
        return try ops.map { try compile($0) }
    }

    /// The named arguments of an operator written `{$op: {name: …}}`, checked for unknown and
    /// missing names.
    func namedArguments(_ name: String, _ argument: BSON, required: [String], optional: [String] = []) throws -> [String: BSON] {
        guard case .document(let doc) = argument else {
            throw mqlError(name, "\(name) expects an object of named arguments (\((required + optional).joined(separator: ", "))), not \(Values.typeName(argument))")
        }
        var result: [String: BSON] = [:]
        for element in doc.elements {
            guard required.contains(element.key) || optional.contains(element.key) else {
                let hint = suggestion(for: element.key, among: required + optional).map { "; did you mean '\($0)'?" } ?? ""
                throw mqlError(name, "\(name) does not take an argument '\(element.key)'\(hint)")
            }
            result[element.key] = element.value
        }
        for key in required where result[key] == nil {
            throw mqlError(name, "\(name) requires the argument '\(key)'")
        }
        return result
    }
}

func pluginMessage(_ error: Error) -> String {
    if let e = error as? MQLError { return e.message }
    return String(describing: error)
}

/// Every built-in expression operator, by name.
enum BuiltinExpressions {
    typealias Compiler = @Sendable (ExprCompiler, String, BSON) throws -> Expr

    static let table: [String: Compiler] = {
        var t: [String: Compiler] = [:]
        for family in [
            ArithmeticOperators.table, ComparisonOperators.table, BooleanOperators.table, ConditionalOperators.table,
            StringOperators.table, ArrayOperators.table, ObjectOperators.table, ConversionOperators.table,
            DateOperators.table, VariableOperators.table, ArrayAccumulatorOperators.table,
        ] {
            t.merge(family) { a, _ in a }
        }
        return t
    }()
}
