import FerryBSON
import FerryStore

extension SQLiteReadingStore {
    /// Runs a user's SQL over the organisation's `readings` (Viam's columns; `data` and
    /// `additional_parameters` as JSON text, `tags` as a JSON array, times as integer ms that come
    /// back as BSON dates when selected as they are). Read-only and organisation-scoped: see
    /// `SQLSandbox`. Cancelling the calling task stops the query.
    public func tabularDataBySQL(organizationID: String, source: ReadingSource, query: String) async throws -> [BSONDocument] {
        let cancellation = SQLCancellation()
        let (path, limits) = (databasePath, configuration.sqlLimits)
        if source == .hotStorage { await makePendingHotCopiesBeforeReading() }
        do {
            return try await withTaskCancellationHandler {
                try await Offload.runOnOwnThread {
                    try SQLSandbox.run(
                        databasePath: path, organizationID: organizationID, source: source, sql: query, limits: limits,
                        cancellation: cancellation)
                }
            } onCancel: {
                cancellation.requested.store(true, ordering: .relaxed)
            }
        } catch let error as StoreError {
            logger.debug("SQL query refused or failed", metadata: ["organization": "\(organizationID)", "reason": "\(error)"])
            throw error
        }
    }
}
