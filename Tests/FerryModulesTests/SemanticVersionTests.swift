@testable import FerryModuleSpec
import FerryTestSupport
import Testing

@Suite struct SemanticVersionTests {
    static func v(_ text: String) -> SemanticVersion { try! SemanticVersion(parsing: text) }

    /// semver.org §11's example chain, extended past the release.
    static let chain = [
        "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1",
        "1.0.0", "1.0.1", "1.1.0", "2.0.0", "2.1.0", "2.1.1", "10.0.0",
    ]

    @Test func precedenceFollowsTheSpecificationsChain() {
        let versions = Self.chain.map(Self.v)
        for i in versions.indices {
            for j in versions.indices {
                #expect((versions[i] < versions[j]) == (i < j), "\(versions[i]) vs \(versions[j])")
                #expect((versions[i] == versions[j]) == (i == j))
            }
        }
        var generator = SeededGenerator(seed: 16)
        for _ in 0..<20 { #expect(versions.shuffled(using: &generator).sorted() == versions) }
    }

    @Test func numericIdentifiersCompareByValueAndBeforeAlphanumericOnes() {
        #expect(Self.v("1.0.0-2") < Self.v("1.0.0-10"))
        #expect(Self.v("1.0.0-beta.9") < Self.v("1.0.0-beta.10"))
        // Longer than any machine integer: still compared as numbers.
        #expect(Self.v("1.0.0-beta.11") < Self.v("1.0.0-beta.99999999999999999999999"))
        #expect(Self.v("1.0.0-99999999999999999999999") < Self.v("1.0.0-a"))
        // "-1" holds a hyphen, so it is alphanumeric, and ranks above every number.
        #expect(Self.v("1.0.0-1") < Self.v("1.0.0--1"))
        // ASCII order: upper case before lower case.
        #expect(Self.v("1.0.0-Beta") < Self.v("1.0.0-alpha"))
        #expect(Self.v("1.0.0-alpha") < Self.v("1.0.0-alpha.0"))
    }

    @Test func buildMetadataHasNoPrecedenceButIsKept() {
        let a = Self.v("1.0.0+build.1")
        let b = Self.v("1.0.0+exp.sha.5114f85")
        #expect(a == b)
        #expect(!(a < b) && !(b < a))
        #expect(Set([a, b]).count == 1)
        #expect(b.description == "1.0.0+exp.sha.5114f85")
        #expect(Self.v("1.0.0-rc.1+x") < Self.v("1.0.0"))
    }

    @Test(arguments: [
        "0.0.0", "10.20.30", "1.1.2-prerelease+meta", "1.0.0-alpha-a.b-c-somethinglong+build.1-aef.1-its-okay",
        "1.2.3----RC-SNAPSHOT.12.9.1--.12+788", "1.0.0-0A.is.legal", "2.0.0+build.1848", "1.0.0+0.build.1-rc.10000aaa-kk-0.1",
        "99999999999999999.0.0",
    ])
    func validVersionsParseAndPrintBack(_ text: String) throws {
        #expect(try SemanticVersion(parsing: text).description == text)
    }

    @Test(arguments: [
        "1", "1.2", "1.2.3.4", "01.1.1", "1.01.1", "1.1.01", "1.2.3-0123", "1.2.3-0123.0123", "1.2.3-", "1.2.3+", "1.2.3-a..b",
        "1.2.3+a..b", "v1.2.3", " 1.2.3", "1.2.3 ", "-1.2.3", "1.2.3-alpha_beta", "1.2.3-é", "+invalid", "1.2", "1.2.*",
        "99999999999999999999999.0.0", "", "1.-1.0", "1.2.3-+",
    ])
    func invalidVersionsAreRefusedWithTheReason(_ text: String) {
        #expect(throws: SemanticVersion.ParseError.self) { try SemanticVersion(parsing: text) }
    }

    @Test func theErrorSaysWhatWasWrong() {
        #expect(throws: SemanticVersion.ParseError(text: "1.02.0", reason: "02 has a leading zero")) { try SemanticVersion(parsing: "1.02.0") }
        do {
            _ = try SemanticVersion(parsing: "1.2")
        } catch {
            #expect(error.description.contains("\"1.2\" is not a semantic version (it needs three numbers"))
        }
    }
}

@Suite struct VersionPinTests {
    static let published = ["0.9.0", "1.0.0", "1.0.1", "1.1.0-rc.1", "1.1.0", "1.2.0-beta.1", "2.0.0-rc.1"].map(SemanticVersionTests.v)

    @Test(arguments: [
        ("1.0.*", "1.0.1"), ("1.*", "1.1.0"), ("0.*", "0.9.0"), ("latest", "1.1.0"), ("latest-with-prerelease", "2.0.0-rc.1"),
        ("1.0.0", "1.0.0"), ("1.1.0-rc.1", "1.1.0-rc.1"), ("2.0.0-rc.1", "2.0.0-rc.1"),
    ])
    func eachPinFormSelectsTheNewestItAccepts(_ pin: String, _ expected: String) throws {
        let parsed = try VersionPin(parsing: pin)
        #expect(parsed.description == pin)
        #expect(parsed.select(from: Self.published) == SemanticVersionTests.v(expected))
    }

    @Test(arguments: ["1.2.*", "2.*", "3.*", "1.0.2", "2.0.0"])
    func wildcardsSkipPrereleasesAndMissingVersionsResolveToNothing(_ pin: String) throws {
        #expect(try VersionPin(parsing: pin).select(from: Self.published) == nil)
    }

    @Test(arguments: ["", "1.2", "*", "1.*.*", "1.*.3", "*.1", "01.*", "1.02.*", "latest-prerelease", "LATEST", "1.2.x", "^1.2.0", "~1.2", ">=1.0.0"])
    func badPinsAreRefused(_ pin: String) {
        #expect(throws: VersionPin.ParseError.self) { try VersionPin(parsing: pin) }
    }

    @Test func thePinErrorListsTheForms() {
        do {
            _ = try VersionPin(parsing: "1.2")
            Issue.record("1.2 parsed")
        } catch {
            #expect(error.description.contains("use 1.2.0, 1.2.*, 1.*, latest or latest-with-prerelease"))
        }
    }
}

@Suite struct ModuleNameTests {
    @Test func moduleIDsAreNamespaceColonName() throws {
        let id = try ModuleID(parsing: "acme:tmp117")
        #expect(id.namespace == "acme" && id.name == "tmp117" && id.relativePath == "acme/tmp117")
        #expect(try ModuleID(parsing: "b9a2c1e0-1111-2222-3333-444455556666:my_sensor").name == "my_sensor")
        for bad in ["acme", "acme:", ":x", "a:b:c", "../x:y", "acme:../y", "acme:a/b", "acme:.x", "-a:b", "acme: x", "_a:b"] {
            #expect(throws: ModuleID.ParseError.self, "\(bad)") { try ModuleID(parsing: bad) }
        }
    }

    @Test func platformsAreOSSlashArchOrAny() throws {
        #expect(try Platform(parsing: "linux/arm64").archiveName == "linux-arm64.tar.gz")
        #expect(Platform.any.archiveName == "any.tar.gz")
        #expect(Platform.host.candidates == [Platform.host, .any])
        #expect(Platform.host.value.hasPrefix("linux/") || Platform.host.value.hasPrefix("darwin/"))
        for bad in ["linux", "linux/", "/arm64", "Linux/AMD64", "linux/amd64/v2", "linux/../x", ""] {
            #expect(throws: Platform.ParseError.self, "\(bad)") { try Platform(parsing: bad) }
        }
    }
}
