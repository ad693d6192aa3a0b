import FerryStore
import FerryTestSupport
import Foundation
import Testing

@testable import FerryAPI

@Suite struct TokenSignerTests {
    let dir: TemporaryDirectory
    let identity = APIKeyIdentity(keyID: "4f1c0c7e-7a57-4d6b-9a0e-7c1d2b3a4f5e", organizationID: "org-1", role: .operator)

    init() throws { dir = try TemporaryDirectory("ferry-tokens") }

    func signer(lifetime: Duration = .seconds(3600)) throws -> TokenSigner {
        try TokenSigner(secretFile: dir.file("token-secret"), lifetime: lifetime)
    }

    @Test func aTokenVerifiesToItsIdentityUntilItExpires() throws {
        defer { dir.remove() }
        let signer = try signer()
        let issued = Date(timeIntervalSince1970: 1_800_000_000)
        let (token, expires) = signer.issue(for: identity, now: issued)
        #expect(expires == issued.addingTimeInterval(3600))
        #expect(try signer.verify(token, now: issued.addingTimeInterval(3599)) == identity)
        #expect(throws: TokenError.self) { try signer.verify(token, now: issued.addingTimeInterval(3600)) }
    }

    @Test func aMachineKeysTokenCarriesItsLocationAndMachine() throws {
        defer { dir.remove() }
        let signer = try signer()
        var machineKey = identity
        machineKey.scope = MachineScope(locationID: "loc-north", robotID: "rover-3")
        #expect(try signer.verify(signer.issue(for: machineKey).token) == machineKey)
        #expect(try signer.verify(signer.issue(for: identity).token).scope == .none)
    }

    @Test func theSecretPersistsAcrossRestartsWithOwnerOnlyPermissions() throws {
        defer { dir.remove() }
        let (token, _) = try signer().issue(for: identity)
        #expect(try signer().verify(token) == identity)  // a new signer reads the same secret
        let permissions = try FileManager.default.attributesOfItem(atPath: dir.file("token-secret"))[.posixPermissions] as? Int
        #expect(permissions == 0o600)
    }

    @Test func tamperedOrForeignTokensAreRefused() throws {
        defer { dir.remove() }
        let signer = try signer()
        let (token, _) = signer.issue(for: identity)
        let parts = token.split(separator: ".").map(String.init)
        // Claim to be an owner with the operator's signature.
        let forged = TokenSigner.base64url(Data([UInt8](repeating: 0x41, count: 8))) + "." + parts[1]
        for bad in [forged, parts[0] + "." + String(parts[1].reversed()), "not-a-token", "", token + "x"] {
            #expect(throws: TokenError.self, "\(bad)") { try signer.verify(bad) }
        }
        let otherServer = try TokenSigner(secretFile: dir.file("other-secret"), lifetime: .seconds(3600))
        #expect(throws: TokenError.self) { try otherServer.verify(token) }
    }
}
