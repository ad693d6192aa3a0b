import FerryBSON

enum ObjectOperators {
    static let table: [String: BuiltinExpressions.Compiler] = [
        "$mergeObjects": { c, name, arg in
            let args = try c.operands(arg).map { try c.compile($0) }
            return Expr.nary(args) { values in
                let merged = MergeObjectsAccumulator()
                for v in values { try merged.add(v) }
                return merged.result()
            }
        },
        "$getField": { c, name, arg in
            let field: String
            var input = Expr { ctx in ctx.current }
            switch arg {
            case .document(let d) where d.elements.first?.key.hasPrefix("$") == false:
                let named = try c.namedArguments(name, arg, required: ["field"], optional: ["input"])
                field = try constantFieldName(name, named["field"]!)
                if let i = named["input"] { input = try c.compile(i) }
            default:
                field = try constantFieldName(name, arg)
            }
            return Expr.unary(input) { v in
                if Values.isNullish(v) { return .null }
                guard case .document(let d) = v! else {
                    throw mqlError(name, "$getField requires 'input' to evaluate to type Object, but got \(Values.typeName(v))")
                }
                return FieldPath.lookup(d, field)
            }
        },
        "$setField": { c, name, arg in
            let named = try c.namedArguments(name, arg, required: ["field", "input", "value"])
            let field = try constantFieldName(name, named["field"]!)
            let input = try c.compile(named["input"]!)
            let value = try c.compile(named["value"]!)
            return Expr.binary(input, value) { i, v in try setField(name, field, i, v) }
        },
        "$unsetField": { c, name, arg in
            let named = try c.namedArguments(name, arg, required: ["field", "input"])
            let field = try constantFieldName(name, named["field"]!)
            let input = try c.compile(named["input"]!)
            return Expr.unary(input) { i in try setField(name, field, i, nil) }
        },
    ]

    static func constantFieldName(_ op: String, _ spec: BSON) throws -> String {
        switch spec {
        case .string(let s):
            if s.hasPrefix("$") {
                throw mqlError(op, "\(op) 'field' must be a constant string; to name a field starting with '$', write {$literal: \"\(s)\"}")
            }
            return s
        case .document(let d) where d.count == 1 && d.elements[0].key == "$literal":
            guard case .string(let s) = d.elements[0].value else {
                throw mqlError(op, "\(op) requires 'field' to evaluate to a constant string, found \(Values.typeName(d.elements[0].value))")
            }
            return s
        default:
            throw mqlError(op, "\(op) requires 'field' to evaluate to a constant string, found \(Values.typeName(spec))")
        }
    }

    static func setField(_ op: String, _ field: String, _ input: BSON?, _ value: BSON?) throws -> BSON? {
        if Values.isNullish(input) { return .null }
        guard case .document(var d) = input! else {
            throw mqlError(op, "\(op) requires 'input' to evaluate to type Object, but got \(Values.typeName(input))")
        }
        d[field] = value
        return .document(d)
    }
}
