import FerryBSON
import Foundation

enum StringOperators {
    /// `$trim`'s default characters: the ASCII whitespace and NUL, NBSP, and the Unicode spaces.
    static let defaultTrimCharacters: Set<Unicode.Scalar> = {
        var set: Set<Unicode.Scalar> = ["\0", " ", "\t", "\n", "\u{0B}", "\u{0C}", "\r", "\u{A0}", "\u{1680}"]
        for v in 0x2000...0x200A { set.insert(Unicode.Scalar(v)!) }
        return set
    }()

    static let table: [String: BuiltinExpressions.Compiler] = [
        "$concat": { c, name, arg in
            let args = try c.operands(arg).map { try c.compile($0) }
            return Expr.nary(args) { values in
                var out = ""
                for v in values {
                    if Values.isNullish(v) { return .null }
                    guard case .string(let s) = v! else {
                        throw mqlError("$concat", "$concat only supports strings, not \(Values.typeName(v))")
                    }
                    out += s
                }
                return .string(out)
            }
        },
        "$substr": substrBytes,
        "$substrBytes": substrBytes,
        "$substrCP": { c, name, arg in
            let a = try c.compileOperands(name, arg, count: 3)
            return Expr.nary(a) { v in
                let s = try Values.coerceToString(v[0], op: name)
                guard let start = v[1], start.isNumeric else {
                    throw mqlError(name, "\(name): starting index must be a numeric type (is BSON type \(Values.typeName(v[1])))")
                }
                guard let startIndex = start.exactInt32 else {
                    throw mqlError(name, "\(name): starting index cannot be represented as a 32-bit integral value: \(Values.describe(start))")
                }
                guard let length = v[2], length.isNumeric else {
                    throw mqlError(name, "\(name): length must be a numeric type (is BSON type \(Values.typeName(v[2])))")
                }
                guard let count = length.exactInt32 else {
                    throw mqlError(name, "\(name): length cannot be represented as a 32-bit integral value: \(Values.describe(length))")
                }
                if count < 0 { throw mqlError(name, "\(name): length must be a nonnegative integer.") }
                if startIndex < 0 { throw mqlError(name, "\(name): the starting index must be nonnegative integer.") }
                let scalars = s.unicodeScalars
                let from = scalars.index(scalars.startIndex, offsetBy: Int(startIndex), limitedBy: scalars.endIndex) ?? scalars.endIndex
                let to = scalars.index(from, offsetBy: Int(count), limitedBy: scalars.endIndex) ?? scalars.endIndex
                return .string(String(scalars[from..<to]))
            }
        },
        "$toLower": { c, name, arg in
            let a = try c.compileOperands(name, arg, count: 1)
            return Expr.unary(a[0]) { v in .string(asciiMap(try Values.coerceToString(v, op: name), upper: false)) }
        },
        "$toUpper": { c, name, arg in
            let a = try c.compileOperands(name, arg, count: 1)
            return Expr.unary(a[0]) { v in .string(asciiMap(try Values.coerceToString(v, op: name), upper: true)) }
        },
        "$strcasecmp": { c, name, arg in
            let a = try c.compileOperands(name, arg, count: 2)
            return Expr.binary(a[0], a[1]) { x, y in
                let l = asciiMap(try Values.coerceToString(x, op: name), upper: true)
                let r = asciiMap(try Values.coerceToString(y, op: name), upper: true)
                return .int32(Int32(BSONOrder.compareStrings(l, r)))
            }
        },
        "$trim": trim(left: true, right: true),
        "$ltrim": trim(left: true, right: false),
        "$rtrim": trim(left: false, right: true),
        "$split": { c, name, arg in
            let a = try c.compileOperands(name, arg, count: 2)
            return Expr.binary(a[0], a[1]) { input, separator in
                if Values.isNullish(input) { return .null }
                guard case .string(let s) = input! else {
                    throw mqlError(name, "$split requires an expression that evaluates to a string as a first argument, found: \(Values.typeName(input))")
                }
                if Values.isNullish(separator) { return .null }
                guard case .string(let sep) = separator! else {
                    throw mqlError(name, "$split requires an expression that evaluates to a string as a second argument, found: \(Values.typeName(separator))")
                }
                if sep.isEmpty { throw mqlError(name, "$split requires a non-empty separator") }
                return .array(splitBytes(s, sep).map(BSON.string))
            }
        },
        "$strLenBytes": { c, name, arg in
            let a = try c.compileOperands(name, arg, count: 1)
            return Expr.unary(a[0]) { v in
                guard case .string(let s)? = v else {
                    throw mqlError(name, "$strLenBytes requires a string argument, found: \(Values.typeName(v))")
                }
                return .int32(Int32(s.utf8.count))
            }
        },
        "$strLenCP": { c, name, arg in
            let a = try c.compileOperands(name, arg, count: 1)
            return Expr.unary(a[0]) { v in
                guard case .string(let s)? = v else {
                    throw mqlError(name, "$strLenCP requires a string argument, found: \(Values.typeName(v))")
                }
                return .int32(Int32(s.unicodeScalars.count))
            }
        },
        "$indexOfBytes": indexOf(bytes: true),
        "$indexOfCP": indexOf(bytes: false),
        "$regexMatch": regexOperator { regex, input in
            guard let regex, let input else { return .bool(false) }
            return .bool(regex.matches(input))
        },
        "$regexFind": regexOperator { regex, input in
            guard let regex, let input else { return .null }
            guard let m = regex.firstMatch(in: input, from: 0) else { return .null }
            return regex.bsonMatch(m)
        },
        "$regexFindAll": regexOperator { regex, input in
            guard let regex, let input else { return .array([]) }
            return .array(regex.allMatches(in: input).map { regex.bsonMatch($0) })
        },
        "$replaceOne": replace(all: false),
        "$replaceAll": replace(all: true),
    ]

