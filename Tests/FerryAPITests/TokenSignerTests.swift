import FerryStore
import Foundation
import Testing

@testable import FerryAPI

@Suite struct TokenSignerTests {
    let identity = APIKeyIdentity(keyID: "4f1c0c7e-7a57-4d6b-9a0e-7c1d2b3a4f5e", organizationID: "org-1", role: .operator)
    let key = (0..<32).map { UInt8($0 * 7 % 256) }

    func signer(lifetime: Duration = .seconds(3600)) throws -> TokenSigner {
        try TokenSigner(key: key, lifetime: lifetime)
    }

    @Test func aTokenVerifiesToItsIdentityUntilItExpires() throws {
        let signer = try signer()
        let issued = Date(timeIntervalSince1970: 1_800_000_000)
        let (token, expires) = signer.issue(for: identity, now: issued)
        #expect(expires == issued.addingTimeInterval(3600))
        #expect(try signer.verify(token, now: issued.addingTimeInterval(3599)) == identity)
        #expect(throws: TokenError.self) { try signer.verify(token, now: issued.addingTimeInterval(3600)) }
    }

    @Test func aMachineKeysTokenCarriesItsLocationAndMachine() throws {
        let signer = try signer()
        var machineKey = identity
        machineKey.scope = MachineScope(locationID: "loc-north", robotID: "rover-3")
        #expect(try signer.verify(signer.issue(for: machineKey).token) == machineKey)
        #expect(try signer.verify(signer.issue(for: identity).token).scope == .none)
    }

    @Test func aSignerWithTheSameKeyAcceptsTheTokenAndAShortKeyIsRefused() throws {
        let (token, _) = try signer().issue(for: identity)
        #expect(try TokenSigner(key: key, lifetime: .seconds(60)).verify(token) == identity, "another replica, same store key")
        #expect(throws: TokenError.self) { try TokenSigner(key: [1, 2, 3], lifetime: .seconds(60)) }
    }

    @Test func tamperedOrForeignTokensAreRefused() throws {
        let signer = try signer()
        let (token, _) = signer.issue(for: identity)
        let parts = token.split(separator: ".").map(String.init)
        // Claim to be an owner with the operator's signature.
        let forged = TokenSigner.base64url(Data([UInt8](repeating: 0x41, count: 8))) + "." + parts[1]
        for bad in [forged, parts[0] + "." + String(parts[1].reversed()), "not-a-token", "", token + "x"] {
            #expect(throws: TokenError.self, "\(bad)") { try signer.verify(bad) }
        }
        let otherServer = try TokenSigner(key: key.map { $0 ^ 1 }, lifetime: .seconds(3600))
        #expect(throws: TokenError.self) { try otherServer.verify(token) }
    }
}
