import FerryBSON
import FerryStore
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
        if let tags = filter.anyTag {
            // Stored tags are a JSON array of strings (`ReadingEncoding.tagsJSON`); so is the argument.
            clauses.append("EXISTS (SELECT 1 FROM json_each(tags) AS t WHERE t.value IN (SELECT value FROM json_each(?)))")
            arguments += [ReadingEncoding.tagsJSON(tags.sorted())]
        }
        sql = clauses.joined(separator: " AND ")
        self.arguments = arguments
    }

    /// The access path: for `readings`, the index to read through (without statistics SQLite's
    /// planner often prefers the plain time index even when a component or robot is given, so the
    /// choice is made here; every index starts with `organization_id`, which every query
    /// constrains, so each is usable). `hot_readings` is clustered on `(organization_id,
    /// time_received, id)` and has no other path.
    static func accessPath(_ source: ReadingSource, filter: ReadingFilter) -> String {
        switch source {
        case .standard:
            if filter.allowed[.componentName] != nil { return "INDEXED BY readings_by_component" }
            if filter.allowed[.robotID] != nil { return "INDEXED BY readings_by_robot" }
            return "INDEXED BY readings_by_time"
        case .hotStorage:
            return ""
        }
    }

    /// The full SELECT of `ReadingDecoding.selectList`, ordered by `(time_received, id)`, after
    /// `cursor` if given, at most `limit` rows if given. Nil when nothing can match. With a custom
    /// `index` and its hints, the rows are read through that index: those whose key meets the
    /// hints, and those keyed with the sentinel (a UNION ALL of two seeks: the sets are disjoint,
    /// and SQLite without statistics would not plan an OR over one index that way).
    static func select(
        organizationID: String, source: ReadingSource, filter: ReadingFilter, descending: Bool, after cursor: ReadingCursor?,
        limit: Int?, index: (index: DataIndex, hints: [DataHint])? = nil, fields: ReadingFields = ReadingFields(.everything)
    ) -> (sql: String, arguments: StatementArguments)? {
        guard var query = ReadingQuery(organizationID: organizationID, filter: filter), limit != 0 else { return nil }
        if let cursor {
            query.sql += descending ? " AND (time_received, id) < (?, ?)" : " AND (time_received, id) > (?, ?)"
            query.arguments += [cursor.timeReceived, cursor.id]
        }
        let direction = descending ? "DESC" : "ASC"
        let selectList = ReadingDecoding.selectList(fields)
        var sql: String
        if let (index, hints) = index {
            let physical = StoreChecks.physicalIndexName(table: table(source), paths: index.paths)
            let key = SQLiteReadingStore.indexKeySQL(column: "data", path: index.paths[0])
            let (hintSQL, hintArguments) = SQLiteReadingStore.indexedHintClauses(hints, key: key)
            let arm = "SELECT \(selectList) FROM \(table(source)) INDEXED BY \(physical) WHERE \(query.sql)"
            sql = """
                SELECT * FROM (\(arm) AND \(hintSQL) UNION ALL \(arm) AND \(key) = \(SQLiteBSONFunctions.indexKeySentinelSQL))
                ORDER BY time_received \(direction), id \(direction)
                """
            query.arguments = query.arguments + hintArguments + query.arguments
        } else {
            sql = """
                SELECT \(selectList) FROM \(table(source)) \(accessPath(source, filter: filter))
                WHERE \(query.sql) ORDER BY time_received \(direction), id \(direction)
                """
        }
        if let limit {
            sql += " LIMIT ?"
            query.arguments += [limit]
        }
        return (sql, query.arguments)
    }

    static func table(_ source: ReadingSource) -> String {
        switch source {
        case .standard: "readings"
        case .hotStorage: "hot_readings"
        }
    }
}
