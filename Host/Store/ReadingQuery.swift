import GRDB

/// The SQL `WHERE` clause for one organisation's readings under a `ReadingFilter`, shaped so that
/// SQLite can use the `(organization_id, component_name | robot_id, time_received)` indexes.
struct ReadingQuery {
    var sql: String
    var arguments: StatementArguments

    /// Nil when the filter cannot match any of the organisation's rows.
    init?(organizationID: String, filter: ReadingFilter) {
        if filter.matchesNothing { return nil }
        if let organizations = filter.allowed[.organizationID], !organizations.contains(organizationID) { return nil }
        var clauses = ["organization_id = ?"]
        var arguments: StatementArguments = [organizationID]
        for column in ReadingFilter.Column.allCases where column != .organizationID {
            guard let values = filter.allowed[column] else { continue }
            let sorted = values.sorted()  // stable SQL text, so GRDB's statement cache hits
            if sorted.count == 1 {
                clauses.append("\(column.rawValue) = ?")
            } else {
                clauses.append("\(column.rawValue) IN (\(Array(repeating: "?", count: sorted.count).joined(separator: ", ")))")
            }
            arguments += StatementArguments(sorted)
        }
        for (name, bounds) in [("time_requested", filter.timeRequested), ("time_received", filter.timeReceived)] {
            if let lower = bounds.lower {
                clauses.append("\(name) >= ?")
                arguments += [lower]
            }
            if let upper = bounds.upper {
                clauses.append("\(name) <= ?")
                arguments += [upper]
            }
        }
        sql = clauses.joined(separator: " AND ")
        self.arguments = arguments
    }

    static func table(_ source: ReadingSource) -> String {
        switch source {
        case .standard: "readings"
        case .hotStorage: "hot_readings"
        }
    }
}
