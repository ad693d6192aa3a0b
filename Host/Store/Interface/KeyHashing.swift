import FerryBSON
import Crypto
import _CryptoExtras

/// API key secrets and their stored form: PBKDF2-HMAC-SHA256 with a random 16-byte salt, written
/// as `pbkdf2-sha256$<rounds>$<salt hex>$<hash hex>` so that rounds can be raised later without
/// invalidating existing keys. Secrets are random (≈165 bits), so the slow hash is defence in depth
/// should the database leak, not the only protection.
package enum KeyHashing {
    package static let scheme = "pbkdf2-sha256"
    /// swift-crypto's floor for PBKDF2-SHA256 (OWASP 2023's minimum for the checked API).
    package static let defaultRounds = 210_000
    package static let secretLength = 32
    private static let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789".utf8)

    /// A new secret: lowercase letters and digits, like Viam's keys, easy to paste into a shell.
    package static func newSecret() -> String {
        var generator = SystemRandomNumberGenerator()  // getrandom(2): cryptographically secure
        let bytes = (0..<secretLength).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &generator)] }
        return String(decoding: bytes, as: UTF8.self)
    }

    package static func hash(secret: String, rounds: Int) throws -> String {
        var generator = SystemRandomNumberGenerator()
        let salt = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let derived = try derive(secret: secret, salt: salt, rounds: rounds)
        return "\(scheme)$\(rounds)$\(Hex.encode(salt))$\(Hex.encode(derived))"
    }

    /// True if `secret` hashes to `stored`. Compares in constant time; a malformed `stored` is
    /// simply a mismatch.
    package static func verify(secret: String, stored: String) -> Bool {
        let parts = stored.split(separator: "$", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == scheme, let rounds = Int(parts[1]), rounds > 0, rounds <= 10_000_000,
            let salt = Hex.decode(parts[2]), let expected = Hex.decode(parts[3]), !expected.isEmpty,
            let derived = try? derive(secret: secret, salt: salt, rounds: rounds)
        else { return false }
        return constantTimeEqual(derived, expected)
    }

    /// Burns the same time as a real verification, so that an unknown key id cannot be told from
    /// a wrong secret by timing.
    package static func verifyAgainstNothing(secret: String, rounds: Int) {
        _ = try? derive(secret: secret, salt: [UInt8](repeating: 0, count: 16), rounds: rounds)
    }

    private static func derive(secret: String, salt: [UInt8], rounds: Int) throws -> [UInt8] {
        // The unchecked entry point lets tests use few rounds; production uses `defaultRounds`.
        let key = try KDF.Insecure.PBKDF2.deriveKey(
            from: Array(secret.utf8), salt: salt, using: .sha256, outputByteCount: 32, unsafeUncheckedRounds: rounds)
        return key.withUnsafeBytes { Array($0) }
    }

    package static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }
}
