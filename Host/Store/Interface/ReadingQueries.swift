import FerryBSON

/// Reading stored data back, every query scoped to one organisation.
public protocol ReadingQueries: Sendable {
    /// Readings as MQL input documents (Viam's columns as fields), ordered by `time_received`.
    func readings(
        organizationID: String, source: ReadingSource, filter: ReadingFilter, sortByTimeDescending: Bool, limit: Int?
    ) async throws -> [BSONDocument]
    /// One page of the same, for exports larger than memory; pass `next` back to continue.
    func readingsPage(
        organizationID: String, source: ReadingSource, filter: ReadingFilter, sortByTimeDescending: Bool,
        after cursor: ReadingCursor?, limit: Int
    ) async throws -> ReadingPage
    /// TabularDataBySQL: a read-only, time- and size-bounded query over the organisation's
    /// `readings` in the backend's SQL dialect. A cancelled query throws `CancellationError`.
    func tabularDataBySQL(organizationID: String, source: ReadingSource, query: String) async throws -> [BSONDocument]
}

extension ReadingQueries {
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

