import Foundation
import Testing

@testable import FerryMongoWire

@Suite struct SCRAMTests {
    // RFC 7677 §3: user "user", password "pencil", 4096 iterations.
    static let clientNonce = "rOprNGfwEbeRWgbNEkqO"
    static let serverNonce = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
    static let salt = [UInt8](Data(base64Encoded: "W22ZaJ0SNY7soEsUEjb6gQ==")!)
    static let clientFinal = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
    static let serverFinal = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="

    @Test func theClientSideReproducesRFC7677() throws {
        var client = SCRAMClientConversation(username: "user", password: "pencil", clientNonce: Self.clientNonce)
        #expect(String(decoding: client.clientFirst, as: UTF8.self) == "n,,n=user,r=rOprNGfwEbeRWgbNEkqO")
        let serverFirst = "r=\(Self.clientNonce)\(Self.serverNonce),s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
        let final = try client.clientFinal(serverFirst: Array(serverFirst.utf8))
        #expect(String(decoding: final, as: UTF8.self) == Self.clientFinal)
        try client.verify(serverFinal: Array(Self.serverFinal.utf8))
        #expect(throws: SCRAMError.self) { try client.verify(serverFinal: Array("v=AAAA".utf8)) }
    }

    @Test func theServerSideReproducesRFC7677FromTheStoredVerifierAlone() throws {
        let verifier = try SCRAMSHA256.verifier(password: "pencil", salt: Self.salt, iterations: 4096)
        var server = try SCRAMServerConversation(clientFirst: Array("n,,n=user,r=rOprNGfwEbeRWgbNEkqO".utf8))
        #expect(server.username == "user")
        let serverFirst = server.serverFirst(verifier: verifier, serverNonce: Self.serverNonce)
        #expect(String(decoding: serverFirst, as: UTF8.self) == "r=\(Self.clientNonce)\(Self.serverNonce),s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096")
        let final = try server.finish(clientFinal: Array(Self.clientFinal.utf8))
        #expect(String(decoding: final, as: UTF8.self) == Self.serverFinal)
    }

    @Test func aWrongPasswordATamperedNonceOrChannelBindingFail() throws {
        let verifier = try SCRAMSHA256.verifier(password: "Right-Pass1", iterations: 4096)
        for (password, mutate) in [("Wrong-Pass1", { (s: String) in s }), ("Right-Pass1", { $0.replacingOccurrences(of: "c=biws", with: "c=eSws") })] {
            var server = try SCRAMServerConversation(clientFirst: Array("n,,n=db-user-x,r=abc".utf8))
            var client = SCRAMClientConversation(username: "db-user-x", password: password, clientNonce: "abc")
            let final = try client.clientFinal(serverFirst: server.serverFirst(verifier: verifier))
            #expect(throws: SCRAMError.self) { try server.finish(clientFinal: Array(mutate(String(decoding: final, as: UTF8.self)).utf8)) }
        }
        // The right password passes the same way.
        var server = try SCRAMServerConversation(clientFirst: Array("n,,n=db-user-x,r=abc".utf8))
        var client = SCRAMClientConversation(username: "db-user-x", password: "Right-Pass1", clientNonce: "abc")
        let final = try client.clientFinal(serverFirst: server.serverFirst(verifier: verifier))
        try client.verify(serverFinal: try server.finish(clientFinal: final))
    }

    @Test func malformedClientFirstMessagesAreRefused() {
        for text in ["", "n,,", "p=tls-unique,,n=u,r=x", "n,,r=x,n=u", "n,,n=u", "n,,n=a=b,r=x", "n,a=other,n=u,r=x", "n,,n=u,r=x,m=ext"] {
            #expect(throws: SCRAMError.self, "\(text)") { try SCRAMServerConversation(clientFirst: Array(text.utf8)) }
        }
        #expect(throws: Never.self) { try SCRAMServerConversation(clientFirst: Array("n,,n=a=2Cb=3Dc,r=x".utf8)) }
        #expect((try? SCRAMServerConversation(clientFirst: Array("n,,n=a=2Cb=3Dc,r=x".utf8)))?.username == "a,b=c")
    }

    @Test func aClientRefusesAServerThatDoesNotExtendItsNonceOrAsksTooFewIterations() {
        var client = SCRAMClientConversation(username: "u", password: "p", clientNonce: "abc")
        #expect(throws: (any Error).self) { try client.clientFinal(serverFirst: Array("r=xyz,s=AAAA,i=4096".utf8)) }
        #expect(throws: (any Error).self) { try client.clientFinal(serverFirst: Array("r=abcdef,s=AAAA,i=100".utf8)) }
    }
}

@Suite struct DatabaseUserPolicyTests {
    @Test func viamsPasswordRulesAreEnforcedNamingEachBrokenRule() {
        #expect(DatabaseUserPolicy.problems("S3cret!pass").isEmpty)
        #expect(DatabaseUserPolicy.problems("Your_Password@1234").isEmpty)
        #expect(DatabaseUserPolicy.problems("Ab1$") == ["it must be at least 8 characters long (it has 4)"])
        #expect(DatabaseUserPolicy.problems("abcdefg1$") == ["it must include an uppercase letter"])
        #expect(DatabaseUserPolicy.problems("Abcdefgh$") == ["it must include a number"])
        #expect(DatabaseUserPolicy.problems("Abcdefgh1") == ["it must include a special character such as $ or %"])
        #expect(DatabaseUserPolicy.problems("Abcdefg h1") == ["it must include a special character such as $ or %"])
        #expect(DatabaseUserPolicy.problems("Pässwort1!") == ["it may contain printable ASCII characters only (letters, digits, space and punctuation), not U+E4"])
        #expect(DatabaseUserPolicy.problems("short").count == 4)
    }

    @Test func userNamesAreViams() {
        #expect(DatabaseUserPolicy.userName(organizationID: "abc") == "db-user-abc")
        #expect(DatabaseUserPolicy.organizationID(userName: "db-user-abc") == "abc")
        #expect(DatabaseUserPolicy.organizationID(userName: "db-user-") == nil)
        #expect(DatabaseUserPolicy.organizationID(userName: "admin") == nil)
    }
}
