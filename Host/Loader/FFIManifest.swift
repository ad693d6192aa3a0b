import FerryBSON
import FerrySystem
import Foundation

/// The simple plugin tier's manifest: a JSON file beside a plain C library, naming the functions
/// a model's Readings call and their C signatures. For `libtmp102.so` the loader looks for
/// `tmp102.ferry.json` (or `libtmp102.ferry.json`) in the same folder:
///
///     {"name": "tmp102", "version": "1.0.0",
///      "models": [{"model": "acme:simple:tmp102",
///                  "readings": {"temperature_celsius": "double tmp102_celsius(int bus, int addr)"}}]}
///
/// Each parameter is filled from the component attribute of the same name.
package struct FFIManifest: Equatable {
    struct Model: Equatable {
        var api: String
        var model: String
        /// Readings key → function, in manifest order.
        var readings: [(key: String, function: CSignature)]

        static func == (a: Model, b: Model) -> Bool {
            a.api == b.api && a.model == b.model && a.readings.map(\.key) == b.readings.map(\.key)
                && a.readings.map(\.function) == b.readings.map(\.function)
        }
    }

    var name: String
    var version: String
    var models: [Model]

    /// The manifest beside `library`, if there is one.
    static func find(beside library: String) -> String? {
        let url = URL(fileURLWithPath: library)
        var stem = url.deletingPathExtension().lastPathComponent
        let folder = url.deletingLastPathComponent()
        var candidates = [folder.appendingPathComponent("\(stem).ferry.json").path]
        if stem.hasPrefix("lib") {
            stem.removeFirst(3)
            candidates.insert(folder.appendingPathComponent("\(stem).ferry.json").path, at: 0)
        }
        return candidates.first { FileManager.default.fileExists(atPath: $0) }
    }

    /// Reads and parses the manifest at `path`.
    init(path: String) throws(LoadError) {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw LoadError(path: path, reason: .malformed("cannot read the manifest: \(error)"))
        }
        try self.init(text: text, path: path)
    }

    /// Parses a manifest's text; errors name `path`, the JSON path and what was expected.
    package init(text: String, path: String) throws(LoadError) {
        func fail(_ message: String) -> LoadError { LoadError(path: path, reason: .malformed(message)) }
        let document: BSONDocument
        do {
            document = try BSONDocument(extendedJSON: text)
        } catch {
            throw fail("not valid JSON: \(error)")
        }
        guard let name = document["name"]?.stringValue else { throw fail("name: expected a string") }
        guard let models = document["models"]?.arrayValue, !models.isEmpty else {
            throw fail("models: expected a non-empty array of {model, readings}")
        }
        self.name = name
        version = document["version"]?.stringValue ?? "0.0.0"
        self.models = try models.enumerated().map { (index, value) throws(LoadError) in
            let at = "models[\(index)]"
            guard let model = value.documentValue, let modelName = model["model"]?.stringValue else {
                throw fail("\(at).model: expected a model triplet string such as \"acme:simple:tmp102\"")
            }
            let api = model["api"]?.stringValue ?? "rdk:component:sensor"
            guard api == "rdk:component:sensor" else {
                throw fail("\(at).api: the simple tier provides sensors only (rdk:component:sensor), got \(api)")
            }
            guard let readings = model["readings"]?.documentValue, !readings.isEmpty else {
                throw fail("\(at).readings: expected {\"key\": \"double function(int arg, …)\"}")
            }
            var functions: [(key: String, function: CSignature)] = []
            for element in readings.elements {
                guard let text = element.value.stringValue else { throw fail("\(at).readings.\(element.key): expected a C signature string") }
                do throws(CSignature.ParseError) { functions.append((element.key, try CSignature(parsing: text))) } catch {
                    throw fail("\(at).readings.\(element.key): \(error.message)")
                }
            }
            return Model(api: api, model: modelName, readings: functions)
        }
    }
}

/// A C function signature the simple tier can call: scalar and string parameters, a numeric return.
struct CSignature: Equatable, Sendable {
    enum CType: String, Equatable, Sendable {
        case int32 = "int", int64 = "int64_t", double, float, bool, string = "const char *"
    }
    struct Parameter: Equatable, Sendable {
        var name: String
        var type: CType
    }
    struct ParseError: Error { var message: String }

    var returnType: CType
    var name: String
    var parameters: [Parameter]

    /// "double tmp102_celsius(int bus, int addr)"; a trailing semicolon is fine.
    init(parsing text: String) throws(ParseError) {
        var text = text.trimmedWhitespace
        if text.hasSuffix(";") { text.removeLast() }
        guard let open = text.firstIndex(of: "("), let close = text.lastIndex(of: ")"), open < close,
            text[text.index(after: close)...].trimmedWhitespace.isEmpty
        else { throw ParseError(message: "expected a C prototype such as \"double f(int bus, int addr)\", got \"\(text)\"") }
        let (returnText, name) = try CSignature.split(String(text[..<open]), what: "function")
        returnType = try CSignature.type(returnText, what: "return type of \(name)")
        guard returnType != .string else { throw ParseError(message: "\(name) must return a number or bool, not a string") }
        self.name = name
        let list = text[text.index(after: open)..<close].trimmedWhitespace
        if list.isEmpty || list == "void" {
            parameters = []
        } else {
            parameters = try list.split(separator: ",").map { (part) throws(ParseError) in
                let (typeText, parameterName) = try CSignature.split(String(part), what: "parameter")
                return Parameter(name: parameterName, type: try CSignature.type(typeText, what: "parameter \(parameterName)"))
            }
        }
    }

    /// "const char *path" → ("const char *", "path").
    private static func split(_ declaration: String, what: String) throws(ParseError) -> (String, String) {
        let trimmed = declaration.trimmedWhitespace
        guard let last = trimmed.lastIndex(where: { !($0.isLetter || $0.isNumber || $0 == "_") }) else {
            throw ParseError(message: "\(what) \"\(trimmed)\" lacks a type or a name")
        }
        let name = String(trimmed[trimmed.index(after: last)...])
        let type = String(trimmed[...last])
        guard !name.isEmpty, !type.trimmedWhitespace.isEmpty else {
            throw ParseError(message: "\(what) \"\(trimmed)\" lacks a type or a name")
        }
        return (type, name)
    }

    private static func type(_ text: String, what: String) throws(ParseError) -> CType {
        switch text.replacing(" ", with: "") {
        case "int", "int32_t", "signed", "signedint": return .int32
        case "long", "longint", "int64_t", "longlong", "longlongint": return .int64
        case "double": return .double
        case "float": return .float
        case "bool", "_Bool": return .bool
        case "constchar*", "charconst*": return .string
        default:
            throw ParseError(message: "\(what): unsupported C type \"\(text.trimmedWhitespace)\"; use int, int64_t, double, float, bool or const char *")
        }
    }
}
