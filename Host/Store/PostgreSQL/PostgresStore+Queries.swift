import FerryBSON
import FerryStore
import Foundation
import PostgresNIO

extension PostgresStore {
    public func fetchReadings(
        organizationID: String, source: ReadingSource, filter: ReadingFilter, descending: Bool, after cursor: ReadingCursor?,
        limit: Int?, fields: BSONFieldSet
    ) async throws -> (documents: [BSONDocument], cursors: [ReadingCursor]) {
        let fields = ReadingFields(fields)
        var filter = filter
        if source == .hotStorage {
            guard options.hotStorageHours != nil else { return ([], []) }
            let cutoff = try await rows(
                "reading the hot storage cutoff", "SELECT value FROM store_meta WHERE key = \(Self.hotCutoffKey)"
            ).first.flatMap { Int64(try $0.decode(String.self)) }
            if let cutoff { filter.timeReceived.atLeast(cutoff) }
        }
        let packing = PackedReadings(fields)
        let index = try await customIndex(organizationID: organizationID, filter: filter)
        let pageFilter = filter
        @Sendable func select(after: ReadingCursor?, rows: Int) -> PostgresQuery? {
            PostgresReadingQuery.select(
                columns: packing.selectList, organizationID: organizationID, filter: pageFilter, descending: descending, after: after,
                limit: rows, index: index)
        }
        return try await mapErrors("querying readings of organisation \(organizationID)") {
            var documents: [BSONDocument] = []
            var cursors: [ReadingCursor] = []
            // One page in flight while the one before it decodes here: the server builds a page
            // while this process decodes the last.
            try await withThrowingTaskGroup(of: PackedReadings.Page?.self) { group in
                var received = 0
                func request(after: ReadingCursor?, rows: Int) {
                    let rows = min(rows, limit.map { $0 - received } ?? rows)
                    group.addTask { try await self.packedPage(rows: rows) { select(after: after, rows: $0) } }
                }
                request(after: cursor, rows: PackedReadings.pageRows)
                while let next = try await group.next() {
                    guard let page = next else { break }
                    let (rows, last) = try PackedReadings.scan(page.bytes, descending: descending)
                    received += rows
                    if rows == page.rows, let last, limit.map({ received < $0 }) ?? true { request(after: last, rows: page.rows) }
                    try packing.decode(page.bytes, descending: descending, into: &documents, cursors: &cursors)
                }
            }
            return (documents, cursors)
        }
    }

    /// A page of at most `rows` readings (nil when `query` says none can match); fewer rows
    /// while the page's bytes pass the 1 GB a value can hold.
    private func packedPage(rows: Int, _ query: (Int) -> PostgresQuery?) async throws -> PackedReadings.Page? {
        var rows = rows
        while true {
            guard let select = query(rows) else { return nil }
            do {
                let bytes = try await client.query(PackedReadings.page(of: select), logger: logger).collect().first?
                    .decode(ByteBuffer?.self)
                return PackedReadings.Page(bytes: bytes, rows: rows)
            } catch let error as PSQLError where error.serverInfo?[.sqlState] == "54000" && rows > 1 {
                rows = max(1, rows / 16)
            }
        }
    }

    /// The organisation's custom index that serves some of the filter's data hints, if any.
    func customIndex(organizationID: String, filter: ReadingFilter) async throws -> (index: DataIndex, hints: [DataHint])? {
        guard !filter.dataHints.isEmpty else { return nil }
        return StoreChecks.indexedHints(filter.dataHints, indexes: try await indexes(organizationID: organizationID))
    }

    /// The plan PostgreSQL uses for the first page of `readings(...)` on the standard source with
    /// this filter (EXPLAIN's lines), so that tests and operators can check which index serves a query.
    public func queryPlan(organizationID: String, filter: ReadingFilter) async throws -> [String] {
        guard
            let select = PostgresReadingQuery.select(
                columns: PackedReadings(ReadingFields(.everything)).selectList, organizationID: organizationID, filter: filter,
                descending: false, after: nil, limit: PackedReadings.pageRows,
                index: try await customIndex(organizationID: organizationID, filter: filter))
        else { return [] }
        var query = PackedReadings.page(of: select)
        query.sql = "EXPLAIN " + query.sql
        return try await rows("explaining a readings query", query).map { try $0.decode(String.self) }
    }

    /// A `bytea` cell holding a BSON document.
    static func bson(_ cell: PostgresCell, row: Int64) throws -> BSONDocument {
        guard let buffer = cell.bytes else { return BSONDocument() }
        return try buffer.withUnsafeReadableBytes { try bson($0, column: cell.columnName, row: row, selecting: .everything) }
    }

