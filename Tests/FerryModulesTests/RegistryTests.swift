import FerryModuleSpec
import FerryModules
import FerryTestSupport
import Foundation
import Logging
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A registry directory, a publisher's key, a machine's cache: the registry's whole path in
/// process, with real files (no network here; `RegistryHTTPTests` and the end-to-end tests
/// add servers).
final class RegistryFixture: @unchecked Sendable {
    // @unchecked: used by one test at a time.
    let dir: TemporaryDirectory
    let key = SigningKey()
    var registry: String { dir.file("registry") }
    var cache: ModuleCache { ModuleCache(root: dir.file("cache")) }
    let id = try! ModuleID(parsing: "acme:counter")
    var now = Date()

    init() throws { dir = try TemporaryDirectory("ferry-registry") }
    deinit { dir.remove() }

    var publisher: RegistryPublisher {
        var publisher = RegistryPublisher(root: registry, key: key)
        let now = self.now
        publisher.now = { now }
        return publisher
    }

    /// An archive holding `libcounter.so` whose text is `content`, and `meta.json`.
    func archive(_ content: String, firstRun: (name: String, script: String)? = nil) throws -> (path: String, meta: ModuleMeta) {
        let work = dir.file("build-\(UUID().uuidString.prefix(6))")
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        try Data(content.utf8).write(to: URL(fileURLWithPath: "\(work)/libcounter.so"))
        var meta = ModuleMeta(moduleID: id.description)
        meta.entrypoint = "libcounter.so"
        var files = [("libcounter.so", "\(work)/libcounter.so"), ("meta.json", "\(work)/meta.json")]
        if let firstRun {
            try Data(firstRun.script.utf8).write(to: URL(fileURLWithPath: "\(work)/\(firstRun.name)"))
            chmod("\(work)/\(firstRun.name)", 0o755)
            meta.firstRun = firstRun.name
            files.append((firstRun.name, "\(work)/\(firstRun.name)"))
        }
        try meta.encoded().write(to: URL(fileURLWithPath: "\(work)/meta.json"))
        try ModuleArchive.pack(files, to: "\(work)/module.tar.gz")
        return ("\(work)/module.tar.gz", meta)
    }

    @discardableResult
    func publish(_ version: String, platform: Platform = .host, content: String? = nil, days: Double = 30) throws -> RegistryPublisher.Published {
        let built = try archive(content ?? "counter \(version)")
        return try publisher.upload(
            archive: built.path, moduleID: id, version: try SemanticVersion(parsing: version), platform: platform, meta: built.meta,
            lifetimeDays: days)
    }

    func client(trust: [TrustedKey]? = nil, source: String? = nil, now: Date? = nil) throws -> ModuleRegistryClient {
        var client = ModuleRegistryClient(
            source: try RegistrySource(source ?? registry), trust: trust ?? [key.publicKey], installer: ModuleInstaller(cache: cache),
            logger: Logger(label: "test"))
        let clock = now ?? self.now
        client.now = { clock }
        return client
    }

    func acquire(_ pin: String, client: ModuleRegistryClient? = nil) async throws -> ModuleRegistryClient.Acquired {
        try await (client ?? self.client()).acquire(id, pin: try VersionPin(parsing: pin))
    }

    func contents(_ acquired: ModuleRegistryClient.Acquired) -> String {
        String(decoding: FileManager.default.contents(atPath: acquired.library) ?? Data(), as: UTF8.self)
    }

    var indexFile: String { "\(registry)/modules/acme/counter/index.json" }
}

