import FerryStore
import Foundation
import GRDB

extension SQLiteReadingStore {
    private static let hotCutoffKey = "hot_storage_cutoff_ms"

    /// Deletes hot-storage readings received before `now` minus the window, and remembers that
    /// cutoff so that ingest stops copying readings older than it. Returns how many were deleted.
    /// The server calls this periodically; `now` is a parameter so tests control time.
    public func pruneHotStorage(now: Date) async throws -> Int {
        guard let hours = configuration.hotStorageHours else { return 0 }
        let cutoff = StoreChecks.hotStorageCutoff(now: now, hours: hours)
        let deleted = try await write("pruning hot storage") { db in
            // Per organisation, so each delete is a range of the clustered key, not a table scan.
            try db.execute(
                sql: """
                    DELETE FROM hot_readings
                    WHERE organization_id IN (SELECT id FROM organizations) AND time_received < ?
                    """,
                arguments: [cutoff])
            let deleted = db.changesCount
            // The cutoff only moves forward: a prune with an earlier clock must not re-admit old rows.
            try db.execute(
                sql: """
                    INSERT INTO store_meta (key, value) VALUES (?, ?)
                    ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)
                    """,
                arguments: [Self.hotCutoffKey, cutoff])
            return deleted
        }
        if deleted > 0 { logger.debug("hot storage pruned", metadata: ["deleted": "\(deleted)", "cutoff_ms": "\(cutoff)"]) }
        return deleted
    }

    /// Readings received before this are not copied to hot storage (the last prune's cutoff).
    static func hotStorageCutoff(_ db: Database) throws -> Int64 {
        try Int64.fetchOne(db.cachedStatement(sql: "SELECT value FROM store_meta WHERE key = ?"), arguments: [hotCutoffKey]) ?? .min
    }
}