    static func asciiMap(_ s: String, upper: Bool) -> String {
        var bytes = Array(s.utf8)
        var changed = false
        for i in bytes.indices {
            let b = bytes[i]
            if upper, b >= 97, b <= 122 { bytes[i] = b - 32; changed = true }
            if !upper, b >= 65, b <= 90 { bytes[i] = b + 32; changed = true }
        }
        return changed ? String(decoding: bytes, as: UTF8.self) : s
    }

    static func splitBytes(_ s: String, _ sep: String) -> [String] {
        let hay = Array(s.utf8), needle = Array(sep.utf8)
        var parts: [String] = []
        var start = 0, i = 0
        while i + needle.count <= hay.count {
            if hay[i..<(i + needle.count)].elementsEqual(needle) {
                parts.append(String(decoding: hay[start..<i], as: UTF8.self))
                i += needle.count
                start = i
            } else {
                i += 1
            }
        }
        parts.append(String(decoding: hay[start...], as: UTF8.self))
        return parts
    }

    static let substrBytes: BuiltinExpressions.Compiler = { c, name, arg in
        let a = try c.compileOperands(name, arg, count: 3)
        return Expr.nary(a) { v in
            let bytes = Array(try Values.coerceToString(v[0], op: name).utf8)
            guard let lowerValue = v[1], lowerValue.isNumeric else {
                throw mqlError(name, "\(name): starting index must be a numeric type (is BSON type \(Values.typeName(v[1])))")
            }
            guard let lengthValue = v[2], lengthValue.isNumeric else {
                throw mqlError(name, "\(name): length must be a numeric type (is BSON type \(Values.typeName(v[2])))")
            }
            let lower = coerceToLong(lowerValue)
            if lower < 0 { throw mqlError(name, "\(name): starting index must be non-negative (got: \(lower))") }
            let signedLength = coerceToLong(lengthValue)
            let length = signedLength < 0 ? bytes.count : Int(min(signedLength, Int64(bytes.count) + 1))
            let start = Int(min(lower, Int64(bytes.count)))
            func isContinuation(_ b: UInt8) -> Bool { b & 0xC0 == 0x80 }
            if start < bytes.count && isContinuation(bytes[start]) {
                throw mqlError(name, "\(name): Invalid range, starting index is a UTF-8 continuation byte.")
            }
            let end = min(bytes.count, start + length)
            if end < bytes.count && isContinuation(bytes[end]) {
                throw mqlError(name, "\(name): Invalid range, ending index is in the middle of a UTF-8 character.")
            }
            if start >= bytes.count { return .string("") }
            return .string(String(decoding: bytes[start..<end], as: UTF8.self))
        }
    }

