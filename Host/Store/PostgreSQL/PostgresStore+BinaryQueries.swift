import FerryStore
import Foundation
import PostgresNIO

/// Browsing, tagging and deleting binary data. Each change is one statement, so it is atomic and
/// counts exactly the rows it changed, however many replicas run it at once. Ids sort with
/// `COLLATE "C"` (byte order), as SQLite sorts them, so both backends page alike.
extension PostgresStore {
    public func binaryPage(
        organizationID: String, filter: BinaryFilter, descending: Bool, after cursor: BinaryCursor?, limit: Int
    ) async throws -> BinaryPage {
        try StoreChecks.validate(pageSize: limit)
        try StoreChecks.validate(filter: filter)
        guard var query = BinaryCondition(organizationID: organizationID, filter: filter) else { return BinaryPage(records: [], next: nil) }
        if let cursor {
            let op = descending ? "<" : ">"
            query.clauses.append("(time_requested, id COLLATE \"C\") \(op) (\(query.bind(cursor.timeRequested)), \(query.bind(cursor.id)))")
        }
        let direction = descending ? "DESC" : "ASC"
        // One extra row tells whether another page follows without a second query.
        let sql = """
            SELECT \(Self.binaryColumns) FROM binary_data WHERE \(query.sql)
            ORDER BY time_requested \(direction), id COLLATE "C" \(direction) LIMIT \(query.bind(Int64(limit) + 1))
            """
        let records = try await rows("browsing binary data of organisation \(organizationID)", query.query(sql)).map(Self.binaryRecord)
        guard records.count > limit else { return BinaryPage(records: records, next: nil) }
        let page = Array(records.prefix(limit))
        let last = page[page.count - 1]
        return BinaryPage(records: page, next: BinaryCursor(timeRequested: last.metadata.timeRequested, id: last.id))
    }

    public func binaryCount(organizationID: String, filter: BinaryFilter) async throws -> (count: Int, totalBytes: Int64) {
        try StoreChecks.validate(filter: filter)
        guard let query = BinaryCondition(organizationID: organizationID, filter: filter) else { return (0, 0) }
        let sql = "SELECT COUNT(*), COALESCE(SUM(size), 0)::bigint FROM binary_data WHERE \(query.sql)"
        guard let row = try await rows("counting binary data of organisation \(organizationID)", query.query(sql)).first else { return (0, 0) }
        let (count, total) = try row.decode((Int64, Int64).self)
        return (Int(count), total)
    }

    public func binaries(organizationID: String, ids: [String]) async throws -> [BinaryRecord] {
        try StoreChecks.validate(ids: ids)
        let query = BinaryCondition(organizationID: organizationID, ids: ids)
        let sql = "SELECT \(Self.binaryColumns) FROM binary_data WHERE \(query.sql)"
        let found = try await rows("looking up binary data by id", query.query(sql)).map(Self.binaryRecord)
        return BinaryIDs.inRequestOrder(found, ids: ids)
    }

    public func addBinaryTags(_ tags: [String], organizationID: String, ids: [String]) async throws -> Int {
        try StoreChecks.validate(tags: tags)
        try StoreChecks.validate(ids: ids)
        return try await addTags(tags, BinaryCondition(organizationID: organizationID, ids: ids))
    }

    public func addBinaryTags(_ tags: [String], organizationID: String, filter: BinaryFilter) async throws -> Int {
        try StoreChecks.validate(tags: tags)
        try StoreChecks.validate(filter: filter)
        return try await addTags(tags, BinaryCondition(organizationID: organizationID, filter: filter))
    }

    public func removeBinaryTags(_ tags: [String], organizationID: String, ids: [String]) async throws -> Int {
        try StoreChecks.validate(tags: tags)
        try StoreChecks.validate(ids: ids)
        return try await removeTags(tags, BinaryCondition(organizationID: organizationID, ids: ids))
    }

    public func removeBinaryTags(_ tags: [String], organizationID: String, filter: BinaryFilter) async throws -> Int {
        try StoreChecks.validate(tags: tags)
        try StoreChecks.validate(filter: filter)
        return try await removeTags(tags, BinaryCondition(organizationID: organizationID, filter: filter))
    }

    public func binaryTags(organizationID: String, filter: BinaryFilter) async throws -> [String] {
        try StoreChecks.validate(filter: filter)
        guard let query = BinaryCondition(organizationID: organizationID, filter: filter) else { return [] }
        let sql = "SELECT DISTINCT t FROM binary_data, jsonb_array_elements_text(tags) AS t WHERE \(query.sql)"
        // Sorted here, not by the database's collation, so both backends list tags alike.
        return try await rows("listing tags of binary data", query.query(sql)).map { try $0.decode(String.self) }.sorted()
    }

