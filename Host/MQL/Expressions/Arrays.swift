import FerryBSON

enum ArrayOperators {
    static let table: [String: BuiltinExpressions.Compiler] = [
        "$size": { c, name, arg in
            let a = try c.compileOperands(name, arg, count: 1)
            return Expr.unary(a[0]) { v in
                guard case .array(let array)? = v else {
                    throw mqlError(name, "The argument to $size must be an array. Type of the argument was: \(Values.typeName(v))")
                }
                return .int32(Int32(array.count))
            }
        },
        "$arrayElemAt": { c, name, arg in
            let a = try c.compileOperands(name, arg, count: 2)
            return Expr.binary(a[0], a[1]) { array, index in try elementAt(name, array, index, arity: 2) }
        },
        "$first": { c, name, arg in
            let a = try c.compileOperands(name, arg, count: 1)
            return Expr.unary(a[0]) { array in try elementAt(name, array, .int32(0), arity: 1) }
        },
        "$last": { c, name, arg in
            let a = try c.compileOperands(name, arg, count: 1)
            return Expr.unary(a[0]) { array in try elementAt(name, array, .int32(-1), arity: 1) }
        },
        "$slice": { c, name, arg in
            let a = try c.compileOperands(name, arg, min: 2, max: 3)
            return Expr.nary(a) { v in try slice(v) }
        },
        "$in": { c, name, arg in
            let a = try c.compileOperands(name, arg, count: 2)
            return Expr.binary(a[0], a[1]) { value, array in
                guard case .array(let elements)? = array else {
                    throw mqlError(name, "$in requires an array as a second argument, found: \(Values.typeName(array))")
                }
                return .bool(elements.contains { BSONOrder.compare($0, value) == 0 })
            }
        },
        "$concatArrays": { c, name, arg in
            let args = try c.operands(arg).map { try c.compile($0) }
            return Expr.nary(args) { values in
                var out: [BSON] = []
                for v in values {
                    if Values.isNullish(v) { return .null }
                    guard case .array(let a) = v! else {
                        throw mqlError(name, "$concatArrays only supports arrays, not \(Values.typeName(v))")
                    }
                    out.append(contentsOf: a)
                }
                return .array(out)
            }
        },
        "$reverseArray": { c, name, arg in
            let a = try c.compileOperands(name, arg, count: 1)
            return Expr.unary(a[0]) { v in
                if Values.isNullish(v) { return .null }
                guard case .array(let array) = v! else {
                    throw mqlError(name, "The argument to $reverseArray must be an array, but was of type: \(Values.typeName(v))")
                }
                return .array(array.reversed())
            }
        },
        "$isArray": { c, name, arg in
            let a = try c.compileOperands(name, arg, count: 1)
            return Expr.unary(a[0]) { v in
                if case .array? = v { return .bool(true) }
                return .bool(false)
            }
        },
        "$range": { c, name, arg in
            let a = try c.compileOperands(name, arg, min: 2, max: 3)
            return Expr.nary(a) { v in try range(v) }
        },
        "$indexOfArray": { c, name, arg in
            let a = try c.compileOperands(name, arg, min: 2, max: 4)
            return Expr.nary(a) { v in
                if Values.isNullish(v[0]) { return .null }
                guard case .array(let array) = v[0]! else {
                    throw mqlError(name, "$indexOfArray requires an array as a first argument, found: \(Values.typeName(v[0]))")
                }
                func index(_ value: BSON?, _ what: String) throws -> Int {
                    guard let value, value.isNumeric, let i = value.exactInt64 else {
                        throw mqlError(name, "$indexOfArray requires an integral \(what), found a value of type: \(Values.typeName(value)), with value: \(Values.describe(value))")
                    }
                    if i < 0 { throw mqlError(name, "$indexOfArray requires a nonnegative \(what), found: \(i)") }
                    return Int(min(i, Int64(Int32.max)))
                }
                let start = v.count > 2 ? try index(v[2], "starting index") : 0
                let end = v.count > 3 ? min(array.count, try index(v[3], "ending index")) : array.count
                var i = start
                while i < end {
                    if BSONOrder.compare(array[i], v[1]) == 0 { return .int32(Int32(i)) }
                    i += 1
                }
                return .int32(-1)
            }
        },
        "$zip": { c, name, arg in
            let named = try c.namedArguments(name, arg, required: ["inputs"], optional: ["useLongestLength", "defaults"])
            guard case .array(let inputSpecs) = named["inputs"]! else {
                throw mqlError(name, "inputs must be an array of expressions, found \(Values.typeName(named["inputs"]!))")
            }
            let inputs = try inputSpecs.map { try c.compile($0) }
            let useLongest: Bool
            switch named["useLongestLength"] {
            case nil: useLongest = false
            case .bool(let b)?: useLongest = b
            case let other?: throw mqlError(name, "useLongestLength must be a bool, found \(Values.typeName(other))")
            }
            var defaults: [Expr]?
            if let d = named["defaults"] {
                guard case .array(let specs) = d else { throw mqlError(name, "defaults must be an array of expressions, found \(Values.typeName(d))") }
                guard useLongest else { throw mqlError(name, "cannot specify defaults unless useLongestLength is true") }
                guard specs.count == inputs.count else { throw mqlError(name, "defaults and inputs must have the same length") }
                defaults = try specs.map { try c.compile($0) }
            }
            let all = inputs + (defaults ?? [])
            let count = inputs.count
            return Expr.nary(all) { v in
                var arrays: [[BSON]] = []
                for value in v.prefix(count) {
                    if Values.isNullish(value) { return .null }
                    guard case .array(let a) = value! else {
                        throw mqlError(name, "$zip found a non-array expression in input: \(Values.describe(value))")
                    }
                    arrays.append(a)
                }
                let fill: [BSON] = v.count > count ? v.dropFirst(count).map { $0 ?? .null } : Array(repeating: .null, count: count)
                let length = (useLongest ? arrays.map(\.count).max() : arrays.map(\.count).min()) ?? 0
                var out: [BSON] = []
                for i in 0..<length {
                    out.append(.array(arrays.enumerated().map { j, a in i < a.count ? a[i] : fill[j] }))
                }
                return .array(out)
            }
        },
        "$sortArray": { c, name, arg in
            let named = try c.namedArguments(name, arg, required: ["input", "sortBy"])
            let input = try c.compile(named["input"]!)
            let sortBy = named["sortBy"]!
            var wholeDescending: Bool?
            var spec: SortSpec?
            if sortBy.isNumeric {
                guard let n = sortBy.exactInt64, n == 1 || n == -1 else {
                    throw mqlError(name, "$sortArray sortBy must be 1, -1 or a sort specification object")
                }
                wholeDescending = n == -1
            } else {
                spec = try SortSpec(sortBy, op: name)
            }
            let descending = wholeDescending, pattern = spec
            return Expr.unary(input) { v in
                let wholeDescending = descending, spec = pattern
                if Values.isNullish(v) { return .null }
                guard case .array(let array) = v! else {
                    throw mqlError(name, "The input argument to $sortArray must be an array, but was of type: \(Values.typeName(v))")
                }
                if let wholeDescending {
                    let sorted = array.enumerated().sorted { x, y in
                        let cmp = BSONOrder.compare(x.element, y.element)
                        if cmp != 0 { return wholeDescending ? cmp > 0 : cmp < 0 }
                        return x.offset < y.offset
                    }
                    return .array(sorted.map(\.element))
                }
                let keys = array.map { e -> [BSON?] in
                    if case .document(let d) = e { return spec!.extract(d) }
                    return spec!.keys.map { _ in .null }
                }
                let order = array.indices.sorted { i, j in
                    let cmp = spec!.compareKeys(keys[i], keys[j])
                    return cmp != 0 ? cmp < 0 : i < j
                }
                return .array(order.map { array[$0] })
            }
        },
        "$arrayToObject": { c, name, arg in
            let a = try c.compileOperands(name, arg, count: 1)
            return Expr.unary(a[0]) { v in try arrayToObject(v) }
        },
        "$objectToArray": { c, name, arg in
            let a = try c.compileOperands(name, arg, count: 1)
            return Expr.unary(a[0]) { v in
                if Values.isNullish(v) { return .null }
                guard case .document(let d) = v! else {
                    throw mqlError(name, "$objectToArray requires a document input, found: \(Values.typeName(v))")
                }
                return .array(d.elements.map { .document(["k": .string($0.key), "v": $0.value]) })
            }
        },
        "$map": { c, name, arg in
            let named = try c.namedArguments(name, arg, required: ["input", "in"], optional: ["as"])
            let input = try c.compile(named["input"]!).eval
            let variable = try bindingName(name, named["as"])
            let slot = c.newSlot()
            let body = try c.withScope([variable: slot]) { try c.compile(named["in"]!) }.eval
            return Expr { ctx in
                let v = try input(ctx)
                if Values.isNullish(v) { return .null }
                guard case .array(let array) = v! else {
                    throw mqlError(name, "input to $map must be an array not \(Values.typeName(v))")
                }
                var out: [BSON] = []
                out.reserveCapacity(array.count)
                for e in array {
                    ctx.variables[slot] = e
                    out.append(try body(ctx) ?? .null)
                }
                return .array(out)
            }
        },
        "$filter": { c, name, arg in
            let named = try c.namedArguments(name, arg, required: ["input", "cond"], optional: ["as", "limit"])
            let input = try c.compile(named["input"]!).eval
            let variable = try bindingName(name, named["as"])
            let slot = c.newSlot()
            let condition = try c.withScope([variable: slot]) { try c.compile(named["cond"]!) }.eval
            let limit = try named["limit"].map { try c.compile($0).eval }
            return Expr { ctx in
                let v = try input(ctx)
                if Values.isNullish(v) { return .null }
                guard case .array(let array) = v! else {
                    throw mqlError(name, "input to $filter must be an array not \(Values.typeName(v))")
                }
                var max = Int.max
                if let limit {
                    let l = try limit(ctx)
                    if !Values.isNullish(l) {
                        guard let n = l!.exactInt64, l!.isNumeric else {
                            throw mqlError(name, "$filter: limit must be represented as a 32-bit integral value: \(Values.describe(l))")
                        }
                        guard n >= 1 else { throw mqlError(name, "$filter: limit must be greater than 0: \(n)") }
                        max = Int(n)
                    }
                }
                var out: [BSON] = []
                for e in array where out.count < max {
                    ctx.variables[slot] = e
                    if Values.isTruthy(try condition(ctx)) { out.append(e) }
                }
                return .array(out)
            }
        },
        "$reduce": { c, name, arg in
            let named = try c.namedArguments(name, arg, required: ["input", "initialValue", "in"])
            let input = try c.compile(named["input"]!).eval
            let initial = try c.compile(named["initialValue"]!).eval
            let valueSlot = c.newSlot(), thisSlot = c.newSlot()
            let body = try c.withScope(["value": valueSlot, "this": thisSlot]) { try c.compile(named["in"]!) }.eval
            return Expr { ctx in
                let v = try input(ctx)
                if Values.isNullish(v) { return .null }
                guard case .array(let array) = v! else {
                    throw mqlError(name, "$reduce requires that 'input' be an array, found: \(Values.describe(v))")
                }
                var accumulated = try initial(ctx)
                for e in array {
                    ctx.variables[valueSlot] = accumulated
                    ctx.variables[thisSlot] = e
                    accumulated = try body(ctx)
                }
                return accumulated
            }
        },
        "$setUnion": setOperator { name, arrays in
            var seen = Set<GroupKey>()
            var out: [BSON] = []
            for a in arrays { for e in a where seen.insert(GroupKey(e)).inserted { out.append(e) } }
            return .array(out)
        },
        "$setIntersection": setOperator { name, arrays in
            guard let first = arrays.first else { return .array([]) }
            let others = arrays.dropFirst().map { Set($0.map(GroupKey.init)) }
            var seen = Set<GroupKey>()
            var out: [BSON] = []
            for e in first where others.allSatisfy({ $0.contains(GroupKey(e)) }) && seen.insert(GroupKey(e)).inserted {
                out.append(e)
            }
            return .array(out)
        },
        "$setDifference": { c, name, arg in
            let a = try c.compileOperands(name, arg, count: 2)
            return Expr.binary(a[0], a[1]) { x, y in
                if Values.isNullish(x) || Values.isNullish(y) { return .null }
                guard case .array(let first) = x!, case .array(let second) = y! else {
                    throw mqlError(name, "both operands of $setDifference must be arrays; found \(Values.typeName(x)) and \(Values.typeName(y))")
                }
                let exclude = Set(second.map(GroupKey.init))
                var seen = Set<GroupKey>()
                return .array(first.filter { !exclude.contains(GroupKey($0)) && seen.insert(GroupKey($0)).inserted })
            }
        },
        "$setEquals": { c, name, arg in
            let args = try c.operands(arg).map { try c.compile($0) }
            guard args.count >= 2 else { throw mqlError(name, "$setEquals needs at least two arguments; \(args.count) were passed in") }
            return Expr.nary(args) { values in
                let sets = try values.map { v -> Set<GroupKey> in
                    guard case .array(let a)? = v else {
                        throw mqlError(name, "All operands of $setEquals must be arrays. One argument is of type: \(Values.typeName(v))")
                    }
                    return Set(a.map(GroupKey.init))
                }
                return .bool(sets.dropFirst().allSatisfy { $0 == sets[0] })
            }
        },
        "$setIsSubset": { c, name, arg in
            let a = try c.compileOperands(name, arg, count: 2)
            return Expr.binary(a[0], a[1]) { x, y in
                guard case .array(let first)? = x else {
                    throw mqlError(name, "both operands of $setIsSubset must be arrays. First argument is of type: \(Values.typeName(x))")
                }
                guard case .array(let second)? = y else {
                    throw mqlError(name, "both operands of $setIsSubset must be arrays. Second argument is of type: \(Values.typeName(y))")
                }
                let superset = Set(second.map(GroupKey.init))
                return .bool(first.allSatisfy { superset.contains(GroupKey($0)) })
            }
        },
        "$anyElementTrue": { c, name, arg in
            let a = try c.compileOperands(name, arg, count: 1)
            return Expr.unary(a[0]) { v in
                guard case .array(let array)? = v else {
                    throw mqlError(name, "$anyElementTrue's argument must be an array, but is \(Values.typeName(v))")
                }
                return .bool(array.contains { Values.isTruthy($0) })
            }
        },
        "$allElementsTrue": { c, name, arg in
            let a = try c.compileOperands(name, arg, count: 1)
            return Expr.unary(a[0]) { v in
                guard case .array(let array)? = v else {
                    throw mqlError(name, "$allElementsTrue's argument must be an array, but is \(Values.typeName(v))")
                }
                return .bool(array.allSatisfy { Values.isTruthy($0) })
            }
        },
    ]

