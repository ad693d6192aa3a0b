import FerryBSON
import FerryStore

extension PostgresStore {
    /// Runs a user's SQL (PostgreSQL's dialect: `data`, `additional_parameters` and `tags` are
    /// `jsonb`, times `timestamptz`) over the organisation's `readings`; see `PostgresSQLSandbox`.
    public func tabularDataBySQL(organizationID: String, source: ReadingSource, query: String) async throws -> [BSONDocument] {
        do {
            return try await sandbox.run(self, organizationID: organizationID, source: source, sql: query)
        } catch let error as StoreError {
            logger.debug("SQL query refused or failed", metadata: ["organization": "\(organizationID)", "reason": "\(error)"])
            throw error
        }
    }
}