    /// A payload's bounding boxes as a jsonb array (annotations are relaxed Extended JSON text).
    static let boundingBoxes = "COALESCE(binary_data.annotations::jsonb -> 'bboxes', '[]'::jsonb)"

    public func boundingBoxLabels(organizationID: String, filter: BinaryFilter) async throws -> [String] {
        try StoreChecks.validate(filter: filter)
        guard let query = BinaryCondition(organizationID: organizationID, filter: filter) else { return [] }
        let sql = """
            SELECT DISTINCT b ->> 'label' FROM binary_data, jsonb_array_elements(\(Self.boundingBoxes)) AS b
            WHERE \(query.sql) AND jsonb_typeof(b -> 'label') = 'string'
            """
        // Sorted here, not by the database's collation, so both backends list labels alike.
        return try await rows("listing bounding box labels of binary data", query.query(sql)).map { try $0.decode(String.self) }.sorted()
    }

    public func deleteBinaries(organizationID: String, ids: [String]) async throws -> Int {
        try StoreChecks.validate(ids: ids)
        return try await deleteBinaries(BinaryCondition(organizationID: organizationID, ids: ids))
    }

    public func deleteBinaries(organizationID: String, filter: BinaryFilter) async throws -> Int {
        try StoreChecks.validate(filter: filter)
        return try await deleteBinaries(BinaryCondition(organizationID: organizationID, filter: filter))
    }

    public func deleteReadings(organizationID: String, capturedBefore: Int64?) async throws -> Int {
        var query = BinaryCondition(clauses: [], binds: PostgresBindings())
        query.clauses.append("organization_id = \(query.bind(organizationID))")
        if let capturedBefore {
            // Before the earliest storable time nothing is older; after the latest everything is.
            if capturedBefore <= PGTime.earliest { return 0 }
            if capturedBefore <= PGTime.latest { query.clauses.append("time_requested < \(query.bind(PGTime(capturedBefore)))") }
        }
        return try await deleteReadings(query, what: "deleting readings of organisation \(organizationID)")
    }

    /// Deletes the readings `query` selects; its first binding must be their organisation's id
    /// (and its first clause restrict to it). Returns how many were deleted.
    func deleteReadings(_ query: BinaryCondition, what: String) async throws -> Int {
        let org = "$1"
        // Pipelines with backfill re-run the windows that lose readings, as they do for late data:
        // the deleted minutes (of time received) go to the invalidation log, as `ferry_ingest` logs them.
        let sql = """
            WITH deleted AS (
                DELETE FROM readings WHERE \(query.sql) RETURNING time_received
            ), minutes AS (
                SELECT DISTINCT floor(extract(epoch FROM time_received AT TIME ZONE 'UTC') / 60)::bigint AS minute FROM deleted
            ), islands AS (
                SELECT min(minute) AS first_minute, max(minute) + 1 AS end_minute FROM (
                    SELECT minute, minute - dense_rank() OVER (ORDER BY minute) AS island FROM minutes) g
                GROUP BY island
            ), logged AS (
                SELECT ferry_log_invalidation(\(org), 'readings', first_minute * 60000, end_minute * 60000)
                FROM (SELECT * FROM islands ORDER BY first_minute) ordered
                WHERE ferry_log_wanted(\(org), 'readings')
            ), forgotten AS (
                -- Charts' hours of the deleted readings are out of date.
                SELECT ferry_chart_forget(array_agg(\(org)::text), array_agg(time_received)) FROM deleted
            )
            SELECT (SELECT count(*) FROM deleted), (SELECT count(*) FROM logged) + (SELECT count(*) FROM forgotten) * 0
            """
        guard let row = try await rows(what, query.query(sql)).first else { return 0 }
        return Int(try row.decode((Int64, Int64).self).0)
    }

    // MARK: Statements

    /// `existing || the tags it lacks, in order`, on rows lacking at least one of them.
    private func addTags(_ tags: [String], _ condition: BinaryCondition?) async throws -> Int {
        guard var query = condition else { return 0 }
        let wanted = query.bind(BinaryTags.adding(tags, to: []))
        query.clauses.append("NOT (tags @> to_jsonb(\(wanted)::text[]))")
        let sql = """
            UPDATE binary_data SET tags = tags || COALESCE(
                (SELECT jsonb_agg(u.t ORDER BY u.n) FROM unnest(\(wanted)::text[]) WITH ORDINALITY AS u(t, n) WHERE NOT binary_data.tags ? u.t),
                '[]'::jsonb)
            WHERE \(query.sql) RETURNING 1
            """
        return try await count("tagging binary data", query, sql)
    }

