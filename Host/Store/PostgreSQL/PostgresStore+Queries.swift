import FerryBSON
import FerryStore
import Foundation
import PostgresNIO

extension PostgresStore {
    static let readingColumns = """
        organization_id, location_id, robot_id, part_id, component_type, component_name, method_name, \
        time_requested, time_received, tags, additional_parameters_bson, data_bson, id
        """

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
        guard
            let query = PostgresReadingQuery.select(
                columns: Self.readingColumns(fields), organizationID: organizationID, filter: filter, descending: descending,
                after: cursor, limit: limit, index: try await customIndex(organizationID: organizationID, filter: filter))
        else { return ([], []) }
        return try await mapErrors("querying readings of organisation \(organizationID)") {
            var documents: [BSONDocument] = []
            var cursors: [ReadingCursor] = []
            for try await row in try await client.query(query, logger: logger) {
                let (document, cursor) = try Self.reading(row, fields: fields)
                documents.append(document)
                cursors.append(cursor)
            }
            return (documents, cursors)
        }
    }

    /// `readingColumns` with `NULL` in place of the columns `fields` does not need (so their bytes
    /// never cross the wire and every index stays where `reading` expects it); `time_received`
    /// and `id` are always read, for paging.
    static func readingColumns(_ fields: ReadingFields) -> String {
        if fields.isEverything { return readingColumns }
        let columns = ReadingFields.names.enumerated().map { index, name in
            switch index {
            case 8: name
            case _ where !fields.needs(index): "NULL"
            case 10: "additional_parameters_bson"
            case 11: "data_bson"
            default: name
            }
        }
        return (columns + ["id"]).joined(separator: ", ")
    }

    /// The document of `fields` only (what `MQLDependencies` says the stages read): the other
    /// fields are left out, and `data`/`additional_parameters` decode only the paths asked for.
    static func reading(_ row: PostgresRow, fields: ReadingFields) throws -> (BSONDocument, ReadingCursor) {
        if fields.isEverything { return try reading(row) }
        let cells = row.makeRandomAccess()
        var document = BSONDocument()
        document.elements.reserveCapacity(fields.count)
        for index in 0..<7 where fields.needs(index) {
            document.elements.append(BSONElement(ReadingFields.names[index], .string(try cells[index].decode(String.self))))
        }
        let received = try cells[8].decode(PGTime.self).ms
        if fields.needs(7) { document.elements.append(BSONElement("time_requested", .datetime(try cells[7].decode(PGTime.self).ms))) }
        if fields.needs(8) { document.elements.append(BSONElement("time_received", .datetime(received))) }
        if fields.needs(9) { document.elements.append(BSONElement("tags", .array(try tags(cells[9])))) }
        let id = try cells[12].decode(Int64.self)
        if let wanted = fields.wanted[10] {
            document.elements.append(BSONElement("additional_parameters", .document(try bson(cells[10], row: id, selecting: wanted))))
        }
        if let wanted = fields.wanted[11] {
            document.elements.append(BSONElement("data", .document(try bson(cells[11], row: id, selecting: wanted))))
        }
        return (document, ReadingCursor(timeReceived: received, id: id))
    }

    /// The organisation's custom index that serves some of the filter's data hints, if any.
    func customIndex(organizationID: String, filter: ReadingFilter) async throws -> (index: DataIndex, hints: [DataHint])? {
        guard !filter.dataHints.isEmpty else { return nil }
        return StoreChecks.indexedHints(filter.dataHints, indexes: try await indexes(organizationID: organizationID))
    }

    /// The plan PostgreSQL uses for `readings(...)` on the standard source with this filter
    /// (EXPLAIN's lines), so that tests and operators can check which index serves a query.
    public func queryPlan(organizationID: String, filter: ReadingFilter) async throws -> [String] {
        guard
            var query = PostgresReadingQuery.select(
                columns: Self.readingColumns, organizationID: organizationID, filter: filter, descending: false, after: nil,
                limit: nil, index: try await customIndex(organizationID: organizationID, filter: filter))
        else { return [] }
        query.sql = "EXPLAIN " + query.sql
        return try await rows("explaining a readings query", query).map { try $0.decode(String.self) }
    }

    /// A stored row as the document MQL sees (Viam's columns as fields), and its paging cursor.
    static func reading(_ row: PostgresRow) throws -> (BSONDocument, ReadingCursor) {
        let cells = row.makeRandomAccess()
        var document = BSONDocument()
        document.elements.reserveCapacity(12)
        for (index, column) in ReadingFilter.Column.allCases.enumerated() {
            document.elements.append(BSONElement(column.rawValue, .string(try cells[index].decode(String.self))))
        }
        let received = try cells[8].decode(PGTime.self).ms
        document.elements.append(BSONElement("time_requested", .datetime(try cells[7].decode(PGTime.self).ms)))
        document.elements.append(BSONElement("time_received", .datetime(received)))
        document.elements.append(BSONElement("tags", .array(try tags(cells[9]))))
        let id = try cells[12].decode(Int64.self)
        document.elements.append(BSONElement("additional_parameters", .document(try bson(cells[10], row: id))))
        document.elements.append(BSONElement("data", .document(try bson(cells[11], row: id))))
        return (document, ReadingCursor(timeReceived: received, id: id))
    }

    /// A `bytea` cell holding a BSON document.
    static func bson(_ cell: PostgresCell, row: Int64, selecting fields: BSONFieldSet = .everything) throws -> BSONDocument {
        guard let buffer = cell.bytes else { return BSONDocument() }
        do {
            return try buffer.withUnsafeReadableBytes { try BSONDocument(bytes: $0, selecting: fields) }
        } catch {
            throw StoreError(.storage, "stored row \(row) has a corrupt BSON column \(cell.columnName): \(error)")
        }
    }

    /// A `jsonb` cell holding a JSON array of strings (binary jsonb: a version byte, then the text).
    static func tags(_ cell: PostgresCell) throws -> [BSON] {
        guard var buffer = cell.bytes else { return [] }
        if cell.format == .binary, cell.dataType == .jsonb { buffer.moveReaderIndex(forwardBy: 1) }
        let text = buffer.readString(length: buffer.readableBytes) ?? "[]"
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