    static func bindingName(_ op: String, _ spec: BSON?) throws -> String {
        guard let spec else { return "this" }
        guard case .string(let name) = spec else { throw mqlError(op, "'as' must be a string naming a variable, found \(Values.typeName(spec))") }
        try ExprCompiler.validateVariableName(name, op: op)
        return name
    }

    static func elementAt(_ name: String, _ array: BSON?, _ index: BSON?, arity: Int) throws -> BSON? {
        if Values.isNullish(array) || Values.isNullish(index) { return .null }
        guard case .array(let a) = array! else {
            throw mqlError(name, "\(name)'s \(arity == 1 ? "argument" : "first argument") must be an array, but is \(Values.typeName(array))")
        }
        guard index!.isNumeric else {
            throw mqlError(name, "\(name)'s second argument must be a numeric value, but is \(Values.typeName(index))")
        }
        guard let i = index!.exactInt32 else {
            throw mqlError(name, "\(name)'s second argument must be representable as a 32-bit integer: \(Values.describe(index))")
        }
        let position = i < 0 ? a.count + Int(i) : Int(i)
        guard position >= 0 && position < a.count else { return nil }
        return a[position]
    }

    static func slice(_ v: [BSON?]) throws -> BSON? {
        if Values.isNullish(v[0]) { return .null }
        guard case .array(let a) = v[0]! else {
            throw mqlError("$slice", "First argument to $slice must be an array, but is of type: \(Values.typeName(v[0]))")
        }
        if v.dropFirst().contains(where: Values.isNullish) { return .null }
        guard let second = v[1]!.exactInt32, v[1]!.isNumeric else {
            throw mqlError("$slice", "Second argument to $slice must be a numeric value representable as a 32-bit integer, found \(Values.describe(v[1]))")
        }
        if v.count == 2 {
            let n = Int(second)
            if n >= 0 { return .array(Array(a.prefix(n))) }
            return .array(Array(a.suffix(-n)))
        }
        guard let third = v[2]!.exactInt32, v[2]!.isNumeric else {
            throw mqlError("$slice", "Third argument to $slice must be numeric, but is of type: \(Values.typeName(v[2]))")
        }
        guard third > 0 else { throw mqlError("$slice", "Third argument to $slice must be positive: \(third)") }
        var start = Int(second)
        if start < 0 { start = max(0, a.count + start) }
        if start >= a.count { return .array([]) }
        return .array(Array(a[start..<min(a.count, start + Int(third))]))
    }