    /// `existing` without `tags`, on rows holding at least one of them.
    private func removeTags(_ tags: [String], _ condition: BinaryCondition?) async throws -> Int {
        guard var query = condition else { return 0 }
        let removed = query.bind(tags)
        query.clauses.append("tags ?| \(removed)::text[]")
        let sql = """
            UPDATE binary_data SET tags = COALESCE(
                (SELECT jsonb_agg(e.v ORDER BY e.n) FROM jsonb_array_elements(binary_data.tags) WITH ORDINALITY AS e(v, n)
                 WHERE NOT ((e.v #>> '{}') = ANY(\(removed)::text[]))),
                '[]'::jsonb)
            WHERE \(query.sql) RETURNING 1
            """
        return try await count("untagging binary data", query, sql)
    }

    func deleteBinaries(_ condition: BinaryCondition?) async throws -> Int {
        guard let query = condition else { return 0 }
        return try await count("deleting binary data", query, "DELETE FROM binary_data WHERE \(query.sql) RETURNING 1")
    }

    /// Runs a data-changing statement `... RETURNING 1` and counts the rows it changed.
    private func count(_ what: String, _ query: BinaryCondition, _ statement: String) async throws -> Int {
        let sql = "WITH changed AS (\(statement)) SELECT COUNT(*) FROM changed"
        guard let row = try await rows(what, query.query(sql)).first else { return 0 }
        return Int(try row.decode(Int64.self))
    }
}

/// The `WHERE` of an organisation's payloads, with its bindings.
struct BinaryCondition {
    var clauses: [String]
    var binds: PostgresBindings

    mutating func bind<T: PostgresEncodable>(_ value: T) -> String {
        try! binds.append(value)  // the store's own value types always encode
        return "$\(binds.count)"
    }

    var sql: String { clauses.joined(separator: " AND ") }

    func query(_ sql: String) -> PostgresQuery { PostgresQuery(unsafeSQL: sql, binds: binds) }

    init(clauses: [String], binds: PostgresBindings) {
        self.clauses = clauses
        self.binds = binds
    }

    init(organizationID: String, ids: [String]) {
        self.init(clauses: [], binds: PostgresBindings())
        clauses.append("organization_id = \(bind(organizationID))")
        clauses.append("id = ANY(\(bind(ids)))")
    }

    /// Nil when `filter` cannot match any of the organisation's payloads.
    init?(organizationID: String, filter: BinaryFilter) {
        guard filter.admits(organizationID: organizationID) else { return nil }
        self.init(clauses: [], binds: PostgresBindings())
        clauses.append("organization_id = \(bind(organizationID))")
        for column in ReadingFilter.Column.allCases where column != .organizationID {
            guard let values = filter.columns.allowed[column] else { continue }
            let sorted = values.sorted()
            clauses.append(sorted.count == 1 ? "\(column.rawValue) = \(bind(sorted[0]))" : "\(column.rawValue) = ANY(\(bind(sorted)))")
        }
        for (name, bounds) in [("time_requested", filter.columns.timeRequested), ("time_received", filter.columns.timeReceived)] {
            if let lower = bounds.lower { clauses.append("\(name) >= \(bind(lower))") }
            if let upper = bounds.upper { clauses.append("\(name) <= \(bind(upper))") }
        }
        if let tags = filter.columns.anyTag { clauses.append("tags ?| \(bind(tags.sorted()))::text[]") }
        if let mimeTypes = filter.mimeTypes { clauses.append("mime_type = ANY(\(bind(mimeTypes.sorted())))") }
        switch filter.tags {
        case .any: break
        case .matchAny(let tags): clauses.append("tags ?| \(bind(tags.sorted()))::text[]")
        case .tagged: clauses.append("tags <> '[]'::jsonb")
        case .untagged: clauses.append("tags = '[]'::jsonb")
        }
        if let labels = filter.boundingBoxLabels {
            clauses.append(
                "EXISTS (SELECT 1 FROM jsonb_array_elements(\(PostgresStore.boundingBoxes)) AS b WHERE b ->> 'label' = ANY(\(bind(labels.sorted()))))")
        }
        if let datasetID = filter.datasetID {
            clauses.append("id IN (SELECT binary_id FROM dataset_members WHERE dataset_id = \(bind(datasetID)))")
        }
    }
}
