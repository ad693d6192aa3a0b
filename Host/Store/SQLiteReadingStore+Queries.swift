import FerryBSON
import GRDB

extension SQLiteReadingStore {
    public func readings(
        organizationID: String, source: ReadingSource, filter: ReadingFilter, sortByTimeDescending: Bool, limit: Int?
    ) async throws -> [BSONDocument] {
        if let limit, limit < 0 { throw StoreError.invalid("a query limit must not be negative (got \(limit))") }
        return try await fetch(
            organizationID: organizationID, source: source, filter: filter, descending: sortByTimeDescending, after: nil,
            limit: limit
        ).documents
    }

    public func readingsPage(
        organizationID: String, source: ReadingSource, filter: ReadingFilter, sortByTimeDescending: Bool,
        after cursor: ReadingCursor?, limit: Int
    ) async throws -> ReadingPage {
        guard limit > 0 else { throw StoreError.invalid("a page size must be positive (got \(limit))") }
        let page = try await fetch(
            organizationID: organizationID, source: source, filter: filter, descending: sortByTimeDescending,
            after: cursor, limit: limit + 1)
        // One extra row tells whether another page follows without a second query.
        guard page.documents.count > limit, let last = page.cursors.dropLast().last else {
            return ReadingPage(documents: page.documents, next: nil)
        }
        return ReadingPage(documents: Array(page.documents.prefix(limit)), next: last)
    }

    private func fetch(
        organizationID: String, source: ReadingSource, filter: ReadingFilter, descending: Bool, after cursor: ReadingCursor?,
        limit: Int?
    ) async throws -> (documents: [BSONDocument], cursors: [ReadingCursor]) {
        guard var query = ReadingQuery(organizationID: organizationID, filter: filter), limit != 0 else { return ([], []) }
        if let cursor {
            query.sql += descending ? " AND (time_received, id) < (?, ?)" : " AND (time_received, id) > (?, ?)"
            query.arguments += [cursor.timeReceived, cursor.id]
        }
        let direction = descending ? "DESC" : "ASC"
        var sql = """
            SELECT \(ReadingDecoding.selectList) FROM \(ReadingQuery.table(source))
            WHERE \(query.sql) ORDER BY time_received \(direction), id \(direction)
            """
        if let limit {
            sql += " LIMIT ?"
            query.arguments += [limit]
        }
        let arguments = query.arguments
        return try await read("querying readings of organisation \(organizationID)") { db in
            var documents: [BSONDocument] = []
            var cursors: [ReadingCursor] = []
            let rows = try Row.fetchCursor(db.cachedStatement(sql: sql), arguments: arguments)
            while let row = try rows.next() {
                documents.append(try ReadingDecoding.document(row))
                cursors.append(ReadingCursor(timeReceived: row[8], id: row[ReadingDecoding.idIndex]))
            }
            return (documents, cursors)
        }
    }

    /// The query plan SQLite chooses for a filter (EXPLAIN QUERY PLAN details), so tests and
    /// operators can check that indexes are used.
    public func queryPlan(organizationID: String, source: ReadingSource, filter: ReadingFilter) async throws -> [String] {
        guard let query = ReadingQuery(organizationID: organizationID, filter: filter) else { return [] }
        let sql = """
            EXPLAIN QUERY PLAN SELECT \(ReadingDecoding.selectList) FROM \(ReadingQuery.table(source))
            WHERE \(query.sql) ORDER BY time_received, id
            """
        return try await read("explaining a readings query") { db in
            try Row.fetchAll(db, sql: sql, arguments: query.arguments).map { $0["detail"] }
        }
    }
}