    static func range(_ v: [BSON?]) throws -> BSON? {
        func int(_ value: BSON?, _ what: String) throws -> Int64 {
            guard let value, value.isNumeric else {
                throw mqlError("$range", "$range requires a numeric \(what), found value of type: \(Values.typeName(value))")
            }
            guard let i = value.exactInt32 else {
                throw mqlError("$range", "$range requires a \(what) that can be represented as a 32-bit integer, found value: \(Values.describe(value))")
            }
            return Int64(i)
        }
        var current = try int(v[0], "starting value")
        let end = try int(v[1], "ending value")
        var step: Int64 = 1
        if v.count > 2 {
            step = try int(v[2], "step value")
            if step == 0 { throw mqlError("$range", "$range requires a non-zero step value") }
        }
        let length = max(0, (end - current) / step + 1)
        if length > 10_000_000 { throw mqlError("$range", "$range would produce \(length) elements; the limit is 10000000") }
        var out: [BSON] = []
        while step > 0 ? current < end : current > end {
            out.append(.int32(Int32(current)))
            current += step
        }
        return .array(out)
    }

    static func arrayToObject(_ v: BSON?) throws -> BSON? {
        let name = "$arrayToObject"
        if Values.isNullish(v) { return .null }
        guard case .array(let array) = v! else {
            throw mqlError(name, "$arrayToObject requires an array input, found: \(Values.typeName(v))")
        }
        var out = BSONDocument()
        guard let first = array.first else { return .document(out) }
        let pairForm: Bool
        switch first {
        case .array: pairForm = true
        case .document: pairForm = false
        default: throw mqlError(name, "Unrecognised input type format for $arrayToObject: \(Values.typeName(first))")
        }
        for element in array {
            let key: String, value: BSON
            if pairForm {
                guard case .array(let pair) = element else {
                    throw mqlError(name, "$arrayToObject requires a consistent input format. Elements must all be arrays or all be objects. Array was detected, now found: \(Values.typeName(element))")
                }
                guard pair.count == 2 else { throw mqlError(name, "$arrayToObject requires an array of size 2 arrays, found array of size: \(pair.count)") }
                guard case .string(let k) = pair[0] else {
                    throw mqlError(name, "$arrayToObject requires an array of key-value pairs, where the key must be of type string. Found key type: \(Values.typeName(pair[0]))")
                }
                key = k
                value = pair[1]
            } else {
                guard case .document(let d) = element else {
                    throw mqlError(name, "$arrayToObject requires a consistent input format. Elements must all be arrays or all be objects. Object was detected, now found: \(Values.typeName(element))")
                }
                guard d.count == 2 else { throw mqlError(name, "$arrayToObject requires an object keys of 'k' and 'v'. Found incorrect number of keys:\(d.count)") }
                guard let k = d["k"], let val = d["v"] else {
                    throw mqlError(name, "$arrayToObject requires an object with keys 'k' and 'v'. Missing either or both keys from: \(Values.describe(element))")
                }
                guard case .string(let ks) = k else {
                    throw mqlError(name, "$arrayToObject requires an object with keys 'k' and 'v', where the value of 'k' must be of type string. Found type: \(Values.typeName(k))")
                }
                key = ks
                value = val
            }
            if key.contains("\0") { throw mqlError(name, "Key field cannot contain an embedded null byte") }
            out[key] = value
        }
        return .document(out)
    }

    static func setOperator(_ body: @escaping @Sendable (String, [[BSON]]) throws -> BSON) -> BuiltinExpressions.Compiler {
        { c, name, arg in
            let args = try c.operands(arg).map { try c.compile($0) }
            return Expr.nary(args) { values in
                var arrays: [[BSON]] = []
                for v in values {
                    if Values.isNullish(v) { return .null }
                    guard case .array(let a) = v! else {
                        throw mqlError(name, "All operands of \(name) must be arrays. One argument is of type: \(Values.typeName(v))")
                    }
                    arrays.append(a)
                }
                return try body(name, arrays)
            }
        }
    }
}
