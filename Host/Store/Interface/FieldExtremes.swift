import FerryBSON

/// The lowest and highest value of one numeric field of readings per component and time bucket:
/// what a chart of a year of readings draws, computed where the readings are (SQL on PostgreSQL,
/// one pass over an index on SQLite) so that a few thousand points leave the store, not a year of
/// documents. Drawing both extremes of every bucket keeps every spike: a value that stands out is
/// the minimum or maximum of its bucket.
public protocol ReadingSeries: Sendable {
    /// The organisation's readings matching `filter` that hold a number at `path` inside `data`
    /// (an int32, int64 or finite double, reached through embedded documents only: no array on
    /// the way, as MQL's `$data.a.b` would not give a number there either), grouped by
    /// `component_name` and by time bucket: the span from the first to the last matching
    /// `time_received` cut into `buckets` equal parts (1...`FieldExtremes.maxBuckets`).
    func fieldExtremes(organizationID: String, filter: ReadingFilter, path: [String], buckets: Int) async throws -> FieldExtremes
}

/// One value of a field: when its reading was received (ms since the Unix epoch) and the number.
public struct FieldPoint: Sendable, Hashable {
    public var time: Int64
    public var value: Double

    public init(time: Int64, value: Double) {
        self.time = time
        self.value = value
    }
}

/// The readings of one component in one time bucket that hold a number in the field.
public struct FieldBucket: Sendable, Hashable {
    /// Which bucket: its readings were received in `[start + index * width, start + (index + 1) * width)`.
    public var index: Int
    public var count: Int
    /// The lowest and the highest value; of equal values, the earliest received.
    public var min: FieldPoint
    public var max: FieldPoint

    public init(index: Int, count: Int, min: FieldPoint, max: FieldPoint) {
        self.index = index
        self.count = count
        self.min = min
        self.max = max
    }

    /// The extremes in time order, each once: what a line chart draws for the bucket.
    public var points: [FieldPoint] {
        if min == max { return [min] }
        return min.time <= max.time ? [min, max] : [max, min]
    }
}

public struct FieldSeries: Sendable, Hashable {
    public var component: String
    /// The buckets holding at least one number, by `index`.
    public var buckets: [FieldBucket]

    public init(component: String, buckets: [FieldBucket]) {
        self.component = component
        self.buckets = buckets
    }
}

public struct FieldExtremes: Sendable, Hashable {
    /// The most buckets one call computes (a chart is a few hundred pixels across per bucket pair).
    public static let maxBuckets = 10_000

    /// The first and last `time_received` of the matching readings, which the buckets divide;
    /// nil when no reading matches.
    public var span: ClosedRange<Int64>?
    /// Milliseconds per bucket.
    public var bucketWidth: Int64
    /// One per component with at least one number in the field, by component name.
    public var series: [FieldSeries]

    public init(span: ClosedRange<Int64>?, bucketWidth: Int64, series: [FieldSeries]) {
        self.span = span
        self.bucketWidth = bucketWidth
        self.series = series
    }

    public static let none = FieldExtremes(span: nil, bucketWidth: 1, series: [])

    /// The width that cuts `span` into at most `buckets` parts, every time of it in one:
    /// `(last - first) / width < buckets`.
    package static func bucketWidth(_ span: ClosedRange<Int64>, buckets: Int) -> Int64 {
        (span.upperBound - span.lowerBound) / Int64(buckets) + 1
    }

    package static func validate(path: [String], buckets: Int) throws {
        guard (1...maxBuckets).contains(buckets) else {
            throw StoreError.invalid("a chart takes 1 to \(maxBuckets) time buckets (got \(buckets))")
        }
        guard !path.isEmpty, path.count <= 100 else {
            throw StoreError.invalid("a field path needs 1 to 100 names (got \(path.count))")
        }
        for name in path {
            guard !name.isEmpty, !name.hasPrefix("$") else {
                throw StoreError.invalid("\(path.joined(separator: ".").debugDescription) is not a field path: a name is empty or starts with $")
            }
            try StoreChecks.validate(text: name, what: "a name of the field path")
        }
    }

    /// The number at `path` of a decoded document, as the backends read it (the reference for tests
    /// and what a reading's `data` holds in memory).
    public static func number(in document: BSONDocument, path: [String]) -> Double? {
        var current = BSON.document(document)
        for name in path {
            guard case .document(let fields) = current, let next = fields[name] else { return nil }
            current = next
        }
        switch current {
        case .int32(let n): return Double(n)
        case .int64(let n): return Double(n)
        case .double(let d) where d.isFinite: return d
        default: return nil
        }
    }
}

/// Folds `(component, time, value)` triples into `FieldExtremes`, in any order: what SQLite's pass
/// computes, and the in-memory reference of what PostgreSQL's `GROUP BY` does.
package struct FieldExtremesAccumulator {
    let start: Int64
    let width: Int64
    let buckets: Int
    private var components: [String] = []
    private var slots: [[FieldBucket?]] = []
    // The last component seen: readings come in runs of one component, so most rows skip the lookup.
    private var lastComponent = ""
    private var lastSlot = -1
    private var slotOfComponent: [String: Int] = [:]

    package init(span: ClosedRange<Int64>, buckets: Int) {
        start = span.lowerBound
        width = FieldExtremes.bucketWidth(span, buckets: buckets)
        self.buckets = buckets
    }

    package mutating func add(component: String, time: Int64, value: Double) {
        let slot: Int
        if lastSlot >= 0, component == lastComponent {
            slot = lastSlot
        } else if let known = slotOfComponent[component] {
            slot = known
        } else {
            slot = components.count
            components.append(component)
            slots.append(Array(repeating: nil, count: buckets))
            slotOfComponent[component] = slot
        }
        lastComponent = component
        lastSlot = slot
        // Times outside the span (none, when the span came from the same snapshot) join the end buckets.
        let index = Int(Swift.min(Swift.max((time - start) / width, 0), Int64(buckets - 1)))
        let point = FieldPoint(time: time, value: value)
        guard var bucket = slots[slot][index] else {
            slots[slot][index] = FieldBucket(index: index, count: 1, min: point, max: point)
            return
        }
        bucket.count += 1
        if value < bucket.min.value || (value == bucket.min.value && time < bucket.min.time) { bucket.min = point }
        if value > bucket.max.value || (value == bucket.max.value && time < bucket.max.time) { bucket.max = point }
        slots[slot][index] = bucket
    }

    package func result(span: ClosedRange<Int64>) -> FieldExtremes {
        let series = zip(components, slots).map { FieldSeries(component: $0, buckets: $1.compactMap { $0 }) }
        return FieldExtremes(span: span, bucketWidth: width, series: series.sorted { $0.component < $1.component })
    }
}