    /// BSON bytes of `column` in stored row `row`, only `fields` decoded.
    static func bson(_ bytes: UnsafeRawBufferPointer, column: String, row: Int64, selecting fields: BSONFieldSet) throws -> BSONDocument {
        do {
            return try BSONDocument(bytes: bytes, selecting: fields)
        } catch {
            throw StoreError(.storage, "stored row \(row) has a corrupt BSON column \(column): \(error)")
        }
    }

    /// A `jsonb` cell holding a JSON array of strings (binary jsonb: a version byte, then the text).
    static func tags(_ cell: PostgresCell) throws -> [BSON] {
        guard var buffer = cell.bytes else { return [] }
        if cell.format == .binary, cell.dataType == .jsonb { buffer.moveReaderIndex(forwardBy: 1) }
        return try tags(json: buffer.readString(length: buffer.readableBytes) ?? "[]")
    }

    /// Tags stored as a JSON array of strings.
    static func tags(json text: String) throws -> [BSON] {
        if text == "[]" { return [] }
        guard case .array(let values) = try BSON(extendedJSON: text) else {
            throw StoreError(.storage, "stored tags are not a JSON array: \(text.prefix(80))")
        }
        return values
    }
}

/// The `WHERE` of a readings query under a `ReadingFilter`, shaped for the
/// `(organization_id, component_name | robot_id, time_received)` indexes and for partition pruning.
enum PostgresReadingQuery {
    static func select(
        columns: String, organizationID: String, filter: ReadingFilter, descending: Bool, after cursor: ReadingCursor?,
        limit: Int?, index: (index: DataIndex, hints: [DataHint])? = nil
    ) -> PostgresQuery? {
        if limit == 0 { return nil }
        var binds = PostgresBindings()
        func bind<T: PostgresEncodable>(_ value: T) -> String {
            try! binds.append(value)  // the store's own value types always encode
            return "$\(binds.count)"
        }
        guard var clauses = conditions(organizationID: organizationID, filter: filter, binds: &binds) else { return nil }
        if let cursor {
            let op = descending ? "<" : ">"
            clauses.append("(time_received, id) \(op) (\(bind(PGTime(cursor.timeReceived))), \(bind(cursor.id)))")
        }
        let direction = descending ? "DESC" : "ASC"
        var sql: String
        if let (index, hints) = index {
            // Through the custom index: rows whose key meets the hints, and those keyed with the
            // sentinel (disjoint sets; both arms reuse the same parameters).
            let key = PostgresStore.indexKeySQL(column: "data", path: index.paths[0])
            let arm = "SELECT \(columns) FROM readings WHERE \(clauses.joined(separator: " AND "))"
            let hintSQL = PostgresStore.indexedHintClauses(hints, key: key) { bind($0) }
            sql = """
                SELECT * FROM (\(arm) AND \(hintSQL) UNION ALL \(arm) AND \(key) = \(PostgresStore.indexKeySentinelSQL)) AS indexed \
                ORDER BY time_received \(direction), id \(direction)
                """
        } else {
            sql = "SELECT \(columns) FROM readings WHERE \(clauses.joined(separator: " AND ")) ORDER BY time_received \(direction), id \(direction)"
        }
        if let limit { sql += " LIMIT \(bind(Int64(limit)))" }
        return PostgresQuery(unsafeSQL: sql, binds: binds)
    }

    /// The `WHERE` clauses of the organisation's rows under `filter`, their values appended to
    /// `binds`; nil when none can match.
    static func conditions(organizationID: String, filter: ReadingFilter, binds: inout PostgresBindings) -> [String]? {
        if filter.matchesNothing { return nil }
        if let organizations = filter.allowed[.organizationID], !organizations.contains(organizationID) { return nil }
        func bind<T: PostgresEncodable>(_ value: T) -> String {
            try! binds.append(value)  // the store's own value types always encode
            return "$\(binds.count)"
        }
        var clauses = ["organization_id = \(bind(organizationID))"]
        for column in ReadingFilter.Column.allCases where column != .organizationID {
            guard let values = filter.allowed[column] else { continue }
            let sorted = values.sorted()
            clauses.append(sorted.count == 1 ? "\(column.rawValue) = \(bind(sorted[0]))" : "\(column.rawValue) = ANY(\(bind(sorted)))")
        }
        for (name, bounds) in [("time_requested", filter.timeRequested), ("time_received", filter.timeReceived)] {
            // Bounds outside what a reading can hold are no bound at all.
            if let lower = bounds.lower, lower > PGTime.earliest {
                if lower > PGTime.latest { return nil }
                clauses.append("\(name) >= \(bind(PGTime(lower)))")
            }
            if let upper = bounds.upper, upper < PGTime.latest {
                if upper < PGTime.earliest { return nil }
                clauses.append("\(name) <= \(bind(PGTime(upper)))")
            }
        }
        if let tags = filter.anyTag { clauses.append("tags ?| \(bind(tags.sorted()))::text[]") }
        return clauses
    }
}
