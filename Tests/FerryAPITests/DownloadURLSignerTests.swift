import Foundation
import Testing

@testable import FerryAPI

@Suite struct DownloadURLSignerTests {
    let key = (0..<32).map { UInt8($0 * 11 % 256) }
    let issued = Date(timeIntervalSince1970: 1_800_000_000)

    func uri(_ signer: DownloadURLSigner, org: String = "org-1", id: String = "bin-7", minutes: Double = 15) -> String {
        signer.pathAndQuery(for: .init(organizationID: org, binaryID: id, expires: issued.addingTimeInterval(minutes * 60)))
    }

    func refusal(_ signer: DownloadURLSigner, _ uri: String, at now: Date) -> DownloadURLSigner.Refusal? {
        do {
            _ = try signer.verify(uri: uri, now: now)
            return nil
        } catch {
            return error
        }
    }

    @Test func aURLNamesItsPayloadUntilItExpires() throws {
        let signer = DownloadURLSigner(tokenSigningKey: key)
        let uri = uri(signer)
        #expect(uri.hasPrefix("/download/org-1/bin-7?expires=1800000900&signature="))
        let grant = try signer.verify(uri: uri, now: issued.addingTimeInterval(899))
        #expect(grant == .init(organizationID: "org-1", binaryID: "bin-7", expires: issued.addingTimeInterval(900)))
        // Another replica derives the same key from the same store key.
        #expect(try DownloadURLSigner(tokenSigningKey: key).verify(uri: uri, now: issued) == grant)
        #expect(refusal(signer, uri, at: issued.addingTimeInterval(900)) == .expired)
        #expect(refusal(signer, uri, at: issued.addingTimeInterval(86_400)) == .expired)
    }

    @Test func tamperedURLsAreRefused() throws {
        let signer = DownloadURLSigner(tokenSigningKey: key)
        let good = uri(signer)
        let cases: [(String, String)] = [
            ("another id", good.replacingOccurrences(of: "/bin-7?", with: "/bin-8?")),
            ("another organisation", good.replacingOccurrences(of: "/org-1/", with: "/org-2/")),
            ("a later expiry", good.replacingOccurrences(of: "expires=1800000900", with: "expires=1900000900")),
            ("another signature", good.replacingOccurrences(of: "signature=", with: "signature=AAAA")),
            ("another key's URL", uri(DownloadURLSigner(tokenSigningKey: key.reversed()))),
        ]
        for (what, uri) in cases {
            #expect(refusal(signer, uri, at: issued) == .badSignature, "\(what): \(uri)")
        }
        // A tampered URL is refused as tampered even after it would have expired.
        #expect(refusal(signer, cases[0].1, at: issued.addingTimeInterval(86_400)) == .badSignature)
        for malformed in ["/download/org-1/bin-7", "/download/org-1/bin-7?expires=x&signature=abc", "/other/org-1/bin-7?expires=1&signature=a",
                          "/download/bin-7?expires=1800000900&signature=abc", good.replacingOccurrences(of: "signature=", with: "signature=!!")] {
            #expect(refusal(signer, malformed, at: issued) == .malformed, "\(malformed)")
        }
    }

    @Test func idsWithReservedCharactersRoundTrip() throws {
        let signer = DownloadURLSigner(tokenSigningKey: key)
        let uri = uri(signer, org: "org 1", id: "a/b?c&d%e")
        #expect(!uri.dropFirst("/download/".count).split(separator: "?")[0].contains(" "))
        let grant = try signer.verify(uri: uri, now: issued)
        #expect(grant.organizationID == "org 1" && grant.binaryID == "a/b?c&d%e")
    }
}
