import FerryTestSupport
import Foundation
import Testing
import X509

@testable import FerryAPI

@Suite struct ServerCertificateTests {
    static func ipAddresses(_ path: String) throws -> Set<String> {
        let certificate = try Certificate(pemEncoded: String(contentsOfFile: path, encoding: .utf8))
        let names = try #require(try certificate.extensions.subjectAlternativeNames)
        return Set(names.compactMap { name in
            guard case .ipAddress(let bytes) = name else { return nil }
            return bytes.bytes.map(String.init).joined(separator: ".")
        })
    }

    @Test func listeningOnEveryInterfaceNamesEveryInterfaceAddress() throws {
        let dir = try TemporaryDirectory("ferry-cert")
        defer { dir.remove() }
        let made = try ServerCertificate.selfSigned(in: dir.path, listenHost: "0.0.0.0")
        let named = try Self.ipAddresses(made.certificatePath)
        #expect(named.contains("127.0.0.1"))
        #expect(Set(ServerCertificate.interfaceAddresses()).isSubset(of: named), "\(named)")
        #expect(made.unnamedAddresses.isEmpty)
    }

    @Test func aListenAddressIsNamedAndAnEarlierCertificateThatLacksItIsReported() throws {
        let dir = try TemporaryDirectory("ferry-cert")
        defer { dir.remove() }
        let made = try ServerCertificate.selfSigned(in: dir.path, listenHost: "10.1.2.3")
        #expect(try Self.ipAddresses(made.certificatePath) == ["127.0.0.1", "10.1.2.3"])
        let pem = try String(contentsOfFile: made.certificatePath, encoding: .utf8)
        // Started again on another address: the same certificate, and the address it lacks.
        let again = try ServerCertificate.selfSigned(in: dir.path, listenHost: "10.9.9.9")
        #expect(try String(contentsOfFile: again.certificatePath, encoding: .utf8) == pem)
        #expect(again.unnamedAddresses == ["10.9.9.9"])
        #expect(try ServerCertificate.selfSigned(in: dir.path, listenHost: "10.1.2.3").unnamedAddresses.isEmpty)
    }
}
