import Crypto
import Foundation
import SwiftASN1
import X509

/// The TLS identity `ferry serve` uses: given files, or a self-signed certificate created in the
/// data directory on first start. It names localhost, 127.0.0.1, this machine's host name and the
/// listen address; listening on 0.0.0.0 names every IPv4 address of this machine's interfaces, so a
/// host elsewhere on the network can dial the server by IP and trust `tls-cert.pem`.
struct ServerCertificate {
    let certificatePath: String
    let keyPath: String
    /// Listen addresses the certificate (one made earlier) does not name: clients dialling them
    /// will refuse it.
    var unnamedAddresses: [String] = []

    struct Unwritable: Error, CustomStringConvertible {
        var description: String
    }

    static func selfSigned(in directory: String, listenHost: String = "127.0.0.1") throws -> ServerCertificate {
        let certificate = URL(fileURLWithPath: directory).appendingPathComponent("tls-cert.pem").path
        let key = URL(fileURLWithPath: directory).appendingPathComponent("tls-key.pem").path
        let addresses = listenHost == "0.0.0.0" ? interfaceAddresses() : [listenHost]
        if FileManager.default.fileExists(atPath: certificate), FileManager.default.fileExists(atPath: key) {
            var existing = ServerCertificate(certificatePath: certificate, keyPath: key)
            if let pem = try? String(contentsOfFile: certificate, encoding: .utf8), let parsed = try? Certificate(pemEncoded: pem),
                let names = try? parsed.extensions.subjectAlternativeNames
            {
                let named = Set(names.compactMap { name -> [UInt8]? in
                    if case .ipAddress(let bytes) = name { return Array(bytes.bytes) }
                    return nil
                })
                existing.unnamedAddresses = addresses.filter { ipv4Bytes($0).map { !named.contains($0) } ?? false }
            }
            return existing
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
                        + (host.isEmpty || host == "localhost" ? [] : [.dnsName(host)])
                        + addresses.filter { $0 != "127.0.0.1" }.compactMap(ipv4Bytes).map {
                            .ipAddress(ASN1OctetString(contentBytes: ArraySlice($0)))
                        })
            }, issuerPrivateKey: .init(privateKey))
        // With PostgreSQL the directory holds only this certificate: nothing else has made it yet.
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
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

    /// The four bytes of an IPv4 literal, or nil for anything else.
    static func ipv4Bytes(_ text: String) -> [UInt8]? {
        var address = in_addr()
        guard inet_pton(AF_INET, text, &address) == 1 else { return nil }
        return withUnsafeBytes(of: address.s_addr) { Array($0) }
    }

    /// Every IPv4 address of this machine's interfaces, loopback included.
    static func interfaceAddresses() -> [String] {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0, let first = list else { return ["127.0.0.1"] }
        defer { freeifaddrs(list) }
        var addresses: [String] = []
        for entry in sequence(first: first, next: { $0.pointee.ifa_next }) {
            guard let socketAddress = entry.pointee.ifa_addr, socketAddress.pointee.sa_family == sa_family_t(AF_INET) else { continue }
            var text = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
            socketAddress.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { ipv4 in
                var address = ipv4.pointee.sin_addr
                _ = inet_ntop(AF_INET, &address, &text, socklen_t(INET_ADDRSTRLEN))
            }
            let address = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if !addresses.contains(address) { addresses.append(address) }
        }
        return addresses
    }
}
