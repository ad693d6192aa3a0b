import Crypto
import FerryBSON
import FerryModules
import Foundation
import Testing

@Suite struct SigningTests {
    /// RFC 8032 §7.1, test 1: the empty message.
    static let rfcSeed = Hex.decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")!
    static let rfcPublic = Hex.decode("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")!
    static let rfcSignature = Hex.decode(
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b")!

    static func pkcs8PEM(seed: [UInt8]) -> String {
        let der = [0x30, 0x2E, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20] + seed
        return "-----BEGIN PRIVATE KEY-----\n\(Data(der).base64EncodedString())\n-----END PRIVATE KEY-----\n"
    }

    @Test func theRFC8032VectorReadsFromPEMAndVerifies() throws {
        let key = try SigningKey(pem: Self.pkcs8PEM(seed: Self.rfcSeed), source: "rfc.key")
        #expect(Array(key.publicKey.key.rawRepresentation) == Self.rfcPublic)
        #expect(key.publicKey.isValidSignature(Data(Self.rfcSignature), for: Data()))
        // Ed25519 is deterministic here (BoringSSL), so ours is the RFC's signature byte for byte.
        #expect(Array(try key.sign(Data())) == Self.rfcSignature)
        // OpenSSL's `openssl pkey -pubout` text for this key.
        #expect(key.publicKey.pem == "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n-----END PUBLIC KEY-----\n")
    }

    @Test func keysRoundTripThroughPEM() throws {
        let key = SigningKey()
        let again = try SigningKey(pem: key.pem, source: "k")
        #expect(again.publicKey == key.publicKey)
        let pub = try TrustedKey(pem: key.publicKey.pem, source: "k.pub")
        #expect(pub == key.publicKey)
        #expect(pub.id.count == 16 && pub.id == key.publicKey.id)
        #expect(throws: RegistryError.self) { try TrustedKey(pem: key.pem, source: "a private key given as trust") }
        #expect(throws: RegistryError.self) { try SigningKey(pem: key.publicKey.pem, source: "a public key given as key") }
        #expect(throws: RegistryError.self) { try TrustedKey(pem: "-----BEGIN PUBLIC KEY-----\n!!!\n-----END PUBLIC KEY-----", source: "x") }
    }

    @Test func preAuthenticationEncodingIsDSSEs() {
        // The DSSE specification's own example.
        let pae = SignedEnvelope.preAuthenticationEncoding(type: "http://example.com/HelloWorld", payload: Data("hello world".utf8))
        #expect(String(decoding: pae, as: UTF8.self) == "DSSEv1 29 http://example.com/HelloWorld 11 hello world")
    }

    @Test func anEnvelopeVerifiesOnlyUnchangedAndOnlyWithATrustedKey() throws {
        let publisher = SigningKey()
        let stranger = SigningKey()
        let payload = Data(#"{"hello": "world"}"#.utf8)
        let envelope = try SignedEnvelope.sign(payload, with: publisher)
        let decoded = try SignedEnvelope.decode(envelope.encoded(), source: "index.json")
        let verified = try decoded.verify(trusting: [stranger.publicKey, publisher.publicKey], source: "index.json")
        #expect(verified.payload == payload && verified.signer == publisher.publicKey)

        var tampered = decoded
        tampered.payload = Data(#"{"hello": "World"}"#.utf8).base64EncodedString()
        let altered = #expect(throws: RegistryError.self) { try tampered.verify(trusting: [publisher.publicKey], source: "index.json") }
        #expect(altered?.kind == .refused)
        #expect(altered?.message.contains("does not match the index: it was altered after signing") == true)

        let untrusted = #expect(throws: RegistryError.self) { try decoded.verify(trusting: [stranger.publicKey], source: "index.json") }
        #expect(untrusted?.message.contains("signed by key \(publisher.publicKey.id), which this machine does not trust") == true)
        #expect(untrusted?.message.contains("--trust KEY.pub") == true)

        var retyped = decoded
        retyped.payloadType = "text/plain"
        #expect(throws: RegistryError.self) { try retyped.verify(trusting: [publisher.publicKey], source: "index.json") }
    }
}
