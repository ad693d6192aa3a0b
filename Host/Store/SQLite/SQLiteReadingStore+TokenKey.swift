import Crypto
import FerryStore
import Foundation

extension SQLiteReadingStore {
    /// The key lives in `token-secret` (0600) in the data directory, where servers before the store
    /// seam kept it, so tokens they issued stay valid. Written atomically, so two processes opening
    /// a fresh directory at once agree on one key: the first rename wins, and both read it back.
    public func tokenSigningKey() async throws -> [UInt8] {
        let path = URL(fileURLWithPath: dataDirectory).appendingPathComponent("token-secret").path
        return try await Offload.run {
            if let data = FileManager.default.contents(atPath: path), data.count == 32 { return [UInt8](data) }
            let fresh = SymmetricKey(size: .bits256).withUnsafeBytes { [UInt8]($0) }
            try AtomicFile.write(fresh, to: path, permissions: 0o600, replacing: false)
            guard let data = FileManager.default.contents(atPath: path), data.count == 32 else {
                throw StoreError(.storage, "the token secret \(path) is not 32 bytes; delete it to make a new one (tokens issued so far stop working)")
            }
            return [UInt8](data)
        }
    }
}
