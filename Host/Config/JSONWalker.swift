import FerryBSON

/// Reads typed values out of a parsed JSON document while recording faults with their JSON paths,
/// so one pass reports every problem in a config rather than only the first.
final class JSONWalker {
    private(set) var faults: [ConfigError.Fault] = []
    /// Keys accepted without effect: (key, path, reason), in the order met.
    private(set) var ignored: [(key: String, path: String, reason: String)] = []

    func fault(_ path: String, _ message: String) {
        faults.append(ConfigError.Fault(path: path, message: message))
    }

    static func describe(_ value: BSON) -> String {
        switch value {
        case .string(let s): "the string \"\(s)\""
        case .int32, .int64, .double, .decimal128: "the number \(value.extendedJSON(.relaxed))"
        case .bool(let b): "\(b)"
        case .null: "null"
        case .array: "an array"
        case .document: "an object"
        default: value.extendedJSON(.relaxed)
        }
    }

    func string(_ object: BSONDocument, _ key: String, at path: String, required: Bool = false) -> String? {
        guard let value = object[key], value != .null else {
            if required { fault(join(path, key), "is required (a string)") }
            return nil
        }
        guard let string = value.stringValue else {
            fault(join(path, key), "expected a string, got \(Self.describe(value))")
            return nil
        }
        return string
    }

    func bool(_ object: BSONDocument, _ key: String, at path: String) -> Bool? {
        guard let value = object[key], value != .null else { return nil }
        guard let bool = value.boolValue else {
            fault(join(path, key), "expected true or false, got \(Self.describe(value))")
            return nil
        }
        return bool
    }

    func number(_ object: BSONDocument, _ key: String, at path: String, _ check: (Double) -> String? = { _ in nil }) -> Double? {
        guard let value = object[key], value != .null else { return nil }
        guard let number = value.doubleValue, number.isFinite else {
            fault(join(path, key), "expected a number, got \(Self.describe(value))")
            return nil
        }
        if let problem = check(number) {
            fault(join(path, key), problem)
            return nil
        }
        return number
    }

    func integer(_ object: BSONDocument, _ key: String, at path: String, minimum: Int64) -> Int64? {
        guard let value = object[key], value != .null else { return nil }
        guard let integer = value.int64Value else {
            fault(join(path, key), "expected an integer, got \(Self.describe(value))")
            return nil
        }
        guard integer >= minimum else {
            fault(join(path, key), "must be at least \(minimum), got \(integer)")
            return nil
        }
        return integer
    }

    func object(_ object: BSONDocument, _ key: String, at path: String) -> BSONDocument? {
        guard let value = object[key], value != .null else { return nil }
        guard let document = value.documentValue else {
            fault(join(path, key), "expected an object, got \(Self.describe(value))")
            return nil
        }
        return document
    }

    func array(_ object: BSONDocument, _ key: String, at path: String) -> [BSON]? {
        guard let value = object[key], value != .null else { return nil }
        guard let array = value.arrayValue else {
            fault(join(path, key), "expected an array, got \(Self.describe(value))")
            return nil
        }
        return array
    }

    func strings(_ object: BSONDocument, _ key: String, at path: String) -> [String]? {
        guard let array = array(object, key, at: path) else { return nil }
        var strings: [String] = []
        for (index, value) in array.enumerated() {
            guard let string = value.stringValue else {
                fault("\(join(path, key))[\(index)]", "expected a string, got \(Self.describe(value))")
                continue
            }
            strings.append(string)
        }
        return strings
    }

    /// Elements of an array of objects, each with its path; non-objects are faults.
    func objects(_ object: BSONDocument, _ key: String, at path: String) -> [(BSONDocument, String)] {
        guard let array = array(object, key, at: path) else { return [] }
        return array.enumerated().compactMap { index, value in
            let elementPath = "\(join(path, key))[\(index)]"
            guard let document = value.documentValue else {
                fault(elementPath, "expected an object, got \(Self.describe(value))")
                return nil
            }
            return (document, elementPath)
        }
    }

    /// Refuses keys not in `known` (for Ferry's own sections, where a typo should not pass silently).
    func onlyKnownKeys(_ object: BSONDocument, _ known: Set<String>, at path: String) {
        for key in object.keys where !known.contains(key) {
            fault(join(path, key), "unknown key; expected one of \(known.sorted().joined(separator: ", "))")
        }
    }

    /// Records, for a warning, every key of `object` that is not in `known`: the inert ones with
    /// their reason, any other as unknown (a typo should not pass silently either).
    func noteIgnoredKeys(_ object: BSONDocument, known: Set<String>, inert: [String: String], at path: String) {
        for key in object.keys where !known.contains(key) {
            let reason = inert[key] ?? "it is not a key Ferry or Viam's documented config uses here (a typo?)"
            ignored.append((key, join(path, key), reason))
        }
    }

    /// One warning per (key, reason), listing every path, in the order first met.
    var warnings: [ConfigWarning] {
        var order: [String] = []
        var grouped: [String: ConfigWarning] = [:]
        for note in ignored {
            let id = "\(note.key)\u{0}\(note.reason)"
            if grouped[id] == nil {
                order.append(id)
                grouped[id] = ConfigWarning(key: note.key, paths: [], reason: note.reason)
            }
            grouped[id]!.paths.append(note.path)
        }
        return order.map { grouped[$0]! }
    }

    func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }
}
