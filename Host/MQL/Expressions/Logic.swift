import FerryBSON

enum ComparisonOperators {
    static let table: [String: BuiltinExpressions.Compiler] = [
        "$cmp": compare { c in .int32(Int32(c)) },
        "$eq": compare { c in .bool(c == 0) },
        "$ne": compare { c in .bool(c != 0) },
        "$gt": compare { c in .bool(c > 0) },
        "$gte": compare { c in .bool(c >= 0) },
        "$lt": compare { c in .bool(c < 0) },
        "$lte": compare { c in .bool(c <= 0) },
    ]

    /// Full BSON order, no type bracketing; missing sorts below null.
    static func compare(_ result: @escaping @Sendable (Int) -> BSON) -> BuiltinExpressions.Compiler {
        { c, name, arg in
            let a = try c.compileOperands(name, arg, count: 2)
            return Expr.binary(a[0], a[1]) { x, y in result(BSONOrder.compare(x, y)) }
        }
    }
}

enum BooleanOperators {
    static let table: [String: BuiltinExpressions.Compiler] = [
        "$and": { c, name, arg in
            let args = try c.operands(arg).map { try c.compile($0) }
            if args.allSatisfy(\.isConstant) {
                return Expr(constant: .bool(args.allSatisfy { Values.isTruthy($0.constant!) }))
            }
            let evals = args.map(\.eval)
            return Expr { ctx in
                for e in evals where !Values.isTruthy(try e(ctx)) { return .bool(false) }
                return .bool(true)
            }
        },
        "$or": { c, name, arg in
            let args = try c.operands(arg).map { try c.compile($0) }
            if args.allSatisfy(\.isConstant) {
                return Expr(constant: .bool(args.contains { Values.isTruthy($0.constant!) }))
            }
            let evals = args.map(\.eval)
            return Expr { ctx in
                for e in evals where Values.isTruthy(try e(ctx)) { return .bool(true) }
                return .bool(false)
            }
        },
        "$not": { c, name, arg in
            let a = try c.compileOperands(name, arg, count: 1)
            return Expr.unary(a[0]) { v in .bool(!Values.isTruthy(v)) }
        },
    ]
}

enum ConditionalOperators {
    static let table: [String: BuiltinExpressions.Compiler] = [
        "$cond": { c, name, arg in
            let parts: [Expr]
            if case .document = arg {
                let named = try c.namedArguments(name, arg, required: ["if", "then", "else"])
                parts = try [named["if"]!, named["then"]!, named["else"]!].map { try c.compile($0) }
            } else {
                parts = try c.compileOperands(name, arg, count: 3)
            }
            let condition = parts[0], then = parts[1].eval, otherwise = parts[2].eval
            if let constant = condition.constant {
                return Values.isTruthy(constant) ? parts[1] : parts[2]
            }
            let ce = condition.eval
            return Expr { ctx in Values.isTruthy(try ce(ctx)) ? try then(ctx) : try otherwise(ctx) }
        },
        "$ifNull": { c, name, arg in
            let args = try c.operands(arg).map { try c.compile($0) }
            guard args.count >= 2 else {
                throw mqlError(name, "$ifNull needs at least two arguments (an expression and a replacement); \(args.count) were passed in")
            }
            let evals = args.map(\.eval)
            return Expr { ctx in
                for e in evals.dropLast() {
                    let v = try e(ctx)
                    if !Values.isNullish(v) { return v }
                }
                return try evals.last!(ctx)
            }
        },
        "$switch": { c, name, arg in
            let named = try c.namedArguments(name, arg, required: ["branches"], optional: ["default"])
            guard case .array(let branchSpecs) = named["branches"]! else {
                throw mqlError(name, "$switch expects an array for 'branches'")
            }
            var branches: [(EvalFunction, EvalFunction)] = []
            for spec in branchSpecs {
                guard case .document(let d) = spec else {
                    throw mqlError(name, "$switch expects each branch to be an object with 'case' and 'then', found \(Values.typeName(spec))")
                }
                for key in d.keys where key != "case" && key != "then" {
                    throw mqlError(name, "$switch found an unknown argument to a branch: \(key)")
                }
                guard let caseSpec = d["case"] else { throw mqlError(name, "$switch requires each branch have a 'case' expression") }
                guard let thenSpec = d["then"] else { throw mqlError(name, "$switch requires each branch have a 'then' expression") }
                branches.append((try c.compile(caseSpec).eval, try c.compile(thenSpec).eval))
            }
            let fallback = try named["default"].map { try c.compile($0).eval }
            let compiledBranches = branches
            return Expr { ctx in
                for (condition, result) in compiledBranches where Values.isTruthy(try condition(ctx)) {
                    return try result(ctx)
                }
                guard let fallback else {
                    throw mqlError("$switch", "$switch could not find a matching branch for an input, and no default was specified")
                }
                return try fallback(ctx)
            }
        },
    ]
}

enum VariableOperators {
    static let table: [String: BuiltinExpressions.Compiler] = [
        "$literal": { _, _, arg in Expr(constant: arg) },
        "$let": { c, name, arg in
            let named = try c.namedArguments(name, arg, required: ["vars", "in"])
            guard case .document(let vars) = named["vars"]! else {
                throw mqlError(name, "invalid parameter: expected an object (vars)")
            }
            // Definitions are compiled in the enclosing scope: they cannot see each other.
            var definitions: [(Int, EvalFunction)] = []
            var bindings: [String: Int] = [:]
            var currentDefinition: EvalFunction?
            for element in vars.elements {
                if element.key == "CURRENT" {
                    currentDefinition = try c.compile(element.value).eval
                    continue
                }
                try ExprCompiler.validateVariableName(element.key, op: name)
                let slot = c.newSlot()
                definitions.append((slot, try c.compile(element.value).eval))
                bindings[element.key] = slot
            }
            let body = try c.withScope(bindings) { try c.compile(named["in"]!) }.eval
            let defs = definitions, currentDef = currentDefinition
            return Expr { ctx in
                var values: [BSON?] = []
                values.reserveCapacity(defs.count)
                for (_, e) in defs { values.append(try e(ctx)) }
                for (i, (slot, _)) in defs.enumerated() { ctx.variables[slot] = values[i] }
                guard let currentDef else { return try body(ctx) }
                let newCurrent = try currentDef(ctx)
                let savedDoc = ctx.currentDoc, savedOverride = ctx.currentOverride
                defer {
                    ctx.currentDoc = savedDoc
                    ctx.currentOverride = savedOverride
                }
                if case .document(let d)? = newCurrent {
                    ctx.currentDoc = d
                    ctx.currentOverride = nil
                } else {
                    ctx.currentOverride = .some(newCurrent)
                }
                return try body(ctx)
            }
        },
    ]
}
