import Foundation

/// Storing readings: exactly-once batches and the hot-storage window.
public protocol ReadingIngest: Sendable {
    /// Stores a batch in one transaction, with the invalidation log entries pipelines need. With an
    /// idempotency key, records of that file already applied are skipped, so a retried or
    /// overlapping upload stores each record once.
    func insert(_ readings: [Reading], idempotencyKey: IdempotencyKey?) async throws -> InsertResult
    /// Drops hot-storage readings older than the configured window before `now`; returns how many.
    func pruneHotStorage(now: Date) async throws -> Int
}
