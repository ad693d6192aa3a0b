import Crypto
import FerrySystem
import Foundation
import _CryptoExtras

/// SCRAM-SHA-256 (RFC 5802 with SHA-256, RFC 7677), the mechanism MongoDB drivers use by default.
/// The server keeps only the verifiers (salt, iteration count, StoredKey, ServerKey), never the
/// password. Passwords are printable ASCII (see `DatabasePasswordPolicy`), which SASLprep leaves
/// unchanged, so every driver derives the same keys without a SASLprep implementation here.
public enum SCRAMSHA256 {
    public static let mechanism = "SCRAM-SHA-256"
    /// RFC 7677's floor; MongoDB's default is 15,000.
    public static let minimumIterations = 4_096
    public static let defaultIterations = 15_000
    /// Refused above this (a peer could otherwise make us burn unbounded CPU).
    public static let maximumIterations = 1_000_000

    /// What a server stores for one password.
    public struct Verifier: Sendable, Hashable {
        public var salt: [UInt8]
        public var iterations: Int
        public var storedKey: [UInt8]
        public var serverKey: [UInt8]

        public init(salt: [UInt8], iterations: Int, storedKey: [UInt8], serverKey: [UInt8]) {
            self.salt = salt
            self.iterations = iterations
            self.storedKey = storedKey
            self.serverKey = serverKey
        }
    }

    /// The verifier of `password` with a fresh random 16-byte salt (or `salt`, for tests).
    public static func verifier(password: String, salt: [UInt8]? = nil, iterations: Int = defaultIterations) throws -> Verifier {
        var generator = SystemRandomNumberGenerator()
        let salt = salt ?? (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let salted = try saltedPassword(password, salt: salt, iterations: iterations)
        let clientKey = hmac(salted, "Client Key")
        return Verifier(
            salt: salt, iterations: iterations, storedKey: sha256(clientKey), serverKey: hmac(salted, "Server Key"))
    }

    static func saltedPassword(_ password: String, salt: [UInt8], iterations: Int) throws -> [UInt8] {
        // The unchecked entry point: RFC 7677's test vector uses 4096 rounds, below swift-crypto's floor.
        let key = try KDF.Insecure.PBKDF2.deriveKey(
            from: Array(password.utf8), salt: salt, using: .sha256, outputByteCount: 32, unsafeUncheckedRounds: iterations)
        return key.withUnsafeBytes { Array($0) }
    }

    static func hmac(_ key: [UInt8], _ text: String) -> [UInt8] { hmac(key, Array(text.utf8)) }

    static func hmac(_ key: [UInt8], _ data: [UInt8]) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: data, using: SymmetricKey(data: key)))
    }

    static func sha256(_ data: [UInt8]) -> [UInt8] { Array(SHA256.hash(data: data)) }

    static func xor(_ a: [UInt8], _ b: [UInt8]) -> [UInt8] { zip(a, b).map { $0 ^ $1 } }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }

    /// A printable nonce: 24 random bytes, base64 (never a comma).
    public static func newNonce() -> String {
        var generator = SystemRandomNumberGenerator()
        return Data((0..<24).map { _ in UInt8.random(in: 0...255, using: &generator) }).base64EncodedString()
    }
}

/// Why a SCRAM exchange failed. The server answers every one of these with MongoDB's
/// AuthenticationFailed and logs the detail; a client reports it.
public struct SCRAMError: Error, CustomStringConvertible, Sendable, Equatable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// `key=value` attributes of a SCRAM message (RFC 5802 §5.1).
struct SCRAMAttributes {
    var values: [(key: Character, value: String)] = []

    init(_ text: String) throws(SCRAMError) {
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard part.count >= 2, let key = part.first, part[part.index(after: part.startIndex)] == "=" else {
                throw SCRAMError("malformed SCRAM attribute \"\(part.prefix(40))\"")
            }
            values.append((key, String(part.dropFirst(2))))
        }
    }

    func value(_ key: Character) -> String? { values.first { $0.key == key }?.value }

    /// RFC 5802's saslname: `=2C` is a comma, `=3D` an equals sign; any other `=` is malformed.
    static func decodeName(_ name: String) throws(SCRAMError) -> String {
        var out = ""
        var index = name.startIndex
        while index < name.endIndex {
            if name[index] == "=" {
                let code = name[index...].prefix(3)
                switch code {
                case "=2C": out.append(",")
                case "=3D": out.append("=")
                default: throw SCRAMError("malformed SCRAM user name (a bare '=')")
                }
                index = name.index(index, offsetBy: 3)
            } else {
                out.append(name[index])
                index = name.index(after: index)
            }
        }
        return out
    }

    static func encodeName(_ name: String) -> String {
        name.replacing("=", with: "=3D").replacing(",", with: "=2C")
    }
}

