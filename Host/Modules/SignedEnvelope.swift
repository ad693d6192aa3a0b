import Foundation

/// A signed document in the DSSE envelope format (in-toto / Sigstore's "Dead Simple Signing
/// Envelope"): the payload's exact bytes are signed, so no JSON canonicalisation is involved,
/// and any DSSE implementation can check a Ferry index:
///
///     {"payloadType": "application/vnd.ferry.module-index+json",
///      "payload": "<base64 of the index JSON>",
///      "signatures": [{"keyid": "<16 hex digits>", "sig": "<base64 Ed25519 signature>"}]}
///
/// The signature covers PAE(payloadType, payload) =
/// `"DSSEv1" SP len(type) SP type SP len(payload) SP payload` (lengths in ASCII decimal).
public struct SignedEnvelope: Codable, Sendable, Equatable {
    public struct Signature: Codable, Sendable, Equatable {
        public var keyid: String
        public var sig: String
    }

    public var payloadType: String
    public var payload: String
    public var signatures: [Signature]

    public static let indexPayloadType = "application/vnd.ferry.module-index+json"

    public static func sign(_ payload: Data, type: String = indexPayloadType, with key: SigningKey) throws(RegistryError) -> SignedEnvelope {
        let signature = try key.sign(preAuthenticationEncoding(type: type, payload: payload))
        return SignedEnvelope(
            payloadType: type, payload: payload.base64EncodedString(),
            signatures: [Signature(keyid: key.publicKey.id, sig: signature.base64EncodedString())])
    }

    public static func preAuthenticationEncoding(type: String, payload: Data) -> Data {
        var out = Data("DSSEv1 \(type.utf8.count) \(type) \(payload.count) ".utf8)
        out.append(payload)
        return out
    }

    /// The payload and the trusted key that signed it. `source` names the file for messages.
    public func verify(trusting keys: [TrustedKey], type: String = indexPayloadType, source: String) throws(RegistryError) -> (
        payload: Data, signer: TrustedKey
    ) {
        guard payloadType == type else {
            throw RegistryError(.refused, "\(source): payloadType is \"\(payloadType)\", expected \"\(type)\"; this is not a Ferry module index")
        }
        guard let payload = Data(base64Encoded: payload) else {
            throw RegistryError(.refused, "\(source): payload is not valid base64; the index is damaged: ask its publisher to upload again")
        }
        let message = Self.preAuthenticationEncoding(type: type, payload: payload)
        var failedTrusted: [String] = []
        for signature in signatures {
            guard let bytes = Data(base64Encoded: signature.sig) else { continue }
            for key in keys where key.isValidSignature(bytes, for: message) { return (payload, key) }
            failedTrusted += keys.filter { $0.id == signature.keyid }.map(\.id)
        }
        if !failedTrusted.isEmpty {
            throw RegistryError(
                .refused,
                "\(source): the signature by trusted key \(failedTrusted[0]) does not match the index: it was altered after signing (or damaged in transit); nothing from it is used. Ask the publisher to check the registry (`ferry module verify`)")
        }
        let signers = signatures.map(\.keyid).joined(separator: ", ")
        let trusted = keys.map { "\($0.id) from \($0.source)" }.joined(separator: ", ")
        throw RegistryError(
            .refused,
            "\(source): signed by key \(signers.isEmpty ? "(none)" : signers), which this machine does not trust (trusted: \(trusted.isEmpty ? "none" : trusted)); if you trust the publisher, add their public key with --trust KEY.pub (or FERRY_REGISTRY_TRUST)")
    }

    public func encoded() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(self)) ?? Data()
    }

    public static func decode(_ data: Data, source: String) throws(RegistryError) -> SignedEnvelope {
        do {
            return try JSONDecoder().decode(SignedEnvelope.self, from: data)
        } catch {
            throw RegistryError(.refused, "\(source): not a signed index envelope (\(JSONProblem.describe(error))); the file is damaged or not a Ferry registry index")
        }
    }
}

/// Decoding errors as `JSON path: what was wrong`.
enum JSONProblem {
    static func describe(_ error: any Error) -> String {
        guard let error = error as? DecodingError else { return "\(error)" }
        func path(_ keys: [any CodingKey]) -> String {
            var text = ""
            for key in keys {
                if let index = key.intValue { text += "[\(index)]" } else { text += text.isEmpty ? key.stringValue : ".\(key.stringValue)" }
            }
            return text.isEmpty ? "(top level)" : text
        }
        switch error {
        case .keyNotFound(let key, let context): return "\(path(context.codingPath + [key])): is required"
        case .typeMismatch(let type, let context): return "\(path(context.codingPath)): expected \(type)"
        case .valueNotFound(let type, let context): return "\(path(context.codingPath)): expected \(type), found null"
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty ? "not valid JSON" : "\(path(context.codingPath)): \(context.debugDescription)"
        @unknown default: return "\(error)"
        }
    }
}