    /// A numeric truncated to Int64 as MongoDB's coerceToLong does.
    static func coerceToLong(_ v: BSON) -> Int64 {
        switch v {
        case .int32(let i): return Int64(i)
        case .int64(let i): return i
        case .double(let d):
            if d.isNaN { return 0 }
            if d >= 9.223372036854775807e18 { return .max }
            if d <= -9.223372036854775808e18 { return .min }
            return Int64(d)
        case .decimal128(let d): return Dec128(d).truncatedInt64 ?? 0
        default: return 0
        }
    }

    static func trim(left: Bool, right: Bool) -> BuiltinExpressions.Compiler {
        { c, name, arg in
            let named = try c.namedArguments(name, arg, required: ["input"], optional: ["chars"])
            let input = try c.compile(named["input"]!)
            let chars = try named["chars"].map { try c.compile($0) }
            let charsExpr = chars ?? Expr(constant: nil)
            let hasChars = chars != nil
            return Expr.binary(input, charsExpr) { v, charsValue in
                if Values.isNullish(v) { return .null }
                guard case .string(let s) = v! else {
                    throw mqlError(name, "\(name) requires its input to be a string, got \(Values.describe(v)) (of type \(Values.typeName(v))) instead.")
                }
                var set = defaultTrimCharacters
                if hasChars {
                    if Values.isNullish(charsValue) { return .null }
                    guard case .string(let cs) = charsValue! else {
                        throw mqlError(name, "\(name) requires 'chars' to be a string, got \(Values.describe(charsValue)) (of type \(Values.typeName(charsValue))) instead.")
                    }
                    set = Set(cs.unicodeScalars)
                }
                var scalars = Substring(s).unicodeScalars[...]
                if left { while let f = scalars.first, set.contains(f) { scalars.removeFirst() } }
                if right { while let l = scalars.last, set.contains(l) { scalars.removeLast() } }
                return .string(String(String.UnicodeScalarView(scalars)))
            }
        }
    }

    static func indexOf(bytes: Bool) -> BuiltinExpressions.Compiler {
        { c, name, arg in
            let a = try c.compileOperands(name, arg, min: 2, max: 4)
            return Expr.nary(a) { v in
                if Values.isNullish(v[0]) { return .null }
                guard case .string(let input) = v[0]! else {
                    throw mqlError(name, "\(name) requires a string as the first argument, found: \(Values.typeName(v[0]))")
                }
                guard case .string(let token)? = v[1] else {
                    throw mqlError(name, "\(name) requires a string as the second argument, found: \(Values.typeName(v[1]))")
                }
                func index(_ value: BSON?, _ what: String) throws -> Int {
                    guard let value, let i = value.exactInt64 else {
                        throw mqlError(name, "\(name) requires an integral \(what), found a value of type: \(Values.typeName(value)), with value: \(Values.describe(value))")
                    }
                    if i < 0 { throw mqlError(name, "\(name) requires a nonnegative \(what), found: \(i)") }
                    return Int(min(i, Int64(Int32.max)))
                }
                let units: [UInt32] = bytes ? input.utf8.map(UInt32.init) : input.unicodeScalars.map(\.value)
                let needle: [UInt32] = bytes ? token.utf8.map(UInt32.init) : token.unicodeScalars.map(\.value)
                let start = v.count > 2 ? try index(v[2], "starting index") : 0
                let end = v.count > 3 ? min(units.count, try index(v[3], "ending index")) : units.count
                if start > units.count || end < start { return .int32(-1) }
                var i = start
                while i + needle.count <= end {
                    if units[i..<(i + needle.count)].elementsEqual(needle) { return .int32(Int32(i)) }
                    i += 1
                }
                return .int32(-1)
            }
        }
    }

