import FerryStore
import Foundation
import GRDB

/// Browsing, tagging and deleting binary data. Lists of values (ids, MIME types, tags) are bound
/// as one JSON array read with `json_each`, so a statement's text does not depend on their count.
extension SQLiteReadingStore {
    public func binaryPage(
        organizationID: String, filter: BinaryFilter, descending: Bool, after cursor: BinaryCursor?, limit: Int
    ) async throws -> BinaryPage {
        try StoreChecks.validate(pageSize: limit)
        try StoreChecks.validate(filter: filter)
        guard var query = Self.binaryWhere(organizationID: organizationID, filter: filter) else {
            return BinaryPage(records: [], next: nil)
        }
        if let cursor {
            query.sql += descending ? " AND (time_requested, id) < (?, ?)" : " AND (time_requested, id) > (?, ?)"
            query.arguments += [cursor.timeRequested, cursor.id]
        }
        let sql = Self.pageSelect(query.sql, descending: descending)
        // One extra row tells whether another page follows without a second query.
        let arguments = query.arguments + [limit + 1]
        let directory = dataDirectory
        let records = try await read("browsing binary data of organisation \(organizationID)") { db in
            try Row.fetchAll(db, sql: sql, arguments: arguments).map { try Self.binaryRecord($0, directory: directory) }
        }
        guard records.count > limit else { return BinaryPage(records: records, next: nil) }
        let page = Array(records.prefix(limit))
        let last = page[page.count - 1]
        return BinaryPage(records: page, next: BinaryCursor(timeRequested: last.metadata.timeRequested, id: last.id))
    }

    public func binaryCount(organizationID: String, filter: BinaryFilter) async throws -> (count: Int, totalBytes: Int64) {
        try StoreChecks.validate(filter: filter)
        guard let query = Self.binaryWhere(organizationID: organizationID, filter: filter) else { return (0, 0) }
        return try await read("counting binary data of organisation \(organizationID)") { db in
            let row = try Row.fetchOne(
                db, sql: "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM binary_data WHERE \(query.sql)", arguments: query.arguments)
            return (row?[0] ?? 0, row?[1] ?? 0)
        }
    }

    public func binaries(organizationID: String, ids: [String]) async throws -> [BinaryRecord] {
        try StoreChecks.validate(ids: ids)
        let query = Self.idsWhere(organizationID: organizationID, ids: ids)
        let directory = dataDirectory
        let found = try await read("looking up binary data by id") { db in
            try Row.fetchAll(db, sql: "SELECT \(Self.binarySelectList) FROM binary_data WHERE \(query.sql)", arguments: query.arguments)
                .map { try Self.binaryRecord($0, directory: directory) }
        }
        return BinaryIDs.inRequestOrder(found, ids: ids)
    }

    public func addBinaryTags(_ tags: [String], organizationID: String, ids: [String]) async throws -> Int {
        try StoreChecks.validate(tags: tags)
        try StoreChecks.validate(ids: ids)
        return try await retag("tagging binary data", Self.idsWhere(organizationID: organizationID, ids: ids)) { BinaryTags.adding(tags, to: $0) }
    }

    public func addBinaryTags(_ tags: [String], organizationID: String, filter: BinaryFilter) async throws -> Int {
        try StoreChecks.validate(tags: tags)
        try StoreChecks.validate(filter: filter)
        return try await retag("tagging binary data", Self.binaryWhere(organizationID: organizationID, filter: filter)) {
            BinaryTags.adding(tags, to: $0)
        }
    }

    public func removeBinaryTags(_ tags: [String], organizationID: String, ids: [String]) async throws -> Int {
        try StoreChecks.validate(tags: tags)
        try StoreChecks.validate(ids: ids)
        return try await retag("untagging binary data", Self.idsWhere(organizationID: organizationID, ids: ids)) {
            BinaryTags.removing(tags, from: $0)
        }
    }

