/// Binary payloads (images, point clouds, files) and their metadata.
public protocol BinaryStore: Sendable {
    /// Stores the payload durably with its metadata; idempotent by `metadata.fileID`.
    func storeBinary(_ metadata: BinaryMetadata, bytes: [UInt8]) async throws -> BinaryRecord
    func binary(organizationID: String, id: String) async throws -> BinaryRecord?
    func binaryData(organizationID: String, id: String) async throws -> [UInt8]?
    /// Removes what an upload cut short by a crash may have left (payloads without metadata);
    /// run at start-up, before serving. Returns how many were removed.
    func removeOrphanedBinaries() async throws -> Int
}
