import FerryBSON
import FerrySDK

/// Reads a fake model's attributes with validation; every error names the attribute, the value it
/// got and what it expected, so the message alone tells the user how to fix the config.
struct Attributes {
    let document: BSONDocument
    /// e.g. "fake sensor", for the warning about unknown attributes.
    let model: String

    enum Bound {
        case any
        case positive
        case nonNegative
        case within(ClosedRange<Double>)

        func accepts(_ value: Double) -> Bool {
            guard value.isFinite else { return false }
            switch self {
            case .any: return true
            case .positive: return value > 0
            case .nonNegative: return value >= 0
            case .within(let range): return range.contains(value)
            }
        }

        var expectation: String {
            switch self {
            case .any: "a finite number"
            case .positive: "a number > 0"
            case .nonNegative: "a number ≥ 0"
            case .within(let range): "a number from \(range.lowerBound) to \(range.upperBound)"
            }
        }
    }

    init(_ config: ComponentConfig, model: String) {
        document = config.attributes
        self.model = model
    }

    func number(_ key: String, default fallback: Double, _ bound: Bound = .any) throws -> Double {
        guard let value = document[key] else { return fallback }
        guard let number = value.doubleValue, bound.accepts(number) else {
            throw invalid(key, value, bound.expectation)
        }
        return number
    }

    func integer(_ key: String, default fallback: Int, in range: ClosedRange<Int>) throws -> Int {
        guard let value = document[key] else { return fallback }
        guard let number = value.int64Value, let int = Int(exactly: number), range.contains(int) else {
            throw invalid(key, value, "an integer from \(range.lowerBound) to \(range.upperBound)")
        }
        return int
    }

    func choice(_ key: String, default fallback: String, oneOf choices: [String]) throws -> String {
        guard let value = document[key] else { return fallback }
        guard let string = value.stringValue, choices.contains(string) else {
            throw invalid(key, value, "one of \(choices.map { "\"\($0)\"" }.joined(separator: ", "))")
        }
        return string
    }

    func numbers(_ key: String, default fallback: [Double], count: ClosedRange<Int>, _ bound: Bound) throws -> [Double] {
        guard let value = document[key] else { return fallback }
        let expectation = "an array of \(count.lowerBound) to \(count.upperBound) numbers, each \(bound.expectation)"
        guard let array = value.arrayValue, count.contains(array.count) else { throw invalid(key, value, expectation) }
        return try array.map { element in
            guard let number = element.doubleValue, bound.accepts(number) else { throw invalid(key, value, expectation) }
            return number
        }
    }

    /// A list of names, given as strings or, as Viam's fake board writes analogs, as documents
    /// with a `name` field (`[{"name": "a1", "pin": "0"}]`).
    /// Integer pin numbers (Viam's esp32 board writes `"pins": [27]`) are names too.
    func names(_ key: String, default fallback: [String]) throws -> [String] {
        guard let value = document[key] else { return fallback }
        let expectation = "an array of distinct, non-empty names (strings, integers, or documents with a \"name\" string)"
        guard let array = value.arrayValue else { throw invalid(key, value, expectation) }
        let names = try array.map { element in
            let number = element.int64Value.flatMap { element.stringValue == nil ? String($0) : nil }
            guard let name = element.stringValue ?? number ?? element.documentValue?["name"]?.stringValue, !name.isEmpty else {
                throw invalid(key, value, expectation)
            }
            return name
        }
        guard Set(names).count == names.count else { throw invalid(key, value, expectation) }
        return names
    }

    /// Unknown attributes are not an error — a Viam config's fake components carry attributes of
    /// Viam's own fakes (`animated`, `rtp_passthrough`, …) and must keep loading — but a typo should
    /// not pass silently, so they are logged through the host.
    func warnAboutUnknown(known: Set<String>) {
        let unknown = document.keys.filter { !known.contains($0) }
        guard !unknown.isEmpty else { return }
        FerryPlugin.log(
            .warning,
            "\(model): ignoring unknown attribute(s) \(unknown.joined(separator: ", ")); "
                + "known: \(known.sorted().joined(separator: ", "))")
    }

    private func invalid(_ key: String, _ value: BSON, _ expectation: String) -> PluginError {
        .invalidArgument("\(model): attribute \(key) must be \(expectation), got \(Self.describe(value))")
    }

    /// A short rendering of a BSON value for error messages (no Extended JSON dependency).
    static func describe(_ value: BSON) -> String {
        switch value {
        case .double(let d): return "\(d)"
        case .int32(let i): return "\(i)"
        case .int64(let i): return "\(i)"
        case .string(let s): return "\"\(s)\""
        case .bool(let b): return "\(b)"
        case .null: return "null"
        case .array(let a): return "[" + a.map(describe).joined(separator: ", ") + "]"
        case .document(let d): return "{" + d.map { "\($0.key): \(describe($0.value))" }.joined(separator: ", ") + "}"
        default: return "a value of another BSON type"
        }
    }
}