/// The server side of one SCRAM-SHA-256 exchange: client-first → server-first, client-final →
/// server-final. The user's verifier is looked up between the two steps (it is async).
public struct SCRAMServerConversation: Sendable {
    public let username: String
    let clientFirstBare: String
    let clientNonce: String
    let gs2Header: String
    private(set) var serverFirst: String?
    private var verifier: SCRAMSHA256.Verifier?

    /// Parses client-first (`n,,n=USER,r=NONCE`). Channel binding is not offered, so `p=` is refused.
    public init(clientFirst bytes: [UInt8]) throws(SCRAMError) {
        guard let text = String(validating: bytes, as: UTF8.self) else { throw SCRAMError("client-first is not UTF-8") }
        let parts = text.split(separator: ",", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3 else { throw SCRAMError("client-first has no GS2 header") }
        switch parts[0] {
        case "n", "y": break
        default: throw SCRAMError("channel binding is not supported (GS2 flag \(parts[0].prefix(8)))")
        }
        let bare = String(parts[2])
        let attributes = try SCRAMAttributes(bare)
        guard attributes.values.count >= 2, attributes.values[0].key == "n", attributes.values[1].key == "r" else {
            throw SCRAMError("client-first must start with n= and r=")
        }
        if attributes.value("m") != nil { throw SCRAMError("mandatory SCRAM extensions are not supported") }
        let username = try SCRAMAttributes.decodeName(attributes.values[0].value)
        if !parts[1].isEmpty {
            guard parts[1].hasPrefix("a="), try SCRAMAttributes.decodeName(String(parts[1].dropFirst(2))) == username else {
                throw SCRAMError("an authorization identity other than the user is not supported")
            }
        }
        let nonce = attributes.values[1].value
        guard !nonce.isEmpty, nonce.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { throw SCRAMError("malformed client nonce") }
        self.username = username
        self.clientFirstBare = bare
        self.clientNonce = nonce
        self.gs2Header = "\(parts[0]),\(parts[1]),"
    }

    /// server-first for the user's verifier. For an unknown user pass a decoy verifier: the
    /// exchange then fails at the proof, as for a wrong password, so user names cannot be probed.
    public mutating func serverFirst(verifier: SCRAMSHA256.Verifier, serverNonce: String = SCRAMSHA256.newNonce()) -> [UInt8] {
        let message = "r=\(clientNonce)\(serverNonce),s=\(Data(verifier.salt).base64EncodedString()),i=\(verifier.iterations)"
        self.verifier = verifier
        self.serverFirst = message
        return Array(message.utf8)
    }

    /// Checks client-final's proof; returns server-final (`v=SIGNATURE`) on success.
    public func finish(clientFinal bytes: [UInt8]) throws(SCRAMError) -> [UInt8] {
        guard let serverFirst, let verifier else { throw SCRAMError("client-final before server-first") }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw SCRAMError("client-final is not UTF-8") }
        guard let proofRange = text.ranges(of: ",p=").last else { throw SCRAMError("client-final has no proof") }
        let withoutProof = String(text[..<proofRange.lowerBound])
        let attributes = try SCRAMAttributes(withoutProof)
        guard attributes.value("c") == Data(gs2Header.utf8).base64EncodedString() else {
            throw SCRAMError("client-final's channel binding does not match its GS2 header")
        }
        let combinedNonce = serverFirst.split(separator: ",")[0].dropFirst(2)
        guard attributes.value("r").map({ $0 == combinedNonce }) == true else { throw SCRAMError("client-final's nonce does not match") }
        guard let proof = Data(base64Encoded: String(text[proofRange.upperBound...])).map(Array.init), proof.count == 32 else {
            throw SCRAMError("client-final's proof is not 32 base64 bytes")
        }
        let authMessage = Array("\(clientFirstBare),\(serverFirst),\(withoutProof)".utf8)
        let clientSignature = SCRAMSHA256.hmac(verifier.storedKey, authMessage)
        let clientKey = SCRAMSHA256.xor(proof, clientSignature)
        guard SCRAMSHA256.constantTimeEqual(SCRAMSHA256.sha256(clientKey), verifier.storedKey) else {
            throw SCRAMError("wrong password")
        }
        let serverSignature = SCRAMSHA256.hmac(verifier.serverKey, authMessage)
        return Array("v=\(Data(serverSignature).base64EncodedString())".utf8)
    }
}