    static func regexOperator(_ body: @escaping @Sendable (MQLRegex?, String?) throws -> BSON) -> BuiltinExpressions.Compiler {
        { c, name, arg in
            let named = try c.namedArguments(name, arg, required: ["input", "regex"], optional: ["options"])
            let input = try c.compile(named["input"]!)
            let regexExpr = try c.compile(named["regex"]!)
            let optionsExpr = try named["options"].map { try c.compile($0) } ?? Expr(constant: nil)
            @Sendable func build(_ pattern: BSON?, _ options: BSON?) throws -> MQLRegex? {
                var text: String?
                var flags = ""
                if let options, !Values.isNullish(options) {
                    guard case .string(let o) = options else { throw mqlError(name, "\(name) needs 'options' to be of type string") }
                    flags = o
                }
                switch pattern {
                case .string(let p)?: text = p
                case .regex(let p, let o)?:
                    if !o.isEmpty {
                        if let options, !Values.isNullish(options) {
                            throw mqlError(name, "\(name): found regex option(s) specified in both 'regex' and 'option' fields")
                        }
                        flags = o
                    }
                    text = p
                default:
                    if !Values.isNullish(pattern) { throw mqlError(name, "\(name) needs 'regex' to be of type string or regex") }
                }
                guard let text else { return nil }
                return try MQLRegex(pattern: text, options: flags, op: name)
            }
            let constantRegex: MQLRegex?? = (regexExpr.isConstant && optionsExpr.isConstant)
                ? .some(try build(regexExpr.constant!, optionsExpr.constant!)) : nil
            let ie = input.eval, re = regexExpr.eval, oe = optionsExpr.eval
            return Expr { ctx in
                let regex: MQLRegex?
                if let constantRegex { regex = constantRegex } else { regex = try build(try re(ctx), try oe(ctx)) }
                let value = try ie(ctx)
                var text: String?
                if !Values.isNullish(value) {
                    guard case .string(let s) = value! else { throw mqlError(name, "\(name) needs 'input' to be of type string") }
                    text = s
                }
                return try body(regex, text)
            }
        }
    }

    static func replace(all: Bool) -> BuiltinExpressions.Compiler {
        { c, name, arg in
            let named = try c.namedArguments(name, arg, required: ["input", "find", "replacement"])
            let parts = try ["input", "find", "replacement"].map { try c.compile(named[$0]!) }
            return Expr.nary(parts) { v in
                var strings: [String] = []
                var sawNull = false
                for (value, label) in zip(v, ["input", "find", "replacement"]) {
                    if Values.isNullish(value) { sawNull = true; continue }
                    guard case .string(let s) = value! else {
                        throw mqlError(name, "\(name) requires that '\(label)' be a string, found: \(Values.describe(value))")
                    }
                    strings.append(s)
                }
                if sawNull { return .null }
                let input = Array(strings[0].utf8), find = Array(strings[1].utf8), replacement = Array(strings[2].utf8)
                var out: [UInt8] = []
                var i = 0
                var replaced = false
                if find.isEmpty {
                    if !all { return .string(strings[2] + strings[0]) }
                    // Between every character (code point), and at both ends.
                    var result = strings[2]
                    for scalar in strings[0].unicodeScalars {
                        result.unicodeScalars.append(scalar)
                        result += strings[2]
                    }
                    return .string(result)
                }
                while i < input.count {
                    if (all || !replaced), i + find.count <= input.count, input[i..<(i + find.count)].elementsEqual(find) {
                        out.append(contentsOf: replacement)
                        i += find.count
                        replaced = true
                    } else {
                        out.append(input[i])
                        i += 1
                    }
                }
                return .string(String(decoding: out, as: UTF8.self))
            }
        }
    }
}