@Suite struct RegistryTests {
    @Test func publishedVersionsResolveInstallAndRecordAReceipt() async throws {
        let f = try RegistryFixture()
        try f.publish("1.0.0")
        try f.publish("1.1.0", platform: .any)
        try f.publish("1.2.0-rc.1")
        try f.publish("9.0.0", platform: try Platform(parsing: "plan9/mips"))
        let cases = [("1.0.0", "1.0.0"), ("1.0.*", "1.0.0"), ("1.*", "1.1.0"), ("latest", "1.1.0"), ("latest-with-prerelease", "1.2.0-rc.1")]
        for (pin, version) in cases {
            let acquired = try await f.acquire(pin)
            #expect(acquired.receipt.version == version, "\(pin)")
            #expect(f.contents(acquired) == "counter \(version)")
            #expect(acquired.offlineReason == nil)
        }
        let receipt = try #require(f.cache.receipt(f.id, try SemanticVersion(parsing: "1.1.0")))
        #expect(receipt.platform == "any" && receipt.signer == f.key.publicKey.id && receipt.registry == f.registry)
        #expect(receipt.sha256 == (try ModuleCacheProbe.sha256(of: "\(f.registry)/modules/acme/counter/1.1.0/any.tar.gz")))
        #expect(f.cache.allInstalled().map(\.version) == ["1.0.0", "1.1.0", "1.2.0-rc.1"])
        // Only the other platform has 9.x: it is never chosen, and an exact pin says why.
        let missing = await #expect(throws: RegistryError.self) { try await f.acquire("9.0.0") }
        #expect(missing?.kind == .unresolvable)
        #expect(missing?.message.contains("have no archive for \(Platform.host) or any (they have: plan9/mips)") == true)
        let none = await #expect(throws: RegistryError.self) { try await f.acquire("3.*") }
        #expect(none?.message.contains("no published version matches 3.* (published: 1.0.0, 1.1.0, 1.2.0-rc.1, 9.0.0)") == true)
    }

    @Test func aTamperedArchiveIsRefusedAndNothingIsInstalled() async throws {
        let f = try RegistryFixture()
        let published = try f.publish("1.0.0")
        let file = "\(f.registry)/\(published.archivePath)"
        var bytes = try Data(contentsOf: URL(fileURLWithPath: file))
        bytes[bytes.count - 12] ^= 0x01
        try bytes.write(to: URL(fileURLWithPath: file))
        let error = await #expect(throws: RegistryError.self) { try await f.acquire("1.0.0") }
        #expect(error?.kind == .refused)
        #expect(error?.message.contains("does not match \(published.sha256) in the index signed by \(f.key.publicKey.id)") == true)
        #expect(error?.message.contains("no cached version of acme:counter satisfies 1.0.0") == true)
        #expect(f.cache.installed(f.id).isEmpty)
        let left = try FileManager.default.contentsOfDirectory(atPath: f.cache.directory(f.id)).sorted()
        #expect(left == [".lock", "index-state.json", "index.json"])
    }

    @Test func aTamperedIndexOrAnUntrustedKeyIsRefused() async throws {
        let f = try RegistryFixture()
        try f.publish("1.0.0")
        let stranger = SigningKey()
        let untrusted = await #expect(throws: RegistryError.self) { try await f.acquire("1.0.0", client: f.client(trust: [stranger.publicKey])) }
        #expect(untrusted?.message.contains("which this machine does not trust") == true)

        // Change one byte of the signed payload (the archive's size), keep the signature.
        let data = try Data(contentsOf: URL(fileURLWithPath: f.indexFile))
        var envelope = try JSONDecoder().decode(SignedEnvelope.self, from: data)
        var payload = String(decoding: Data(base64Encoded: envelope.payload)!, as: UTF8.self)
        payload = payload.replacingOccurrences(of: "\"version\" : 1,", with: "\"version\" : 9,")
        envelope.payload = Data(payload.utf8).base64EncodedString()
        try envelope.encoded().write(to: URL(fileURLWithPath: f.indexFile))
        let tampered = await #expect(throws: RegistryError.self) { try await f.acquire("1.0.0") }
        #expect(tampered?.message.contains("it was altered after signing") == true)
        #expect(f.cache.installed(f.id).isEmpty)
        #expect(f.cache.indexState(f.id) == nil)
    }

