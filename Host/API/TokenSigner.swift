import Crypto
import FerryBSON
import FerryClock
import FerryStore
import Foundation

/// Bearer tokens: `<payload>.<HMAC-SHA256>`, both base64url, payload = {key id, org, role, machine scope,
/// expiry}. The data server signs with the store's key (`IdentityStore.tokenSigningKey`), so
/// tokens survive restarts, every replica on one store accepts every other's, and no token table
/// is needed; a host's machine API signs with a secret file of its own. The Viam SDK never
/// refreshes its token, hence a long default lifetime.
package struct TokenSigner: Sendable {
    let key: SymmetricKey
    let lifetime: Duration

    init(key: [UInt8], lifetime: Duration) throws {
        guard key.count == 32 else { throw TokenError("the token signing key must be 32 bytes, not \(key.count)") }
        self.key = SymmetricKey(data: key)
        self.lifetime = lifetime
    }

    /// Loads the secret from `file`, creating it (0600) on first start.
    package init(secretFile: String, lifetime: Duration) throws {
        key = SymmetricKey(data: try SecretFile.loadOrCreate(secretFile))
        self.lifetime = lifetime
    }

    func issue(for identity: APIKeyIdentity, now: Date = Date()) -> (token: String, expires: Date) {
        let expires = now.adding(lifetime)
        var payload: BSONDocument = [
            "k": .string(identity.keyID), "o": .string(identity.organizationID), "r": .string(identity.role.rawValue),
            "e": .int64(Int64(expires.timeIntervalSince1970)),
        ]
        if identity.scope != .none {
            payload["l"] = .string(identity.scope.locationID)
            payload["m"] = .string(identity.scope.robotID)
        }
        let body = Self.base64url(Data(payload.encode()))
        let signature = Self.base64url(Data(HMAC<SHA256>.authenticationCode(for: Data(body.utf8), using: key)))
        return ("\(body).\(signature)", expires)
    }

    func verify(_ token: String, now: Date = Date()) throws -> APIKeyIdentity {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, let signature = Self.data(base64url: String(parts[1])),
            HMAC<SHA256>.isValidAuthenticationCode(signature, authenticating: Data(parts[0].utf8), using: key),
            let body = Self.data(base64url: String(parts[0])), let payload = try? BSONDocument(bytes: [UInt8](body)),
            let keyID = payload["k"]?.stringValue, let org = payload["o"]?.stringValue,
            let role = payload["r"]?.stringValue.flatMap(APIKeyRole.init(rawValue:)), let expiry = payload["e"]?.int64Value
        else { throw TokenError("the bearer token is not one this server issued; authenticate again") }
        guard Double(expiry) > now.timeIntervalSince1970 else { throw TokenError("the bearer token has expired; authenticate again") }
        let scope = MachineScope(locationID: payload["l"]?.stringValue ?? "", robotID: payload["m"]?.stringValue ?? "")
        return APIKeyIdentity(keyID: keyID, organizationID: org, role: role, scope: scope)
    }

    /// URL-safe base64 without padding (RFC 4648 §5), as tokens, signed URLs and dashboard sessions use it.
    package static func base64url(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    package static func data(base64url: String) -> Data? {
        var text = base64url.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while text.count % 4 != 0 { text += "=" }
        return Data(base64Encoded: text)
    }
}

struct TokenError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
