import FerryBSON
import Foundation

/// Everything the data server needs from storage, narrow enough for a second implementation
/// (PostgreSQL) beside `SQLiteReadingStore`. Every method throws `StoreError`, except that a
/// cancelled SQL query throws `CancellationError`. Every query is scoped to one organisation.
public protocol ReadingStore: Sendable {
    // MARK: Organisations and API keys
    func createOrganization(name: String, now: Date) async throws -> Organization
    func organization(id: String) async throws -> Organization?
    func organizations() async throws -> [Organization]
    /// Creates a key; its secret is returned once and only a salted hash is kept.
    func createAPIKey(organizationID: String, role: APIKeyRole, name: String, scope: MachineScope, now: Date) async throws
        -> NewAPIKey
    /// The key's organisation, role and machine scope, or nil for an unknown id, a wrong secret or a revoked key.
    func verifyAPIKey(id: String, secret: String) async throws -> APIKeyIdentity?
    func apiKeys(organizationID: String) async throws -> [APIKeyInfo]
    /// False if the organisation has no such valid key.
    func revokeAPIKey(organizationID: String, id: String, now: Date) async throws -> Bool
    /// Whether a key exists and is not revoked (checked for tokens issued before a revocation).
    func isAPIKeyActive(id: String) async throws -> Bool

    // MARK: Ingest
    /// Stores a batch in one transaction. With an idempotency key, records of that file already
    /// applied are skipped, so a retried or overlapping upload stores each record once.
    func insert(_ readings: [Reading], idempotencyKey: IdempotencyKey?) async throws -> InsertResult
    /// Writes the payload durably, then its metadata; idempotent by `metadata.fileID`.
    func storeBinary(_ metadata: BinaryMetadata, bytes: [UInt8]) async throws -> BinaryRecord
    func binary(organizationID: String, id: String) async throws -> BinaryRecord?
    func binaryData(organizationID: String, id: String) async throws -> [UInt8]?

    // MARK: Hot storage
    /// Drops hot-storage readings older than the configured window before `now`; returns how many.
    func pruneHotStorage(now: Date) async throws -> Int

    // MARK: Queries
    /// Readings as MQL input documents (see `ReadingDecoding`), ordered by `time_received`.
    func readings(
        organizationID: String, source: ReadingSource, filter: ReadingFilter, sortByTimeDescending: Bool, limit: Int?
    ) async throws -> [BSONDocument]
    /// One page of the same, for exports larger than memory; pass `next` back to continue.
    func readingsPage(
        organizationID: String, source: ReadingSource, filter: ReadingFilter, sortByTimeDescending: Bool,
        after cursor: ReadingCursor?, limit: Int
    ) async throws -> ReadingPage
    /// TabularDataBySQL: a read-only query over the organisation's `readings`.
    func tabularDataBySQL(organizationID: String, source: ReadingSource, query: String) async throws -> [BSONDocument]

    // MARK: Pipeline sinks
    /// Atomically replaces the results of the windows overlapping `window` with `documents`.
    func replaceWindow(
        organizationID: String, pipelineID: String, runID: String, window: SinkWindow, documents: [BSONDocument]
    ) async throws
    func sinkDocuments(organizationID: String, pipelineID: String, window: SinkWindow?, limit: Int?) async throws
        -> [BSONDocument]
    func dropSink(organizationID: String, pipelineID: String) async throws -> Int
}

extension ReadingStore {
    public func createOrganization(name: String) async throws -> Organization {
        try await createOrganization(name: name, now: Date())
    }

    public func createAPIKey(
        organizationID: String, role: APIKeyRole, name: String = "", scope: MachineScope = .none
    ) async throws -> NewAPIKey {
        try await createAPIKey(organizationID: organizationID, role: role, name: name, scope: scope, now: Date())
    }

    public func revokeAPIKey(organizationID: String, id: String) async throws -> Bool {
        try await revokeAPIKey(organizationID: organizationID, id: id, now: Date())
    }

    /// Calls `body` with each page of matching readings until none are left (or `body` returns
    /// false), so an export never holds more than one page in memory.
    public func forEachReadingPage(
        organizationID: String, source: ReadingSource, filter: ReadingFilter, sortByTimeDescending: Bool = false,
        pageSize: Int = 1_000, _ body: ([BSONDocument]) async throws -> Bool
    ) async throws {
        var cursor: ReadingCursor?
        repeat {
            let page = try await readingsPage(
                organizationID: organizationID, source: source, filter: filter, sortByTimeDescending: sortByTimeDescending,
                after: cursor, limit: pageSize)
            if !page.documents.isEmpty, try await !body(page.documents) { return }
            cursor = page.next
        } while cursor != nil
    }
}
