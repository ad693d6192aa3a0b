import FerryBSON

/// Reading stored data back, every query scoped to one organisation.
public protocol ReadingQueries: Sendable {
    /// What `readings` and `readingsPage` are made of: matching readings as MQL input documents
    /// (Viam's columns as fields), ordered by `time_received` then id, after `cursor`, each with
    /// the cursor that names it. `limit` is unchecked here. Each document holds only `fields`
    /// (the top-level columns named there, and of `data` and `additional_parameters` only the
    /// paths named), with values exactly as in the whole document; `.everything` is the whole.
    func fetchReadings(
        organizationID: String, source: ReadingSource, filter: ReadingFilter, descending: Bool, after cursor: ReadingCursor?,
        limit: Int?, fields: BSONFieldSet
    ) async throws -> (documents: [BSONDocument], cursors: [ReadingCursor])
    /// TabularDataBySQL: a read-only, time- and size-bounded query over the organisation's
    /// `readings` in the backend's SQL dialect. A cancelled query throws `CancellationError`.
    func tabularDataBySQL(organizationID: String, source: ReadingSource, query: String) async throws -> [BSONDocument]
}

extension ReadingQueries {
    /// Whole documents.
    public func fetchReadings(
        organizationID: String, source: ReadingSource, filter: ReadingFilter, descending: Bool, after cursor: ReadingCursor?,
        limit: Int?
    ) async throws -> (documents: [BSONDocument], cursors: [ReadingCursor]) {
        try await fetchReadings(
            organizationID: organizationID, source: source, filter: filter, descending: descending, after: cursor, limit: limit,
            fields: .everything)
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

extension ReadingQueries {
    /// Readings as MQL input documents (Viam's columns as fields), ordered by `time_received`.
    /// Only `fields` of each (see `fetchReadings`) when given.
    public func readings(
        organizationID: String, source: ReadingSource, filter: ReadingFilter, sortByTimeDescending: Bool, limit: Int?,
        fields: BSONFieldSet = .everything
    ) async throws -> [BSONDocument] {
        try StoreChecks.validate(limit: limit)
        return try await fetchReadings(
            organizationID: organizationID, source: source, filter: filter, descending: sortByTimeDescending, after: nil, limit: limit,
            fields: fields
        ).documents
    }

    /// One page of the same, for exports larger than memory; pass `next` back to continue.
    public func readingsPage(
        organizationID: String, source: ReadingSource, filter: ReadingFilter, sortByTimeDescending: Bool,
        after cursor: ReadingCursor?, limit: Int, fields: BSONFieldSet = .everything
    ) async throws -> ReadingPage {
        try StoreChecks.validate(pageSize: limit)
        let page = try await fetchReadings(
            organizationID: organizationID, source: source, filter: filter, descending: sortByTimeDescending, after: cursor,
            limit: limit + 1, fields: fields)
        // One extra row tells whether another page follows without a second query.
        guard page.documents.count > limit, let last = page.cursors.dropLast().last else {
            return ReadingPage(documents: page.documents, next: nil)
        }
        return ReadingPage(documents: Array(page.documents.prefix(limit)), next: last)
    }
}
