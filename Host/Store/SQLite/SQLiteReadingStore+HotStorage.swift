import FerryStore
import Foundation
import GRDB
import Synchronization

/// Hot storage's copies of new readings, written by a transaction of their own just after the
/// ingest that stored the readings commits, rather than inside it: an uploader waits for its
/// readings to be durable, not for their second copy, and the copy runs while the next request is
/// on its way. The ingest records the ids to copy (`hot_pending`) in its own transaction, so a copy
/// lost to a crash is made once the store opens again; and every read of hot storage first makes
/// the copies still pending, so it sees each reading that has been acknowledged.
final class HotStorageCopies: Sendable {
    /// Committed ingests whose copies are not made yet. Changed only in commit callbacks, which
    /// GRDB runs on the writer's queue in commit order, so a copy's transaction knows exactly how
    /// many pending ranges it sees (and set to 1 when the store opens with ranges left); read
    /// from anywhere.
    let uncopied = Atomic(0)
    /// Whether a background copy is scheduled or running.
    let copying = Mutex(false)

    /// Notes `ids` to copy once the caller's transaction commits.
    func pending(_ ids: ClosedRange<Int64>, _ db: Database) throws {
        try db.cachedStatement(sql: "INSERT INTO hot_pending (first_id, last_id) VALUES (?, ?)")
            .execute(arguments: [ids.lowerBound, ids.upperBound])
        db.afterNextTransaction(onCommit: { _ in self.uncopied.add(1, ordering: .sequentiallyConsistent) })
    }
}

extension SQLiteReadingStore {
    /// Makes the copies still pending before a read of hot storage, so that it sees every
    /// acknowledged reading. Those of this process's ingests are counted (an atomic load when there
    /// are none); another process's (a CLI command beside a running server) are looked for. A read
    /// is not refused because the copy cannot be written now (a full disk, another process holding
    /// the write lock): it goes on without the newest readings, and says so in the log.
    func makePendingHotCopiesBeforeReading() async {
        guard let hotCopies else { return }
        do {
            if hotCopies.uncopied.load(ordering: .sequentiallyConsistent) == 0 {
                let pending = try await read("looking for hot-storage copies to make") { db in
                    try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM hot_pending)") ?? false
                }
                guard pending else { return }
            }
            try await copyPendingHotStorage(hotCopies)
        } catch {
            logger.warning(
                "hot storage is read without the copies of the newest uploads: they could not be made",
                metadata: ["error": "\(error)"])
        }
    }

    /// Copies the readings of committed ingests not copied yet into hot storage.
    private func copyPendingHotStorage(_ hotCopies: HotStorageCopies) async throws {
        try await write("copying new readings into hot storage") { db in
            // Every ingest counted here has committed, and its ranges are in `hot_pending`.
            let counted = hotCopies.uncopied.load(ordering: .sequentiallyConsistent)
            try Self.makePendingHotCopies(db)
            db.afterNextTransaction(onCommit: { _ in
                hotCopies.uncopied.subtract(counted, ordering: .sequentiallyConsistent)
            })
        }
    }

    static func makePendingHotCopies(_ db: Database) throws {
        let cutoff = try hotStorageCutoff(db)
        let copy = try db.cachedStatement(
            sql: """
                INSERT OR IGNORE INTO hot_readings (id, \(readingColumnList))
                SELECT id, \(readingColumnList) FROM readings WHERE id BETWEEN ? AND ? AND time_received >= ?
                """)
        // A reading deleted since its ingest is simply not there to copy.
        for range in try Row.fetchAll(db, sql: "SELECT first_id, last_id FROM hot_pending") {
            try copy.execute(arguments: [range[0], range[1], cutoff])
        }
        try db.execute(sql: "DELETE FROM hot_pending")
    }

    /// Makes the pending copies in the background, unless that is already under way.
    func scheduleHotStorageCopy() {
        guard configuration.copiesHotStorageInBackground, let hotCopies,
            hotCopies.uncopied.load(ordering: .sequentiallyConsistent) > 0
        else { return }
        let start = hotCopies.copying.withLock { copying in
            defer { copying = true }
            return !copying
        }
        guard start else { return }
        Task {
            while true {
                do {
                    try await copyPendingHotStorage(hotCopies)
                } catch {
                    // Left pending, and not retried at once: the next ingest or read of hot storage copies them.
                    logger.warning("copying new readings into hot storage failed", metadata: ["error": "\(error)"])
                    hotCopies.copying.withLock { $0 = false }
                    return
                }
                // Stop only when nothing is pending once the flag is down: an ingest that commits
                // later sees the flag down and starts another copy.
                let more = hotCopies.copying.withLock { copying in
                    copying = hotCopies.uncopied.load(ordering: .sequentiallyConsistent) > 0
                    return copying
                }
                if !more { return }
            }
        }
    }

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
