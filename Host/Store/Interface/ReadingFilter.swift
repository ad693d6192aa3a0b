/// A conjunction of conditions on stored columns that SQL can evaluate with indexes. The empty
/// filter matches everything; every added condition narrows it.
public struct ReadingFilter: Sendable, Hashable {
    /// The text columns a filter can restrict to a set of values.
    public enum Column: String, Sendable, Hashable, CaseIterable {
        case organizationID = "organization_id"
        case locationID = "location_id"
        case robotID = "robot_id"
        case partID = "part_id"
        case componentType = "component_type"
        case componentName = "component_name"
        case methodName = "method_name"
    }

    /// For each restricted column, the values a row may have (an empty set matches nothing).
    public private(set) var allowed: [Column: Set<String>] = [:]
    public var timeRequested = TimeBounds()
    public var timeReceived = TimeBounds()
    /// Conditions on values inside `data` that every matching reading meets; they narrow nothing
    /// by themselves (see `DataHint`): a store may read through a custom index with them.
    public var dataHints: [DataHint] = []
    /// Tags of which a row must have at least one (Viam's `TagsFilter` of type match-any); nil
    /// for any row, tagged or not. An empty set matches nothing.
    public var anyTag: Set<String>?

    public init() {}

    public static var all: ReadingFilter { ReadingFilter() }

    /// Keeps only rows whose `column` is one of `values` (intersecting any earlier restriction).
    public mutating func restrict(_ column: Column, to values: Set<String>) {
        if let existing = allowed[column] {
            allowed[column] = existing.intersection(values)
        } else {
            allowed[column] = values
        }
    }

    public func restricting(_ column: Column, to values: Set<String>) -> ReadingFilter {
        var copy = self
        copy.restrict(column, to: values)
        return copy
    }

    /// True when no row can match, so a query need not run.
    public var matchesNothing: Bool {
        allowed.values.contains { $0.isEmpty } || timeRequested.isEmpty || timeReceived.isEmpty || anyTag?.isEmpty == true
    }

    public var isEmpty: Bool { allowed.isEmpty && timeRequested.isUnbounded && timeReceived.isUnbounded && anyTag == nil }
}

/// Inclusive bounds on a time column, in milliseconds since the Unix epoch. Times are whole
/// milliseconds, so `> t` is exactly `>= t + 1`.
public struct TimeBounds: Sendable, Hashable {
    public private(set) var lower: Int64?
    public private(set) var upper: Int64?
    /// Set when a bound can never be met (`> Int64.max`), which `lower`/`upper` cannot express.
    public private(set) var impossible = false

    public init() {}

    public init(from lower: Int64?, through upper: Int64?) {
        self.lower = lower
        self.upper = upper
    }

    public var isUnbounded: Bool { lower == nil && upper == nil && !impossible }
    public var isEmpty: Bool {
        if impossible { return true }
        if let lower, let upper { return lower > upper }
        return false
    }

    public mutating func atLeast(_ t: Int64) { lower = Swift.max(lower ?? .min, t) }
    public mutating func atMost(_ t: Int64) { upper = Swift.min(upper ?? .max, t) }
    public mutating func greaterThan(_ t: Int64) {
        if t == .max { impossible = true } else { atLeast(t + 1) }
    }
    public mutating func lessThan(_ t: Int64) {
        if t == .min { impossible = true } else { atMost(t - 1) }
    }
    public mutating func equalTo(_ t: Int64) {
        atLeast(t)
        atMost(t)
    }

    public func contains(_ t: Int64) -> Bool {
        !impossible && (lower.map { t >= $0 } ?? true) && (upper.map { t <= $0 } ?? true)
    }
}

extension ReadingFilter {
    /// Evaluates the filter on one reading in memory (what the SQL `WHERE` computes); used for
    /// checks and by implementations that cannot push a filter down.
    public func matches(_ reading: Reading) -> Bool {
        for (column, values) in allowed where !values.contains(reading.value(of: column)) { return false }
        if let anyTag, !reading.tags.contains(where: anyTag.contains) { return false }
        return timeRequested.contains(reading.timeRequested) && timeReceived.contains(reading.timeReceived)
    }
}

extension Reading {
    public func value(of column: ReadingFilter.Column) -> String {
        switch column {
        case .organizationID: organizationID
        case .locationID: locationID
        case .robotID: robotID
        case .partID: partID
        case .componentType: componentType
        case .componentName: componentName
        case .methodName: methodName
        }
    }
}
