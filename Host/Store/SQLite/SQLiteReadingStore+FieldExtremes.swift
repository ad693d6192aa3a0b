import FerryStore
import GRDB

extension SQLiteReadingStore {
    /// Two index seeks find the span; then one pass reads the matching rows through the same index
    /// a readings page uses and folds each number into its bucket, in a single reader snapshot.
    /// Not a SQL `GROUP BY`: over a computed bucket SQLite sorts every row in a temporary B-tree
    /// first, and its bare columns give the time of only one `min()` or `max()` per query, so the
    /// two extremes with their times would take two sorted passes (see Benchmarks/README.md).
    public func fieldExtremes(organizationID: String, filter: ReadingFilter, path: [String], buckets: Int) async throws -> FieldExtremes {
        try FieldExtremes.validate(path: path, buckets: buckets)
        return try await read("charting a field of the readings of organisation \(organizationID)") { db in
            guard let query = ReadingQuery(organizationID: organizationID, filter: filter) else { return .none }
            let from = "FROM readings \(ReadingQuery.accessPath(.standard, filter: filter)) WHERE \(query.sql)"
            guard
                let first = try Int64.fetchOne(
                    db.cachedStatement(sql: "SELECT time_received \(from) ORDER BY time_received ASC LIMIT 1"), arguments: query.arguments),
                let last = try Int64.fetchOne(
                    db.cachedStatement(sql: "SELECT time_received \(from) ORDER BY time_received DESC LIMIT 1"), arguments: query.arguments)
            else { return .none }
            var accumulator = FieldExtremesAccumulator(span: first...last, buckets: buckets)
            let lookup = BSONPathNumber(path)
            let rows = try Row.fetchCursor(db.cachedStatement(sql: "SELECT component_name, time_received, data \(from)"), arguments: query.arguments)
            while let row = try rows.next() {
                let number = try row.withUnsafeData(atIndex: 2) { data in
                    try data.map { try $0.withUnsafeBytes { try lookup.number(in: $0) } } ?? nil
                }
                guard let number else { continue }
                accumulator.add(component: row[0], time: row[1], value: number)
            }
            return accumulator.result(span: first...last)
        }
    }

    /// The plans of `fieldExtremes`' statements (EXPLAIN QUERY PLAN details), so that tests can check
    /// that a chart reads through an index and sorts nothing.
    public func fieldExtremesPlan(organizationID: String, filter: ReadingFilter) async throws -> [String] {
        try await read("explaining a chart query") { db in
            guard let query = ReadingQuery(organizationID: organizationID, filter: filter) else { return [] }
            let from = "FROM readings \(ReadingQuery.accessPath(.standard, filter: filter)) WHERE \(query.sql)"
            var details: [String] = []
            for sql in ["SELECT time_received \(from) ORDER BY time_received ASC LIMIT 1", "SELECT component_name, time_received, data \(from)"] {
                details += try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql, arguments: query.arguments).map { $0["detail"] }
            }
            return details
        }
    }
}