    @Test func rollbackAndExpiryAreRefusedAndTheCacheCarriesOn() async throws {
        let f = try RegistryFixture()
        try f.publish("1.0.0")
        let old = try Data(contentsOf: URL(fileURLWithPath: f.indexFile))
        try f.publish("1.1.0")
        let newest = try Data(contentsOf: URL(fileURLWithPath: f.indexFile))
        #expect(try await f.acquire("1.*").receipt.version == "1.1.0")
        #expect(f.cache.indexState(f.id)?.indexVersion == 2)
        try old.write(to: URL(fileURLWithPath: f.indexFile))
        // An exact pin nothing cached satisfies: the refusal stands.
        let rollback = await #expect(throws: RegistryError.self) { try await f.acquire("1.0.0") }
        #expect(rollback?.message.contains("index version 1 is older than version 2 this machine has already seen") == true)
        // A pin the cache satisfies runs the cached version, saying why.
        let fallback = try await f.acquire("1.*")
        #expect(fallback.receipt.version == "1.1.0")
        #expect(fallback.offlineReason?.contains("rollback") == true)

        let later = f.now.addingTimeInterval(31 * 86_400)
        let expired = await #expect(throws: RegistryError.self) { try await f.acquire("1.0.0", client: f.client(now: later)) }
        #expect(expired?.message.contains("the index expired at") == true)
        #expect(expired?.message.contains("ferry module sign") == true)
        // Re-signing extends it, with a new index version.
        try newest.write(to: URL(fileURLWithPath: f.indexFile))
        let resigned = try f.publisher.resign(f.id, lifetimeDays: 60)
        #expect(resigned.version == 3)
        #expect(try await f.acquire("1.0.0", client: f.client(now: later)).receipt.version == "1.0.0")
    }

    @Test func anInterruptedInstallIsRemovedAndDoneAgain() async throws {
        let f = try RegistryFixture()
        try f.publish("1.0.0")
        let base = f.cache.directory(f.id)
        // What a crash leaves at each stage: a download, a half unpacking, an unpacked version
        // with no receipt (first_run or the receipt never finished).
        try FileManager.default.createDirectory(atPath: "\(base)/.partial-1.0.0-dead", withIntermediateDirectories: true)
        try Data("half".utf8).write(to: URL(fileURLWithPath: "\(base)/.download-dead.tar.gz"))
        try FileManager.default.createDirectory(atPath: "\(base)/1.0.0", withIntermediateDirectories: true)
        try Data("stale".utf8).write(to: URL(fileURLWithPath: "\(base)/1.0.0/libcounter.so"))
        // Such a version is never used as a fallback: it was never installed.
        try FileManager.default.removeItem(atPath: f.registry)
        #expect(f.cache.installed(f.id).isEmpty)
        let offline = await #expect(throws: RegistryError.self) { try await f.acquire("1.0.0") }
        #expect(offline?.kind == .unreachable)
        try f.publish("1.0.0")
        let acquired = try await f.acquire("1.0.0")
        #expect(f.contents(acquired) == "counter 1.0.0")
        let names = try FileManager.default.contentsOfDirectory(atPath: base).sorted()
        #expect(names == [".lock", "1.0.0", "1.0.0.installed.json", "index-state.json", "index.json"])
    }

    @Test func offlineTheNewestCachedVersionThePinAcceptsRuns() async throws {
        let f = try RegistryFixture()
        try f.publish("1.0.0")
        try f.publish("1.1.0")
        try f.publish("2.0.0")
        _ = try await f.acquire("1.0.0")
        _ = try await f.acquire("1.1.0")
        _ = try await f.acquire("2.0.0")
        try FileManager.default.moveItem(atPath: f.registry, toPath: f.dir.file("away"))
        let offline = try await f.acquire("1.*")
        #expect(offline.receipt.version == "1.1.0")
        #expect(offline.offlineReason?.contains("the registry directory \(f.registry) does not exist") == true)
        #expect(try await f.acquire("latest").receipt.version == "2.0.0")
        let none = await #expect(throws: RegistryError.self) { try await f.acquire("3.*") }
        #expect(none?.message.contains("no cached version of acme:counter satisfies 3.*") == true)
    }

