import FerryBSON
import FerryStore
import GRDB

/// Editing a payload's annotations: read, change and write back in one write transaction
/// (SQLite has one writer at a time, so no other edit interleaves).
extension SQLiteReadingStore {
    public func editAnnotations<T: Sendable>(
        organizationID: String, id: String, _ change: @escaping @Sendable (BSONDocument?) throws -> (BSONDocument, T)
    ) async throws -> T? {
        try StoreChecks.validate(ids: [id])
        return try await write("editing the annotations of binary data \(id)") { db in
            guard
                let row = try Row.fetchOne(
                    db, sql: "SELECT annotations FROM binary_data WHERE organization_id = ? AND id = ?", arguments: [organizationID, id])
            else { return nil }
            let current = try (row[0] as String?).map { try BSONDocument(extendedJSON: $0) }
            let (updated, result) = try change(current)
            try db.execute(
                sql: "UPDATE binary_data SET annotations = ? WHERE organization_id = ? AND id = ?",
                arguments: [updated.extendedJSON(.relaxed), organizationID, id])
            return result
        }
    }
}
