import Crypto
import FerryBSON
import FerrySystem
import Foundation

/// Ed25519 keys in the PEM files every tool reads: PKCS#8 (`BEGIN PRIVATE KEY`) for the
/// publisher's secret and SubjectPublicKeyInfo (`BEGIN PUBLIC KEY`) for the key machines trust,
/// as RFC 8410 encodes them (so `openssl pkey` and Python's `cryptography` read them too).
public struct SigningKey: Sendable {
    public let privateKey: Curve25519.Signing.PrivateKey
    public var publicKey: TrustedKey { TrustedKey(privateKey.publicKey, source: "") }

    public init() { privateKey = Curve25519.Signing.PrivateKey() }

    public init(pem: String, source: String) throws(RegistryError) {
        let der = try PEM.decode(pem, label: "PRIVATE KEY", source: source, expected: "an Ed25519 private key (PKCS#8 PEM) from `ferry module keygen`")
        guard der.count == 48, der.prefix(16).elementsEqual(Self.pkcs8Prefix),
            let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: der.suffix(32))
        else {
            throw RegistryError(.invalid, "\(source): not an Ed25519 private key (PKCS#8); make one with `ferry module keygen --out KEY`")
        }
        privateKey = key
    }

    public static func load(file: String) throws(RegistryError) -> SigningKey {
        try SigningKey(pem: try PEM.read(file: file, what: "signing key"), source: file)
    }

    public var pem: String { PEM.encode(Self.pkcs8Prefix + privateKey.rawRepresentation, label: "PRIVATE KEY") }

    public func sign(_ message: Data) throws(RegistryError) -> Data {
        do {
            return try privateKey.signature(for: message)
        } catch {
            throw RegistryError(.invalid, "cannot sign: \(error)")
        }
    }

    // RFC 8410: SEQUENCE { INTEGER 0, SEQUENCE { OID 1.3.101.112 }, OCTET STRING { OCTET STRING (32) } }
    static let pkcs8Prefix: [UInt8] = [0x30, 0x2E, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]
}

/// A public key a machine trusts to sign module indexes.
public struct TrustedKey: Sendable, Equatable {
    public let key: Curve25519.Signing.PublicKey
    /// Where it came from (a file name), for messages.
    public let source: String

    public init(_ key: Curve25519.Signing.PublicKey, source: String) {
        self.key = key
        self.source = source
    }

    public init(pem: String, source: String) throws(RegistryError) {
        let der = try PEM.decode(pem, label: "PUBLIC KEY", source: source, expected: "an Ed25519 public key (PEM) such as the .pub file `ferry module keygen` writes")
        guard der.count == 44, der.prefix(12).elementsEqual(Self.spkiPrefix),
            let key = try? Curve25519.Signing.PublicKey(rawRepresentation: der.suffix(32))
        else {
            throw RegistryError(.invalid, "\(source): not an Ed25519 public key (SubjectPublicKeyInfo PEM); use the .pub file `ferry module keygen` wrote")
        }
        self.init(key, source: source)
    }

    public static func load(file: String) throws(RegistryError) -> TrustedKey {
        try TrustedKey(pem: try PEM.read(file: file, what: "trusted public key"), source: file)
    }

    /// The first 16 hex digits of the SHA-256 of the raw key: short enough to read, the same in
    /// every index it signs.
    public var id: String { String(Hex.encode(SHA256.hash(data: key.rawRepresentation)).prefix(16)) }

    public var pem: String { PEM.encode(Self.spkiPrefix + key.rawRepresentation, label: "PUBLIC KEY") }

    public func isValidSignature(_ signature: Data, for message: Data) -> Bool {
        key.isValidSignature(signature, for: message)
    }

    public static func == (lhs: TrustedKey, rhs: TrustedKey) -> Bool { lhs.key.rawRepresentation == rhs.key.rawRepresentation }

    // RFC 8410: SEQUENCE { SEQUENCE { OID 1.3.101.112 }, BIT STRING (32 bytes) }
    static let spkiPrefix: [UInt8] = [0x30, 0x2A, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70, 0x03, 0x21, 0x00]
}

enum PEM {
    static func read(file: String, what: String) throws(RegistryError) -> String {
        do {
            return try String(contentsOfFile: file, encoding: .utf8)
        } catch {
            throw RegistryError(.invalid, "cannot read the \(what) \(file): \(describe(error))")
        }
    }

    static func decode(_ text: String, label: String, source: String, expected: String) throws(RegistryError) -> Data {
        let begin = "-----BEGIN \(label)-----"
        let end = "-----END \(label)-----"
        guard let start = text.firstRange(of: begin), let stop = text[start.upperBound...].firstRange(of: end) else {
            throw RegistryError(.invalid, "\(source): no \(begin) block; expected \(expected)")
        }
        let body = text[start.upperBound..<stop.lowerBound].filter { !$0.isWhitespace }
        guard let der = Data(base64Encoded: String(body)) else {
            throw RegistryError(.invalid, "\(source): the \(label) block is not valid base64; expected \(expected)")
        }
        return der
    }

    static func encode(_ der: some Sequence<UInt8>, label: String) -> String {
        let base64 = Data(der).base64EncodedString()
        var lines: [String] = []
        var index = base64.startIndex
        while index < base64.endIndex {
            let next = base64.index(index, offsetBy: 64, limitedBy: base64.endIndex) ?? base64.endIndex
            lines.append(String(base64[index..<next]))
            index = next
        }
        return "-----BEGIN \(label)-----\n" + lines.joined(separator: "\n") + "\n-----END \(label)-----\n"
    }
}
