import FerryBSON
import FerryStore
import PostgresNIO

/// Editing a payload's annotations: read with the row locked (`FOR UPDATE`), change and write
/// back in one transaction, so concurrent edits by several replicas apply one after the other.
extension PostgresStore {
    public func editAnnotations<T: Sendable>(
        organizationID: String, id: String, _ change: @escaping @Sendable (BSONDocument?) throws -> (BSONDocument, T)
    ) async throws -> T? {
        try StoreChecks.validate(ids: [id])
        let logger = self.logger
        return try await transaction("editing the annotations of binary data \(id)") { connection in
            let rows = try await connection.query(
                "SELECT annotations FROM binary_data WHERE organization_id = \(organizationID) AND id = \(id) FOR UPDATE", logger: logger
            ).collect()
            guard let row = rows.first else { return nil }
            let current = try row.decode(String?.self).map { try BSONDocument(extendedJSON: $0) }
            let (updated, result) = try change(current)
            let text = updated.extendedJSON(.relaxed)
            try await connection.query(
                "UPDATE binary_data SET annotations = \(text) WHERE organization_id = \(organizationID) AND id = \(id)", logger: logger)
            return result
        }
    }
}
