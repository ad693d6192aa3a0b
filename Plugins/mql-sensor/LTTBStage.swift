import FerryBSON
import FerrySDK

/// The `$lttb` stage: downsamples a time series for charting, something MongoDB has no stage for.
///
///     {"$lttb": {"x": "$time_received", "y": "$data.readings.temperature", "points": 500,
///                "partitionBy": "$component_name"}}
///
/// `x` and `y` are field paths (`x` a date or a number, `y` a number); `points` (≥ 3) is how many
/// documents to keep per partition; `partitionBy` (optional) a field path whose value splits the
/// series. Documents come out whole, sorted by `x` within each partition, partitions in order of
/// first appearance. Documents whose `x` or `y` is missing or not numeric cannot be plotted and
/// are dropped.
struct LTTBSpec {
    var x: [String]
    var y: [String]
    var points: Int
    var partitionBy: [String]?

    init(_ spec: BSON) throws {
        guard let document = spec.documentValue else {
            throw PluginError.invalidArgument("$lttb takes a document {x, y, points[, partitionBy]}")
        }
        for key in document.keys where !["x", "y", "points", "partitionBy"].contains(key) {
            throw PluginError.invalidArgument("$lttb: unknown field '\(key)'; expected x, y, points, partitionBy")
        }
        func path(_ key: String, required: Bool) throws -> [String]? {
            guard let value = document[key] else {
                if required { throw PluginError.invalidArgument("$lttb: '\(key)' is required, a field path such as \"$time_received\"") }
                return nil
            }
            guard let string = value.stringValue, string.hasPrefix("$"), string.count > 1, !string.hasPrefix("$$") else {
                throw PluginError.invalidArgument("$lttb: '\(key)' must be a field path starting with '$', got \(value.extendedJSON())")
            }
            return string.dropFirst().split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        }
        x = try path("x", required: true)!
        y = try path("y", required: true)!
        partitionBy = try path("partitionBy", required: false)
        guard let points = document["points"]?.int64Value, points >= 3, points <= 1_000_000 else {
            throw PluginError.invalidArgument("$lttb: 'points' must be an integer from 3 to 1000000")
        }
        self.points = Int(points)
    }
}

enum LTTBStage {
    static let registration = OperatorRegistration(
        name: "$lttb", validate: { _ = try LTTBSpec($0) }, .stage(run))

    static func run(_ spec: BSON, _ documents: [BSONDocument]) throws -> [BSONDocument] {
        let spec = try LTTBSpec(spec)
        var partitions: [BSON: [(x: Double, y: Double, document: BSONDocument)]] = [:]
        var order: [BSON] = []
        for document in documents {
            guard let x = numeric(value(document, spec.x)), let y = numeric(value(document, spec.y)) else { continue }
            let key = spec.partitionBy.map { value(document, $0) ?? .null } ?? .null
            if partitions[key] == nil { order.append(key) }
            partitions[key, default: []].append((x, y, document))
        }
        var output: [BSONDocument] = []
        for key in order {
            // A stable sort, so equal x keep their input order.
            let series = partitions[key]!.enumerated().sorted { ($0.element.x, $0.offset) < ($1.element.x, $1.offset) }.map(\.element)
            let kept = LTTB.select(x: series.map(\.x), y: series.map(\.y), threshold: spec.points)
            output += kept.map { series[$0].document }
        }
        return output
    }

    /// A dotted path through embedded documents (arrays are not traversed: a series is scalars).
    static func value(_ document: BSONDocument, _ path: [String]) -> BSON? {
        var current: BSON = .document(document)
        for key in path {
            guard let next = current.documentValue?[key] else { return nil }
            current = next
        }
        return current
    }

    static func numeric(_ value: BSON?) -> Double? {
        switch value {
        case .datetime(let ms): Double(ms)
        case .some(let v): v.doubleValue.flatMap { $0.isFinite ? $0 : nil }
        case nil: nil
        }
    }
}
