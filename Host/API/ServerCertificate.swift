import Crypto
import Foundation
import SwiftASN1
import X509

/// The TLS identity `ferry serve` uses: given files, or a self-signed certificate created in the
/// data directory on first start (valid for localhost, 127.0.0.1 and this machine's host name).
struct ServerCertificate {
    let certificatePath: String
    let keyPath: String

    struct Unwritable: Error, CustomStringConvertible {
        var description: String
    }

    static func selfSigned(in directory: String) throws -> ServerCertificate {
        let certificate = URL(fileURLWithPath: directory).appendingPathComponent("tls-cert.pem").path
        let key = URL(fileURLWithPath: directory).appendingPathComponent("tls-key.pem").path
        if FileManager.default.fileExists(atPath: certificate), FileManager.default.fileExists(atPath: key) {
            return ServerCertificate(certificatePath: certificate, keyPath: key)
        }
        let privateKey = P256.Signing.PrivateKey()
        let now = Date()
        let name = try DistinguishedName { CommonName("ferry serve (self-signed)") }
        let host = ProcessInfo.processInfo.hostName
        // No KeyUsage extension: BoringSSL clients refuse a self-signed anchor whose KeyUsage
        // lacks keyCertSign, and Python's and Go's clients accept it without one.
        let cert = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(privateKey.publicKey),
            notValidBefore: now.addingTimeInterval(-300), notValidAfter: now.addingTimeInterval(10 * 365 * 86_400),
            issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                try ExtendedKeyUsage([.serverAuth])
                SubjectAlternativeNames(
                    [.dnsName("localhost"), .ipAddress(ASN1OctetString(contentBytes: [127, 0, 0, 1]))]
                        + (host.isEmpty || host == "localhost" ? [] : [.dnsName(host)]))
            }, issuerPrivateKey: .init(privateKey))
        // The key first: a certificate on disk then always has its key beside it, even after a crash.
        guard
            FileManager.default.createFile(
                atPath: key, contents: Data(privateKey.pemRepresentation.utf8), attributes: [.posixPermissions: 0o600])
        else {
            throw Unwritable(description: "cannot write the TLS key \(key); check that the data directory is writable")
        }
        try Data(try cert.serializeAsPEM().pemString.utf8).write(to: URL(fileURLWithPath: certificate), options: .atomic)
        return ServerCertificate(certificatePath: certificate, keyPath: key)
    }
}
