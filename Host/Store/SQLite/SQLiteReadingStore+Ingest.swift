import FerryBSON
import FerryStore
import Foundation
import GRDB

extension SQLiteReadingStore {
    static let readingColumnList = """
        organization_id, location_id, robot_id, part_id, component_type, component_name, method_name, \
        time_requested, time_received, tags, additional_parameters, data
        """

    public func insert(_ readings: [Reading], idempotencyKey: IdempotencyKey?) async throws -> InsertResult {
        let organizations = Set(readings.map(\.organizationID))
        if let key = idempotencyKey { try StoreChecks.validate(key, count: readings.count, organizations: organizations) }
        if readings.isEmpty { return InsertResult(inserted: 0) }
        // Encoded before the write transaction, on all cores for a large batch.
        let parts = try await Slices.map(count: readings.count) { range in try readings[range].map(EncodedReading.init) }
        let rows = parts.count == 1 ? parts[0] : Array(parts.joined())
        let hotStorage = configuration.hotStorageHours != nil
        var result = try await write("storing \(readings.count) readings") { db in
            for organization in organizations { try Self.requireOrganization(db, organization) }
            return try Self.insert(rows, idempotencyKey: idempotencyKey, hotStorage: hotStorage, db)
        }
        logger.debug(
            "readings stored",
            metadata: ["received": "\(readings.count)", "inserted": "\(result.inserted)", "file": "\(idempotencyKey?.fileID ?? "-")"])
        result.bytes = rows.reduce(0) { $0 + $1.data.count + $1.additionalParameters.count }
        return result
    }

    /// Inserts the records not yet applied, copies recent ones to hot storage, and records the
    /// applied range, all in the caller's transaction.
    private static func insert(_ rows: [EncodedReading], idempotencyKey: IdempotencyKey?, hotStorage: Bool, _ db: Database)
        throws -> InsertResult
    {
        var applied = IngestRanges()
        if let key = idempotencyKey {
            applied = try loadRanges(db, organizationID: rows[0].reading.organizationID, fileID: key.fileID)
        }
        let hotCutoff = hotStorage ? try hotStorageCutoff(db) : nil
        let insertReading = try SQLiteRowInsert(
            db, sql: "INSERT INTO readings (\(readingColumnList)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
        let insertHot = try SQLiteRowInsert(
            db, sql: "INSERT INTO hot_readings (id, \(readingColumnList)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
        var inserted = 0
        var minutes: [String: Set<Int64>] = [:]
        // Readings arrive in time order, most of a minute at a time: hash only when the minute changes.
        var lastMinute: (organization: String, minute: Int64)?
        for offset in rows.indices {
            if let key = idempotencyKey, applied.contains(key.firstRecord + offset) { continue }
            try insertReading.insert(rows[offset])
            let (organization, received) = (rows[offset].reading.organizationID, rows[offset].reading.timeReceived)
            if let hotCutoff, received >= hotCutoff {
                try insertHot.insert(rows[offset], id: insertReading.lastInsertedRowID)
            }
            inserted += 1
            let minute = InvalidationRanges.minute(received)
            if lastMinute?.minute != minute || lastMinute?.organization != organization {
                minutes[organization, default: []].insert(minute)
                lastMinute = (organization, minute)
            }
        }
        if let key = idempotencyKey {
            applied.add(key.firstRecord..<key.lastRecord)
            try saveRanges(db, organizationID: rows[0].reading.organizationID, fileID: key.fileID, applied)
        }
        try PipelineInvalidationLog.recordReadings(db, minutes: minutes)
        return InsertResult(inserted: inserted)
    }

    private static func loadRanges(_ db: Database, organizationID: String, fileID: String) throws -> IngestRanges {
        let rows = try Row.fetchAll(
            db.cachedStatement(sql: "SELECT first_record, last_record FROM ingest_ranges WHERE organization_id = ? AND file_id = ?"),
            arguments: [organizationID, fileID])
        return IngestRanges(rows.map { (row: Row) -> Range<Int> in
            let first: Int = row[0]
            let last: Int = row[1]
            return first..<max(first, last)
        })
    }

    private static func saveRanges(_ db: Database, organizationID: String, fileID: String, _ ranges: IngestRanges) throws {
        try db.cachedStatement(sql: "DELETE FROM ingest_ranges WHERE organization_id = ? AND file_id = ?")
            .execute(arguments: [organizationID, fileID])
        let insert = try db.cachedStatement(
            sql: "INSERT INTO ingest_ranges (organization_id, file_id, first_record, last_record) VALUES (?, ?, ?, ?)")
        for range in ranges.ranges {
            try insert.execute(arguments: [organizationID, fileID, range.lowerBound, range.upperBound])
        }
    }
}