    public func removeBinaryTags(_ tags: [String], organizationID: String, filter: BinaryFilter) async throws -> Int {
        try StoreChecks.validate(tags: tags)
        try StoreChecks.validate(filter: filter)
        return try await retag("untagging binary data", Self.binaryWhere(organizationID: organizationID, filter: filter)) {
            BinaryTags.removing(tags, from: $0)
        }
    }

    public func binaryTags(organizationID: String, filter: BinaryFilter) async throws -> [String] {
        try StoreChecks.validate(filter: filter)
        guard let query = Self.binaryWhere(organizationID: organizationID, filter: filter) else { return [] }
        return try await read("listing tags of binary data") { db in
            try String.fetchAll(
                db,
                sql: """
                    SELECT DISTINCT t.value FROM (SELECT tags FROM binary_data WHERE \(query.sql)) AS b, json_each(b.tags) AS t
                    ORDER BY t.value
                    """,
                arguments: query.arguments)
        }
    }

    public func boundingBoxLabels(organizationID: String, filter: BinaryFilter) async throws -> [String] {
        try StoreChecks.validate(filter: filter)
        guard let query = Self.binaryWhere(organizationID: organizationID, filter: filter) else { return [] }
        let labels = try await read("listing bounding box labels of binary data") { db in
            try String.fetchAll(
                db,
                sql: """
                    SELECT DISTINCT json_extract(b.value, '$.label') FROM (SELECT annotations FROM binary_data WHERE \(query.sql)) AS d,
                        json_each(d.annotations, '$.bboxes') AS b
                    WHERE json_type(b.value, '$.label') = 'text'
                    """,
                arguments: query.arguments)
        }
        return labels.sorted()
    }

    public func deleteBinaries(organizationID: String, ids: [String]) async throws -> Int {
        try StoreChecks.validate(ids: ids)
        return try await deleteBinaries(where: Self.idsWhere(organizationID: organizationID, ids: ids))
    }

    public func deleteBinaries(organizationID: String, filter: BinaryFilter) async throws -> Int {
        try StoreChecks.validate(filter: filter)
        return try await deleteBinaries(where: Self.binaryWhere(organizationID: organizationID, filter: filter))
    }

    public func deleteReadings(organizationID: String, capturedBefore: Int64?) async throws -> Int {
        var clause = "organization_id = ?"
        var arguments: StatementArguments = [organizationID]
        if let capturedBefore {
            clause += " AND time_requested < ?"
            arguments += [capturedBefore]
        }
        let sql = clause
        let bound = arguments
        return try await write("deleting readings of organisation \(organizationID)") { db in
            // Pipelines with backfill re-run the windows that lose readings, as they do for late data:
            // the minutes (of time received) of the deleted readings go to the invalidation log.
            let minutes = try Int64.fetchAll(
                db,
                sql: """
                    SELECT DISTINCT time_received / 60000 - (time_received < 0 AND time_received % 60000 <> 0)
                    FROM readings WHERE \(sql)
                    """,
                arguments: bound)
            try PipelineInvalidationLog.recordReadings(db, minutes: [organizationID: Set(minutes)])
            // Hot storage holds copies of the same readings: they go too.
            try db.execute(sql: "DELETE FROM hot_readings WHERE \(sql)", arguments: bound)
            try db.execute(sql: "DELETE FROM readings WHERE \(sql)", arguments: bound)
            return db.changesCount
        }
    }

    /// The plan of a page query, for the tests that it reads the capture-time index.
    public func binaryPageQueryPlan(organizationID: String, filter: BinaryFilter, descending: Bool) async throws -> [String] {
        guard let query = Self.binaryWhere(organizationID: organizationID, filter: filter) else { return [] }
        let sql = "EXPLAIN QUERY PLAN " + Self.pageSelect(query.sql, descending: descending)
        return try await read("explaining a binary data query") { db in
            try Row.fetchAll(db, sql: sql, arguments: query.arguments + [10]).map { $0["detail"] }
        }
    }

    /// A page's SELECT under `condition`, in `(time_requested, id)` order, its limit bound last.
    static func pageSelect(_ condition: String, descending: Bool) -> String {
        let direction = descending ? "DESC" : "ASC"
        return """
            SELECT \(binarySelectList) FROM binary_data WHERE \(condition)
            ORDER BY time_requested \(direction), id \(direction) LIMIT ?
            """
    }