    @Test func yankedVersionsAreNotSelectedOnlineOrOffline() async throws {
        let f = try RegistryFixture()
        try f.publish("1.0.0")
        try f.publish("1.1.0")
        _ = try await f.acquire("1.1.0")
        _ = try f.publisher.yank(f.id, try SemanticVersion(parsing: "1.1.0"), reason: "reads the wrong register")
        #expect(try await f.acquire("1.*").receipt.version == "1.0.0")
        let exact = await #expect(throws: RegistryError.self) { try await f.acquire("1.1.0") }
        #expect(exact?.message.contains("every version matching 1.1.0 was yanked by its publisher: 1.1.0 (reads the wrong register)") == true)
        // Offline, the last verified index still says 1.1.0 was yanked.
        try FileManager.default.removeItem(atPath: f.registry)
        #expect(try await f.acquire("1.*").receipt.version == "1.0.0")
    }

    @Test func firstRunRunsOnceAndAFailingOneUndoesTheInstall() async throws {
        let f = try RegistryFixture()
        let marker = f.dir.file("ran")
        let good = try f.archive("v1", firstRun: ("setup.sh", "#!/bin/sh\necho \"$FERRY_MODULE_VERSION\" >> \(marker)\n"))
        _ = try f.publisher.upload(archive: good.path, moduleID: f.id, version: SemanticVersion(1, 0, 0), platform: .host, meta: good.meta)
        _ = try await f.acquire("1.0.0")
        _ = try await f.acquire("1.0.0")
        #expect(try String(contentsOfFile: marker, encoding: .utf8) == "1.0.0\n")

        let bad = try f.archive("v2", firstRun: ("setup.sh", "#!/bin/sh\necho no compiler here >&2\nexit 3\n"))
        _ = try f.publisher.upload(archive: bad.path, moduleID: f.id, version: SemanticVersion(2, 0, 0), platform: .host, meta: bad.meta)
        let error = await #expect(throws: RegistryError.self) { try await f.acquire("2.0.0") }
        #expect(error?.message.contains("first_run setup.sh exited with 3: no compiler here") == true, "\(error?.message ?? "no error")")
        #expect(!FileManager.default.fileExists(atPath: f.cache.versionDirectory(f.id, "2.0.0")))
        #expect(f.cache.installed(f.id).map(\.version) == ["1.0.0"])
    }

    @Test func thePublisherKeepsVersionsImmutableAndModulesToTheirKey() throws {
        let f = try RegistryFixture()
        try f.publish("1.0.0")
        let again = #expect(throws: RegistryError.self) { try f.publish("1.0.0") }
        #expect(again?.message.contains("published versions never change, so publish a new version (e.g. 1.0.1)") == true)
        let build = #expect(throws: RegistryError.self) { try f.publish("1.0.0+other") }
        #expect(build?.message.contains("has the precedence of the published 1.0.0") == true)
        try f.publish("1.0.0", platform: try Platform(parsing: "linux/riscv64"))  // another platform of the same version

        let built = try f.archive("x")
        let other = RegistryPublisher(root: f.registry, key: SigningKey())
        let stolen = #expect(throws: RegistryError.self) {
            try other.upload(archive: built.path, moduleID: f.id, version: SemanticVersion(2, 0, 0), platform: .host, meta: built.meta)
        }
        #expect(stolen?.message.contains("is published with key \(f.key.publicKey.id)") == true)

        var noEntry = built.meta
        noEntry.entrypoint = "libmissing.so"
        let missing = #expect(throws: RegistryError.self) {
            try f.publisher.upload(archive: built.path, moduleID: f.id, version: SemanticVersion(3, 0, 0), platform: .host, meta: noEntry)
        }
        #expect(missing?.message.contains("has no libmissing.so, the entrypoint meta.json names") == true)
        let listing = try JSONDecoder().decode([String: [String]].self, from: Data(contentsOf: URL(fileURLWithPath: "\(f.registry)/modules.json")))
        #expect(listing == ["modules": ["acme:counter"]])
    }
}

enum ModuleCacheProbe {
    static func sha256(of path: String) throws -> String {
        String(try shell(["sha256sum", path]).prefix(64))
    }
}