/// The client side of one SCRAM-SHA-256 exchange (the host's MongoDB capture client).
public struct SCRAMClientConversation: Sendable {
    let username: String
    let password: String
    let clientNonce: String
    private var authMessage: [UInt8]?
    private var serverKey: [UInt8]?

    public init(username: String, password: String, clientNonce: String = SCRAMSHA256.newNonce()) {
        self.username = username
        self.password = password
        self.clientNonce = clientNonce
    }

    var clientFirstBare: String { "n=\(SCRAMAttributes.encodeName(username)),r=\(clientNonce)" }
    public var clientFirst: [UInt8] { Array("n,,\(clientFirstBare)".utf8) }

    /// client-final for server-first; refuses a server that does not extend our nonce or asks for
    /// too few (or absurdly many) iterations.
    public mutating func clientFinal(serverFirst bytes: [UInt8]) throws -> [UInt8] {
        guard let text = String(validating: bytes, as: UTF8.self) else { throw SCRAMError("server-first is not UTF-8") }
        let attributes = try SCRAMAttributes(text)
        guard let nonce = attributes.value("r"), nonce.hasPrefix(clientNonce), nonce.count > clientNonce.count else {
            throw SCRAMError("the server's nonce does not extend ours")
        }
        guard let saltText = attributes.value("s"), let salt = Data(base64Encoded: saltText) else {
            throw SCRAMError("server-first has no valid salt")
        }
        guard let iterations = attributes.value("i").flatMap(Int.init),
            (SCRAMSHA256.minimumIterations...SCRAMSHA256.maximumIterations).contains(iterations)
        else { throw SCRAMError("server-first asks for an iteration count outside 4096…1000000") }
        let salted = try SCRAMSHA256.saltedPassword(password, salt: Array(salt), iterations: iterations)
        let clientKey = SCRAMSHA256.hmac(salted, "Client Key")
        let withoutProof = "c=biws,r=\(nonce)"
        let authMessage = Array("\(clientFirstBare),\(text),\(withoutProof)".utf8)
        let proof = SCRAMSHA256.xor(clientKey, SCRAMSHA256.hmac(SCRAMSHA256.sha256(clientKey), authMessage))
        self.authMessage = authMessage
        self.serverKey = SCRAMSHA256.hmac(salted, "Server Key")
        return Array("\(withoutProof),p=\(Data(proof).base64EncodedString())".utf8)
    }

    /// Checks server-final's signature: the server, too, knew the password's verifier.
    public func verify(serverFinal bytes: [UInt8]) throws(SCRAMError) {
        guard let authMessage, let serverKey else { throw SCRAMError("server-final before server-first") }
        guard let text = String(validating: bytes, as: UTF8.self), text.hasPrefix("v="),
            let signature = Data(base64Encoded: String(text.dropFirst(2)))
        else { throw SCRAMError("server-final is not v=SIGNATURE (the server said \(String(decoding: bytes.prefix(80), as: UTF8.self)))") }
        guard SCRAMSHA256.constantTimeEqual(Array(signature), SCRAMSHA256.hmac(serverKey, authMessage)) else {
            throw SCRAMError("the server's signature is wrong: it does not know this user's password")
        }
    }
}

extension SCRAMSHA256 {
    /// HMAC-SHA-256 of a name under a secret: the server's decoy verifier for unknown users.
    public static func hmacForDecoy(_ secret: [UInt8], _ name: String) -> [UInt8] { hmac(secret, name) }
}
