import FerryBSON
import FerryStore
import Foundation
import PostgresNIO

extension PostgresStore {
    /// One call of `ferry_ingest`: one round trip, one transaction, with the batch as arrays.
    public func insert(_ readings: [Reading], idempotencyKey: IdempotencyKey?) async throws -> InsertResult {
        let organizations = Set(readings.map(\.organizationID))
        if let key = idempotencyKey { try StoreChecks.validate(key, count: readings.count, organizations: organizations) }
        if readings.isEmpty { return InsertResult(inserted: 0) }
        let c = try await IngestColumns.of(readings)
        let key = idempotencyKey
        let org = readings[0].organizationID
        let first = Int64(key?.firstRecord ?? 0)
        let last = Int64(key?.lastRecord ?? 0)
        let stored = try await rows(
            "storing \(readings.count) readings",
            """
            SELECT ferry_ingest(\(org), \(key?.fileID), \(first), \(last), \(c.orgs), \(c.locations), \(c.robots), \(c.parts),
                \(c.types), \(c.components), \(c.methods), \(c.requested), \(c.received), \(c.tags), \(c.parameters), \(c.data),
                \(c.parametersBSON), \(c.dataBSON))
            """
        ).first.map { try $0.decode(Int64.self) } ?? 0
        logger.debug(
            "readings stored",
            metadata: ["received": "\(readings.count)", "inserted": "\(stored)", "file": "\(idempotencyKey?.fileID ?? "-")"])
        return InsertResult(inserted: Int(stored), bytes: c.bytes)
    }

    static let hotCutoffKey = "hot_storage_cutoff_ms"

    /// Hot storage on PostgreSQL is the readings received at or after the cutoff (recent partitions,
    /// no copy); a prune moves the cutoff forward and returns how many readings left the window.
    public func pruneHotStorage(now: Date) async throws -> Int {
        guard let hours = options.hotStorageHours else { return 0 }
        let cutoff = StoreChecks.hotStorageCutoff(now: now, hours: hours)
        let left = try await transaction("pruning hot storage") { connection in
            let previous = try await Self.hotCutoff(connection, logger: self.logger)
            guard cutoff > previous else { return Int64(0) }
            try await connection.query(
                """
                INSERT INTO store_meta (key, value) VALUES (\(Self.hotCutoffKey), \(String(cutoff)))
                ON CONFLICT (key) DO UPDATE SET value = greatest(store_meta.value::bigint, excluded.value::bigint)::text
                """, logger: self.logger)
            return try await connection.query(
                """
                SELECT count(*) FROM readings
                WHERE organization_id IN (SELECT id FROM organizations)
                AND time_received >= \(PGTime(previous)) AND time_received < \(PGTime(cutoff))
                """, logger: self.logger
            ).collect().first.map { try $0.decode(Int64.self) } ?? 0
        }
        if left > 0 { logger.debug("hot storage pruned", metadata: ["left": "\(left)", "cutoff_ms": "\(cutoff)"]) }
        return Int(left)
    }

    /// Readings received before this are outside hot storage (the last prune's cutoff).
    static func hotCutoff(_ connection: PostgresConnection, logger: Logger) async throws -> Int64 {
        try await connection.query("SELECT value FROM store_meta WHERE key = \(hotCutoffKey)", logger: logger)
            .collect().first.flatMap { Int64(try $0.decode(String.self)) } ?? PGTime.earliest
    }
}
