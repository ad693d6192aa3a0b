import Foundation

/// Storing readings: exactly-once batches and the hot-storage window.
public protocol ReadingIngest: Sendable {
    /// Stores a batch in one transaction, with the invalidation log entries pipelines need. With an
    /// idempotency key, records of that file already applied are skipped, so a retried or
    /// overlapping upload stores each record once.
    func insert(_ readings: [Reading], idempotencyKey: IdempotencyKey?) async throws -> InsertResult
    /// Stores a batch that is made while it is stored (an upload's records converted slice by
    /// slice): as `insert(_:idempotencyKey:)` with the readings in order, or nothing and the error
    /// of the first slice in order that fails to be made.
    func insert(_ batch: ReadingBatch, idempotencyKey: IdempotencyKey?) async throws -> InsertResult
    /// Drops hot-storage readings older than the configured window before `now`; returns how many.
    func pruneHotStorage(now: Date) async throws -> Int
}

/// `count` readings of one organisation, made by `make` for any range of them (at once, on
/// several threads, for disjoint ranges).
public struct ReadingBatch: Sendable {
    public var count: Int
    public var organizationID: String
    public var make: @Sendable (Range<Int>) throws -> [Reading]

    public init(count: Int, organizationID: String, make: @escaping @Sendable (Range<Int>) throws -> [Reading]) {
        self.count = count
        self.organizationID = organizationID
        self.make = make
    }

    /// The readings made in slices on all cores, in order; checked to be of the batch's organisation.
    package func readings() async throws -> [Reading] {
        let parts = try await Slices.map(count: count) { range in try checked(make(range)) }
        return parts.count == 1 ? parts[0] : Array(parts.joined())
    }

    /// `readings`, refused if any is of another organisation than the batch says.
    package func checked(_ readings: [Reading]) throws -> [Reading] {
        if let other = readings.first(where: { $0.organizationID != organizationID }) {
            throw StoreError.invalid("a batch of organisation \(organizationID) holds a reading of organisation \(other.organizationID)")
        }
        return readings
    }
}

extension ReadingIngest {
    /// Makes the whole batch first, then stores it: for a backend that writes a batch in one call.
    public func insert(_ batch: ReadingBatch, idempotencyKey: IdempotencyKey?) async throws -> InsertResult {
        try await insert(batch.readings(), idempotencyKey: idempotencyKey)
    }
}
