import Crypto
import Foundation

/// Signed download URLs for binary data (Viam's CreateBinaryDataSignedURL):
/// `<base>/download/<organisation>/<binary id>?expires=<unix seconds>&signature=<base64url>`, the
/// signature an HMAC-SHA256 of (organisation, id, expiry). Anyone holding the URL may fetch that one
/// payload until it expires; changing any part of it breaks the signature. The key is derived from
/// the store's token signing key, so every replica on one store accepts every other's URLs, and a
/// bearer token can never pass for a URL signature or the other way round.
package struct DownloadURLSigner: Sendable {
    let key: SymmetricKey

    /// The key for download URLs, derived from the store's 32-byte token signing key.
    package init(tokenSigningKey: [UInt8]) {
        let derived = HMAC<SHA256>.authenticationCode(for: Data("ferry binary download URL v1".utf8), using: SymmetricKey(data: tokenSigningKey))
        key = SymmetricKey(data: Data(derived))
    }

    /// What a signed URL names, once its signature is checked.
    package struct Grant: Sendable, Hashable {
        package var organizationID: String
        package var binaryID: String
        package var expires: Date
    }

    /// Why a URL is refused (answered 403 with `description`).
    package enum Refusal: Error, Hashable, CustomStringConvertible {
        case malformed
        case badSignature
        case expired

        package var description: String {
            switch self {
            case .malformed: "this is not a download URL of this server; ask for a new one with CreateBinaryDataSignedURL"
            case .badSignature: "the URL's signature does not match (was it changed?); ask for a new one with CreateBinaryDataSignedURL"
            case .expired: "the URL has expired; ask for a new one with CreateBinaryDataSignedURL"
            }
        }
    }

    /// The path and query of the URL for `grant` (to be appended to the server's base URL).
    package func pathAndQuery(for grant: Grant) -> String {
        let expires = Int64(grant.expires.timeIntervalSince1970.rounded(.down))
        let signature = TokenSigner.base64url(mac(grant.organizationID, grant.binaryID, expires))
        return "/download/\(Self.escaped(grant.organizationID))/\(Self.escaped(grant.binaryID))?expires=\(expires)&signature=\(signature)"
    }

    /// Checks a request's path and query (`uri` as the HTTP request line has it) at `now`.
    package func verify(uri: String, now: Date) throws(Refusal) -> Grant {
        guard let components = URLComponents(string: uri) else { throw .malformed }
        let segments = components.percentEncodedPath.split(separator: "/", omittingEmptySubsequences: false)
        guard segments.count == 4, segments[0].isEmpty, segments[1] == "download",
            let org = segments[2].removingPercentEncoding, let id = segments[3].removingPercentEncoding, !org.isEmpty, !id.isEmpty,
            !org.contains("\0"), !id.contains("\0")
        else { throw .malformed }
        let query = Dictionary((components.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { first, _ in first })
        guard let expiresText = query["expires"], let expires = Int64(expiresText), let signatureText = query["signature"],
            let signature = TokenSigner.data(base64url: signatureText)
        else { throw .malformed }
        guard HMAC<SHA256>.isValidAuthenticationCode(signature, authenticating: message(org, id, expires), using: key) else {
            throw .badSignature
        }
        // Checked after the signature, so an expiry moved into the future reads as tampering.
        guard Double(expires) > now.timeIntervalSince1970 else { throw .expired }
        return Grant(organizationID: org, binaryID: id, expires: Date(timeIntervalSince1970: Double(expires)))
    }

    private func mac(_ org: String, _ id: String, _ expires: Int64) -> Data {
        Data(HMAC<SHA256>.authenticationCode(for: message(org, id, expires), using: key))
    }

    /// NUL separates the parts: stored ids and organisations never contain one.
    private func message(_ org: String, _ id: String, _ expires: Int64) -> Data {
        Data("\(org)\0\(id)\0\(expires)".utf8)
    }

    private static func escaped(_ segment: String) -> String {
        var allowed = CharacterSet.urlPathAllowed
        allowed.remove(charactersIn: "/?#%;")
        return segment.addingPercentEncoding(withAllowedCharacters: allowed) ?? segment
    }
}
