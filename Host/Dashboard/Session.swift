import Crypto
import FerryAPI
import FerryStore
import Foundation

/// Who is signed in: what an API key proved at sign-in, until `expires`.
package struct Session: Sendable, Hashable, Codable {
    package var keyID: String
    package var organizationID: String
    /// An `APIKeyRole`'s raw value.
    package var roleName: String
    /// Unix seconds.
    package var expires: Int64
    /// Random per sign-in; the CSRF token is derived from it, so a token is only good for its session.
    package var nonce: String

    package init(keyID: String, organizationID: String, role: APIKeyRole, expires: Int64, nonce: String) {
        self.keyID = keyID
        self.organizationID = organizationID
        self.roleName = role.rawValue
        self.expires = expires
        self.nonce = nonce
    }

    /// A role this server does not know (a cookie from a newer version) counts as the least.
    package var role: APIKeyRole { APIKeyRole(rawValue: roleName) ?? .viewer }

    /// Owners create, change and delete pipelines, as with the gRPC API.
    package var canEdit: Bool { role.includes(.owner) }
}

/// Sessions are stateless: the cookie holds the session and an HMAC-SHA256 over it, keyed by a key
/// derived from the store's token signing key. Every replica on one store accepts every other's
/// cookies, and a restart signs nobody out. The derivation's label keeps session cookies and gRPC
/// bearer tokens from ever being accepted in each other's place.
package struct SessionCodec: Sendable {
    let key: SymmetricKey

    package init(tokenSigningKey: [UInt8]) {
        key = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: SymmetricKey(data: tokenSigningKey), info: Data("ferry dashboard session v1".utf8), outputByteCount: 32)
    }

    package func encode(_ session: Session) -> String {
        let body = TokenSigner.base64url(Data((try? JSONEncoder().encode(session)) ?? Data()))
        return body + "." + sign(body)
    }

    /// The session in `cookie`, or nil when it is not one this server signed or it has expired at `now`.
    package func decode(_ cookie: String, now: Date) -> Session? {
        let parts = cookie.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, let signature = TokenSigner.data(base64url: String(parts[1])),
            HMAC<SHA256>.isValidAuthenticationCode(signature, authenticating: Data(parts[0].utf8), using: key),
            let body = TokenSigner.data(base64url: String(parts[0])), let session = try? JSONDecoder().decode(Session.self, from: body)
        else { return nil }
        guard Double(session.expires) > now.timeIntervalSince1970 else { return nil }
        return session
    }

    /// The CSRF token of forms in a session (or, before sign-in, of the sign-in form's nonce).
    package func csrfToken(nonce: String, purpose: String = "session") -> String {
        sign("csrf." + purpose + "." + nonce)
    }

    /// Compares in constant time: a token guessed byte by byte learns nothing from timing.
    package func checkCSRF(_ presented: String?, nonce: String, purpose: String = "session") -> Bool {
        guard let presented else { return false }
        let expected = Array(csrfToken(nonce: nonce, purpose: purpose).utf8)
        let given = Array(presented.utf8)
        guard expected.count == given.count else { return false }
        return zip(expected, given).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }

    static func newNonce() -> String {
        var generator = SystemRandomNumberGenerator()
        return TokenSigner.base64url(Data((0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }))
    }

    private func sign(_ text: String) -> String {
        TokenSigner.base64url(Data(HMAC<SHA256>.authenticationCode(for: Data(text.utf8), using: key)))
    }
}
