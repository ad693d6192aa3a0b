import FerryBSON
import Foundation
import Testing

@testable import FerryMQL

/// Parses documents written as JSON (one array, or JSON Lines).
func documents(_ json: String, sourceLocation: SourceLocation = #_sourceLocation) -> [BSONDocument] {
    do {
        return try BSONDocument.parseExtendedJSONDocuments(json)
    } catch {
        Issue.record("bad test JSON: \(error)\n\(json)", sourceLocation: sourceLocation)
        return []
    }
}

func value(_ json: String, sourceLocation: SourceLocation = #_sourceLocation) -> BSON {
    do {
        return try BSON(extendedJSON: json)
    } catch {
        Issue.record("bad test JSON: \(error)\n\(json)", sourceLocation: sourceLocation)
        return .null
    }
}

/// A fixed clock for `$$NOW`: 2024-03-01T12:00:00Z.
let fixedNow = Date(timeIntervalSince1970: 1_709_294_400)

func run(
    _ pipeline: String, _ input: String, lookup: (@Sendable (String) throws -> [BSONDocument])? = nil,
    options: MQLOptions = MQLOptions(randomSeed: 42), registry: MQLOperatorRegistry = .builtin
) throws -> [BSONDocument] {
    let p = try MQLPipeline(json: pipeline, registry: registry, options: options)
    return try p.run(try BSONDocument.parseExtendedJSONDocuments(input), context: MQLContext(now: fixedNow, lookup: lookup))
}

/// Runs `pipeline` over `input` and expects exactly `expected` (types included, order included).
func expectPipeline(
    _ pipeline: String, _ input: String, _ expected: String,
    lookup: (@Sendable (String) throws -> [BSONDocument])? = nil, registry: MQLOperatorRegistry = .builtin,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    do {
        let out = try run(pipeline, input, lookup: lookup, registry: registry)
        let want = documents(expected, sourceLocation: sourceLocation)
        if out != want {
            Issue.record(
                "pipeline \(pipeline)\n got:  \(out.map { $0.extendedJSON(.canonical) })\n want: \(want.map { $0.extendedJSON(.canonical) })",
                sourceLocation: sourceLocation)
        }
    } catch {
        Issue.record("pipeline \(pipeline) failed: \(error)", sourceLocation: sourceLocation)
    }
}

/// Evaluates one expression against a document; nil when it is missing.
func evaluate(_ expression: String, on doc: String = "{}") throws -> BSON? {
    let out = try run(#"[{"$project": {"_id": 0, "r": \#(expression)}}]"#, doc)
    return out.first?["r"]
}

/// Expects an expression to evaluate to `expected` (Extended JSON; "missing" for a missing value).
func expectExpr(_ expression: String, _ expected: String, on doc: String = "{}", sourceLocation: SourceLocation = #_sourceLocation) {
    do {
        let got = try evaluate(expression, on: doc)
        if expected == "missing" {
            if got != nil { Issue.record("\(expression) on \(doc): got \(got!.extendedJSON(.canonical)), want missing", sourceLocation: sourceLocation) }
            return
        }
        let want = value(expected, sourceLocation: sourceLocation)
        if got != want {
            Issue.record(
                "\(expression) on \(doc):\n got:  \(got.map { $0.extendedJSON(.canonical) } ?? "missing")\n want: \(want.extendedJSON(.canonical))",
                sourceLocation: sourceLocation)
        }
    } catch {
        Issue.record("\(expression) failed: \(error)", sourceLocation: sourceLocation)
    }
}

/// Expects creating or running the pipeline to fail with a message containing every fragment.
func expectError(
    _ pipeline: String, _ input: String = "[]", _ fragments: String..., stage: Int? = nil,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    do {
        let out = try run(pipeline, input)
        Issue.record("expected an error from \(pipeline), got \(out.map { $0.extendedJSON() })", sourceLocation: sourceLocation)
    } catch let e as MQLError {
        let text = e.description
        for f in fragments where !text.contains(f) {
            Issue.record("error \"\(text)\" lacks \"\(f)\"", sourceLocation: sourceLocation)
        }
        if let stage, e.stageIndex != stage {
            Issue.record("error \"\(text)\" names stage \(e.stageIndex.map(String.init) ?? "none"), want \(stage)", sourceLocation: sourceLocation)
        }
    } catch {
        Issue.record("unexpected error type: \(error)", sourceLocation: sourceLocation)
    }
}

func expectExprError(_ expression: String, on doc: String = "{}", _ fragments: String..., sourceLocation: SourceLocation = #_sourceLocation) {
    do {
        let got = try evaluate(expression, on: doc)
        Issue.record("expected an error from \(expression), got \(got.map { $0.extendedJSON() } ?? "missing")", sourceLocation: sourceLocation)
    } catch {
        let text = String(describing: error)
        for f in fragments where !text.contains(f) {
            Issue.record("error \"\(text)\" lacks \"\(f)\"", sourceLocation: sourceLocation)
        }
    }
}

/// Sensor readings as Viam stores them, for the stage tests.
let readings = """
    {"_id": 1, "component_name": "thermo-1", "time_received": {"$date": "2024-03-01T10:05:00Z"}, "data": {"readings": {"temperature": 20.5, "humidity": 40}}}
    {"_id": 2, "component_name": "thermo-1", "time_received": {"$date": "2024-03-01T10:35:00Z"}, "data": {"readings": {"temperature": 21.5, "humidity": 42}}}
    {"_id": 3, "component_name": "thermo-2", "time_received": {"$date": "2024-03-01T10:50:00Z"}, "data": {"readings": {"temperature": 18.0, "humidity": 55}}}
    {"_id": 4, "component_name": "thermo-1", "time_received": {"$date": "2024-03-01T11:10:00Z"}, "data": {"readings": {"temperature": 23.0, "humidity": 41}}}
    {"_id": 5, "component_name": "thermo-2", "time_received": {"$date": "2024-03-01T11:20:00Z"}, "data": {"readings": {"temperature": 19.0}}}
    {"_id": 6, "component_name": "thermo-2", "time_received": {"$date": "2024-03-01T11:40:00Z"}, "data": {"readings": {"temperature": null, "humidity": 57}}}
    """
