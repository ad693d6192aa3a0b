import FerryStore
import Foundation

extension SQLiteReadingStore {
    /// The key lives in `token-secret` (0600) in the data directory, where servers before the store
    /// seam kept it, so tokens they issued stay valid.
    public func tokenSigningKey() async throws -> [UInt8] {
        let path = URL(fileURLWithPath: dataDirectory).appendingPathComponent("token-secret").path
        return try await Offload.run { try SecretFile.loadOrCreate(path) }
    }
}