    // MARK: Statements

    struct Condition: Sendable {
        var sql: String
        var arguments: StatementArguments
    }

    /// The `WHERE` of the organisation's payloads under `filter`; nil when none can match.
    static func binaryWhere(organizationID: String, filter: BinaryFilter) -> Condition? {
        guard filter.admits(organizationID: organizationID),
            let columns = ReadingQuery(organizationID: organizationID, filter: filter.columns)
        else { return nil }
        var condition = Condition(sql: columns.sql, arguments: columns.arguments)
        if let mimeTypes = filter.mimeTypes {
            condition.sql += " AND mime_type IN (SELECT value FROM json_each(?))"
            condition.arguments += [ReadingEncoding.tagsJSON(mimeTypes.sorted())]
        }
        switch filter.tags {
        case .any: break
        case .matchAny(let tags):
            condition.sql += " AND EXISTS (SELECT 1 FROM json_each(binary_data.tags) AS t WHERE t.value IN (SELECT value FROM json_each(?)))"
            condition.arguments += [ReadingEncoding.tagsJSON(tags.sorted())]
        // Stored tags are always written by `ReadingEncoding.tagsJSON`, which writes none as `[]`.
        case .tagged: condition.sql += " AND tags <> '[]'"
        case .untagged: condition.sql += " AND tags = '[]'"
        }
        if let labels = filter.boundingBoxLabels {
            condition.sql += """
                 AND EXISTS (SELECT 1 FROM json_each(binary_data.annotations, '$.bboxes') AS b
                    WHERE json_extract(b.value, '$.label') IN (SELECT value FROM json_each(?)))
                """
            condition.arguments += [ReadingEncoding.tagsJSON(labels.sorted())]
        }
        if let datasetID = filter.datasetID {
            condition.sql += " AND id IN (SELECT binary_id FROM dataset_members WHERE dataset_id = ?)"
            condition.arguments += [datasetID]
        }
        return condition
    }

    static func idsWhere(organizationID: String, ids: [String]) -> Condition {
        Condition(
            sql: "organization_id = ? AND id IN (SELECT value FROM json_each(?))",
            arguments: [organizationID, ReadingEncoding.tagsJSON(ids)])
    }

    /// Rewrites the tags of the payloads `condition` selects with `change`, in one transaction;
    /// returns how many payloads' tags changed.
    private func retag(_ what: String, _ condition: Condition?, change: @escaping @Sendable ([String]) -> [String]) async throws -> Int {
        guard let condition else { return 0 }
        return try await write(what) { db in
            let rows = try Row.fetchAll(db, sql: "SELECT id, tags FROM binary_data WHERE \(condition.sql)", arguments: condition.arguments)
            var changed = 0
            for row in rows {
                let old = try ReadingEncoding.tags(fromJSON: row[1]).compactMap(\.stringValue)
                let new = change(old)
                guard new != old else { continue }
                try db.execute(sql: "UPDATE binary_data SET tags = ? WHERE id = ?", arguments: [ReadingEncoding.tagsJSON(new), row[0] as String])
                changed += 1
            }
            return changed
        }
    }

    /// Deletes the rows, then their payload files. A file whose removal fails (or a crash between
    /// the two) is an orphan that `removeOrphanedBinaries` removes at the next start.
    private func deleteBinaries(where condition: Condition?) async throws -> Int {
        guard let condition else { return 0 }
        let paths = try await write("deleting binary data") { db in
            let paths = try String.fetchAll(db, sql: "SELECT path FROM binary_data WHERE \(condition.sql)", arguments: condition.arguments)
            try db.execute(sql: "DELETE FROM binary_data WHERE \(condition.sql)", arguments: condition.arguments)
            return paths
        }
        let directory = dataDirectory
        try await Offload.run {
            for path in paths { try? FileManager.default.removeItem(atPath: Self.absolute(path, in: directory)) }
        }
        return paths.count
    }
}
