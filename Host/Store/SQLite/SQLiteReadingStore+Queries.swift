import FerryBSON
import FerryStore
import GRDB

extension SQLiteReadingStore {
    public func fetchReadings(
        organizationID: String, source: ReadingSource, filter: ReadingFilter, descending: Bool, after cursor: ReadingCursor?,
        limit: Int?, fields: BSONFieldSet
    ) async throws -> (documents: [BSONDocument], cursors: [ReadingCursor]) {
        let fields = ReadingFields(fields)
        if source == .hotStorage { await makePendingHotCopiesBeforeReading() }
        return try await read("querying readings of organisation \(organizationID)") { db in
            guard
                let (sql, arguments) = ReadingQuery.select(
                    organizationID: organizationID, source: source, filter: filter, descending: descending, after: cursor,
                    limit: limit, index: try Self.customIndex(db, organizationID: organizationID, filter: filter), fields: fields)
            else { return ([], []) }
            var documents: [BSONDocument] = []
            var cursors: [ReadingCursor] = []
            let statement = try db.cachedStatement(sql: sql)
            let rows = try Row.fetchCursor(statement, arguments: arguments)
            let row = StatementColumns(statement: statement.sqliteStatement)
            while try rows.next() != nil {
                documents.append(try ReadingDecoding.document(row, fields: fields))
                cursors.append(ReadingCursor(timeReceived: row.int64(8), id: row.int64(Int32(ReadingDecoding.idIndex))))
            }
            return (documents, cursors)
        }
    }

    /// The plan SQLite uses for `readings(...)` with this filter (EXPLAIN QUERY PLAN details),
    /// so that tests and operators can check which index serves a query.
    public func queryPlan(organizationID: String, source: ReadingSource, filter: ReadingFilter) async throws -> [String] {
        return try await read("explaining a readings query") { db in
            guard
                let (sql, arguments) = ReadingQuery.select(
                    organizationID: organizationID, source: source, filter: filter, descending: false, after: nil, limit: nil,
                    index: try Self.customIndex(db, organizationID: organizationID, filter: filter))
            else { return [] }
            return try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql, arguments: arguments).map { $0["detail"] }
        }
    }

    /// The organisation's custom index that serves some of the filter's data hints, if any. SQLite
    /// has no statistics to weigh it against the time index, so a `time_received` range bounded on
    /// both sides (a pipeline's window, say) keeps the time index: it bounds the rows read however
    /// many of the organisation's readings match the hints.
    static func customIndex(_ db: Database, organizationID: String, filter: ReadingFilter) throws -> (index: DataIndex, hints: [DataHint])? {
        guard !filter.dataHints.isEmpty, filter.timeReceived.lower == nil || filter.timeReceived.upper == nil else { return nil }
        return StoreChecks.indexedHints(filter.dataHints, indexes: try indexes(db, organizationID: organizationID))
    }
}
