import FerryStore
import PostgresNIO

extension PostgresStore {
    /// The whole database as PostgreSQL counts it (tables, indexes, TOAST: payloads included).
    public func storageBytes() async throws -> Int64 {
        try await rows("measuring the database", "SELECT pg_database_size(current_database())").first?.decode(Int64.self) ?? 0
    }
}
