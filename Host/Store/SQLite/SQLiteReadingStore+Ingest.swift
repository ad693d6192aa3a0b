import FerryBSON
import FerryStore
import Foundation
import GRDB
import Synchronization

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
        let result = try await write("storing \(readings.count) readings") { db in
            for organization in organizations { try Self.requireOrganization(db, organization) }
            var transaction = try IngestTransaction(
                db, organizationID: readings[0].organizationID, idempotencyKey: idempotencyKey, hotStorage: self.hotCopies)
            var offset = 0
            for rows in parts {
                try transaction.add(rows, at: offset)
                offset += rows.count
            }
            return try transaction.finish()
        }
        scheduleHotStorageCopy()
        logged(result, received: readings.count, idempotencyKey)
        return result
    }

    /// How many readings a worker makes and encodes at a time while the writer writes the slices
    /// before (a reading costs about as much to make and encode as to write): small, so the
    /// writer starts soon.
    static let pipelinedSlice = 100

    /// A lone batch's slices made and encoded on all cores while the write transaction writes the
    /// ones already made, instead of all of them first: its uploader waits for the longer of the
    /// two rather than their sum. Batches stored at once (several uploaders) are made first, as
    /// one's making then overlaps another's writing anyway, and a writer waiting for its slices
    /// while the cores make another's would hold the write lock for nothing.
    public func insert(_ batch: ReadingBatch, idempotencyKey: IdempotencyKey?) async throws -> InsertResult {
        if let key = idempotencyKey { try StoreChecks.validate(key, count: batch.count, organizations: [batch.organizationID]) }
        let others = batchesInFlight.add(1, ordering: .relaxed).oldValue
        defer { batchesInFlight.subtract(1, ordering: .relaxed) }
        guard others == 0, batch.count > 2 * Self.pipelinedSlice else {
            return try await insert(batch.readings(), idempotencyKey: idempotencyKey)
        }
        let slices = OrderedSlices(count: batch.count, sliceSize: Self.pipelinedSlice) { range in
            try batch.checked(batch.make(range)).map(EncodedReading.init)
        }
        let failure = Mutex<(any Error)?>(nil)
        let result: InsertResult
        do {
            result = try await write("storing \(batch.count) readings") { db in
                defer {
                    // A failure stops the slices not yet begun; none is still being made when this returns.
                    slices.abandon()
                    slices.waitForWorkers()
                }
                try Self.requireOrganization(db, batch.organizationID)
                var transaction = try IngestTransaction(
                    db, organizationID: batch.organizationID, idempotencyKey: idempotencyKey, hotStorage: self.hotCopies)
                for index in 0..<slices.count {
                    let (range, rows): (Range<Int>, [EncodedReading])
                    do {
                        (range, rows) = try slices.take(index)
                    } catch {
                        // Reported as made, not as a storage failure: the transaction rolls back.
                        failure.withLock { $0 = error }
                        throw error
                    }
                    try transaction.add(rows, at: range.lowerBound)
                }
                return try transaction.finish()
            }
        } catch {
            // The write may have failed before its body ran (the store closed, a busy timeout):
            // the slices not yet begun are not made for nothing then either.
            slices.abandon()
            if let made = failure.withLock({ $0 }) { throw made }
            throw error
        }
        scheduleHotStorageCopy()
        logged(result, received: batch.count, idempotencyKey)
        return result
    }

    private func logged(_ result: InsertResult, received: Int, _ idempotencyKey: IdempotencyKey?) {
        logger.debug(
            "readings stored",
            metadata: ["received": "\(received)", "inserted": "\(result.inserted)", "file": "\(idempotencyKey?.fileID ?? "-")"])
    }

    /// One batch's writes, in the caller's transaction: the records not yet applied, the applied
    /// range, the pipelines' invalidation log, and the ids hot storage is to copy once it commits.
    struct IngestTransaction {
        let db: Database
        let organizationID: String
        let idempotencyKey: IdempotencyKey?
        var applied = IngestRanges()
        let hotStorage: HotStorageCopies?
        let hotCutoff: Int64
        /// The first and last id of the readings stored for hot storage to copy.
        var hotIDs: (first: Int64, last: Int64)?
        let insertReading: SQLiteRowInsert
        var result = InsertResult(inserted: 0)
        var minutes: [String: Set<Int64>] = [:]
        /// Readings arrive in time order, most of a minute at a time: hash only when the minute changes.
        var lastMinute: (organization: String, minute: Int64)?

        init(_ db: Database, organizationID: String, idempotencyKey: IdempotencyKey?, hotStorage: HotStorageCopies?) throws {
            self.db = db
            self.organizationID = organizationID
            self.idempotencyKey = idempotencyKey
            self.hotStorage = hotStorage
            if let key = idempotencyKey { applied = try SQLiteReadingStore.loadRanges(db, organizationID: organizationID, fileID: key.fileID) }
            hotCutoff = hotStorage != nil ? try SQLiteReadingStore.hotStorageCutoff(db) : .max
            insertReading = try SQLiteRowInsert(
                db, sql: "INSERT INTO readings (\(readingColumnList)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
        }

        /// `rows`, the batch's readings from `offset` on.
        mutating func add(_ rows: [EncodedReading], at offset: Int) throws {
            for index in rows.indices {
                if let key = idempotencyKey, applied.contains(key.firstRecord + offset + index) { continue }
                try insertReading.insert(rows[index])
                let (organization, received) = (rows[index].reading.organizationID, rows[index].reading.timeReceived)
                if received >= hotCutoff {
                    let id = insertReading.lastInsertedRowID
                    hotIDs = (hotIDs?.first ?? id, id)
                }
                result.inserted += 1
                let minute = InvalidationRanges.minute(received)
                if lastMinute?.minute != minute || lastMinute?.organization != organization {
                    minutes[organization, default: []].insert(minute)
                    lastMinute = (organization, minute)
                }
            }
            result.bytes += rows.reduce(0) { $0 + $1.data.count + $1.additionalParameters.count }
        }

        mutating func finish() throws -> InsertResult {
            if let key = idempotencyKey {
                applied.add(key.firstRecord..<key.lastRecord)
                try SQLiteReadingStore.saveRanges(db, organizationID: organizationID, fileID: key.fileID, applied)
            }
            try PipelineInvalidationLog.recordReadings(db, minutes: minutes)
            if let hotStorage, let hotIDs { try hotStorage.pending(hotIDs.first...hotIDs.last, db) }
            return result
        }
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
