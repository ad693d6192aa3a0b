import Crypto
import FerryAPI
import FerryConfig
import FerryStore
import Foundation

/// The machine API's keys: those of the running config (`auth.handlers`), read at every check, so
/// a key removed by a live config edit stops working (its tokens within the revocation check's 2 s).
struct ConfigKeyVerifier: APIKeyVerifier {
    let keys: @Sendable () -> [MachineAPIKey]

    func verifyAPIKey(id: String, secret: String) async throws -> APIKeyIdentity? {
        // Compare digests, so the time taken says nothing about how much of the key was right.
        let offered = SHA256.hash(data: Data(secret.utf8))
        guard let key = keys().first(where: { $0.id == id }), SHA256.hash(data: Data(key.key.utf8)) == offered else { return nil }
        return APIKeyIdentity(keyID: key.id, organizationID: "", role: key.role.storeRole)
    }

    func isAPIKeyActive(id: String) async throws -> Bool { keys().contains { $0.id == id } }
}

extension MachineAPIKey.Role {
    var storeRole: APIKeyRole {
        switch self {
        case .owner: .owner
        case .operator: .operator
        case .viewer: .viewer
        }
    }
}
