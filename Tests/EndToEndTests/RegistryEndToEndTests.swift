import FerryBSON
import FerryCaptureFile
import FerryTestSupport
import Foundation
import Synchronization
import Testing

/// The published registry's directory, removed when the test process exits: a suite has no
/// teardown for a fixture its tests share.
private let publishedDirectory = Mutex<String?>(nil)

/// The module registry end to end with the real binaries: a C plugin built from the SDK's
/// header is published as 1.0.0 (this platform), 1.1.0 (`any`), 1.2.0-rc.1 (packed by the
/// system's tar) and 2.0.0 (another platform only); machines install it over
/// `ferry serve --registry-dir` (HTTPS), `python3 -m http.server` (HTTP), a file:// URL and a
/// directory, and refuse every kind of tampering. Python's `cryptography` checks the
/// signatures independently, and signs the hostile indexes.
@Suite(.serialized, .ownThreads) struct RegistryEndToEndTests {
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let crosscheck = repositoryRoot.appendingPathComponent("Tests/python/registry_crosscheck.py").path

    /// The counter sensor of ThirdPartyPluginTests, reporting which build it is (`minor`).
    static let source = """
        #include <ferry/plugin.h>
        #include <string.h>
        #ifndef MINOR
        #define MINOR 0
        #endif
        #define TEXT(x) #x
        #define STRING(x) TEXT(x)
        typedef struct { int count; } counter;
        static ferry_status create(void *ctx, const uint8_t *cfg, size_t n, void **out, ferry_result *r) {
            (void)ctx; (void)cfg; (void)n; (void)r;
            static counter c; *out = &c; return FERRY_OK;
        }
        static void close_counter(void *instance) { (void)instance; }
        static ferry_status capture(void *instance, const char *method, const uint8_t *p, size_t n, ferry_result *r) {
            (void)p; (void)n;
            if (strcmp(method, "Readings") != 0) { r->set_error(r->context, "only Readings"); return FERRY_UNSUPPORTED; }
            int v = ++((counter *)instance)->count;
            /* {"readings": {"count": <int32>, "minor": <int32>}} as BSON */
            uint8_t doc[] = {42,0,0,0, 3,'r','e','a','d','i','n','g','s',0, 27,0,0,0,
                             16,'c','o','u','n','t',0, (uint8_t)v,(uint8_t)(v>>8),(uint8_t)(v>>16),(uint8_t)(v>>24),
                             16,'m','i','n','o','r',0, MINOR,0,0,0, 0, 0};
            r->set_document(r->context, doc, sizeof doc); return FERRY_OK;
        }
        static const char *const methods[] = {"Readings", NULL};
        static ferry_status init(const ferry_host_api *host, ferry_result *r) {
            (void)r;
            ferry_model m = {sizeof m, "rdk:component:sensor", "acme:demo:counter", methods, 0, NULL,
                             create, NULL, close_counter, capture, NULL};
            return host->register_model(host->host_context, &m);
        }
        FERRY_DECLARE_PLUGIN("acme-counter", "1." STRING(MINOR) ".0", init)
        """

    /// The published registry, made once (by the author's commands) and copied by each test.
    struct Published: Sendable {
        let directory: TemporaryDirectory
        var registry: String { directory.file("registry") }
        var key: String { directory.file("acme.key") }
        var publicKey: String { directory.file("acme.pub") }
        var module: String { directory.file("counter") }
    }

    static let published: Result<Published, any Error> = Result { try publish() }

    static func ferry(_ arguments: [String], environment: [String: String] = [:]) throws -> String {
        let run = try FerryProcess.run(arguments, environment: environment)
        guard run.status == 0 else { throw TestFailure("ferry \(arguments.joined(separator: " ")) failed (\(run.status)): \(run.stderr)") }
        return run.stdout
    }

    static func publish() throws -> Published {
        let p = Published(directory: try TemporaryDirectory("ferry-registry-e2e"))
        publishedDirectory.withLock { $0 = p.directory.path }
        atexit {
            if let path = publishedDirectory.withLock({ $0 }) { try? FileManager.default.removeItem(atPath: path) }
        }
        let keygen = try ferry(["module", "keygen", "--out", p.key])
        guard keygen.hasPrefix("-----BEGIN PUBLIC KEY-----") else { throw TestFailure("keygen printed \(keygen)") }
        let include = repositoryRoot.appendingPathComponent("SDK/include").path
        _ = try ferry([
            "module", "create", "--name", "counter", "--namespace", "acme", "--dir", p.module, "--model",
            "rdk:component:sensor=acme:demo:counter", "--build", "cc -shared -fPIC -Wall -Werror -I \(include) -DMINOR=$MINOR -o libcounter.so counter.c",
        ])
        try source.write(toFile: "\(p.module)/counter.c", atomically: true, encoding: .utf8)
        // 1.0.0 for this machine's platform, 1.1.0 for any platform, each built by `ferry module build`.
        for (minor, version, platform) in [(0, "1.0.0", nil), (1, "1.1.0", "any")] as [(Int, String, String?)] {
            _ = try ferry(["module", "build", "--dir", p.module], environment: ["MINOR": "\(minor)"])
            var upload = ["module", "upload", "--registry", p.registry, "--key", p.key, "--version", version]
            if let platform { upload += ["--platform", platform] }
            let out = try ferry(upload + ["\(p.module)/module.tar.gz"])
            guard out.contains("published acme:counter \(version)") else { throw TestFailure("upload printed \(out)") }
        }
        // A pre-release packed by the system's tar, as a Viam-style build script would.
        _ = try ferry(["module", "build", "--dir", p.module], environment: ["MINOR": "2"])
        try run("/usr/bin/tar", ["-czf", "\(p.module)/rc.tar.gz", "-C", p.module, "meta.json", "libcounter.so"])
        _ = try ferry(["module", "upload", "--registry", p.registry, "--key", p.key, "--version", "1.2.0-rc.1", "\(p.module)/rc.tar.gz"])
        // A newer version for another platform only: never this machine's choice.
        try "not a library".write(toFile: "\(p.module)/libcounter.so", atomically: true, encoding: .utf8)
        _ = try ferry(["module", "build", "--dir", p.module, "--no-build"])
        _ = try ferry([
            "module", "upload", "--registry", p.registry, "--key", p.key, "--version", "2.0.0", "--platform", "plan9/mips",
            "\(p.module)/module.tar.gz",
        ])
        return p
    }

    static func run(_ executable: String, _ arguments: [String]) throws {
        let result = try FerryProcess.run(arguments, executable: executable)
        guard result.status == 0 else { throw TestFailure("\(executable) \(arguments.joined(separator: " ")): \(result.stderr)") }
    }

    /// A copy of the published registry, for a test to serve or damage.
    static func copyRegistry(into dir: TemporaryDirectory) throws -> String {
        let copy = dir.file("registry")
        try FileManager.default.copyItem(atPath: try published.get().registry, toPath: copy)
        return copy
    }

    static func machineConfig(_ dir: TemporaryDirectory, pin: String, extra: String = "") throws {
        try """
        {"modules": [{"type": "registry", "name": "acme_counter", "module_id": "acme:counter", "version": "\(pin)"}],
         "components": [\(extra){"name": "c", "api": "rdk:component:sensor", "model": "acme:demo:counter",
           "service_configs": [{"type": "data_manager", "attributes": {"capture_methods": [{"method": "Readings", "capture_frequency_hz": 20}]}}]}],
         "services": [{"name": "dm", "type": "data_manager", "attributes": {"capture_dir": "capture", "sync_disabled": true}}]}
        """.write(toFile: dir.file("machine.json"), atomically: true, encoding: .utf8)
    }

    /// The `minor` of every captured counter reading, in capture order.
    static func minors(_ captureDir: String, component: String = "c") -> [Int] {
        guard let cat = try? FerryProcess.run(["capture", "cat", captureDir]), cat.status == 0 else { return [] }
        return cat.stdout.split(separator: "\n").compactMap { line in
            guard let record = try? BSONDocument(extendedJSON: String(line)),
                record["metadata"]?.documentValue?["component_name"]?.stringValue ?? component == component
            else { return nil }
            return record["data"]?.documentValue?["readings"]?.documentValue?["minor"]?.doubleValue.map { Int($0) }
        }
    }

    static func log(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }

    /// Starts `ferry run`, waits for counter readings, stops it cleanly; returns the log.
    static func runUntilCaptured(_ dir: TemporaryDirectory, arguments: [String], environment: [String: String] = [:]) throws -> (minors: [Int], log: String) {
        let logFile = dir.file("run-\(UUID().uuidString.prefix(6)).log")
        let host = try FerryProcess(["run", dir.file("machine.json")] + arguments, environment: environment, log: logFile)
        let captured = eventually { !minors(dir.file("capture")).isEmpty }
        host.signal(SIGINT)
        let exit = host.wait()
        #expect(captured, "no readings from the registry module:\n\(log(logFile))")
        #expect(exit.status == 0, "\(exit.stderr)")
        let found = minors(dir.file("capture"))
        try? FileManager.default.removeItem(atPath: dir.file("capture"))
        return (found, log(logFile))
    }

    // MARK: - Publishing

    @Test func thePublishedRegistryVerifiesHereAndInAnIndependentImplementation() throws {
        let p = try Self.published.get()
        let verify = try FerryProcess.run(["module", "verify", "--registry", p.registry, "--trust", p.publicKey])
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
        for line in ["ok   acme:counter index: version 4", "ok   acme:counter 1.0.0 ", "ok   acme:counter 1.1.0 any", "ok   acme:counter 1.2.0-rc.1 ", "ok   acme:counter 2.0.0 plan9/mips"] {
            #expect(verify.stdout.contains(line), "\(verify.stdout)")
        }
        let meta = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(p.module)/meta.json"))) as? [String: Any]
        for field in ["module_id", "visibility", "url", "description", "models", "entrypoint", "first_run", "build"] {
            #expect(meta?[field] != nil, "meta.json lacks \(field)")
        }
        #expect(meta?["module_id"] as? String == "acme:counter")

        // Python's `cryptography` accepts ferry's signature with the .pub file...
        let index = "\(p.registry)/modules/acme/counter/index.json"
        let python = try FerryProcess.run(["python3", Self.crosscheck, "verify", index, p.publicKey], executable: "/usr/bin/env")
        #expect(python.status == 0 && python.stdout.contains("valid acme:counter 4"), "\(python.stdout)\(python.stderr)")
        // ...and rejects it once the signature is damaged, so the check is real.
        let dir = try TemporaryDirectory("ferry-crosscheck")
        defer { dir.remove() }
        var envelope = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: index))) as! [String: Any]
        var signatures = envelope["signatures"] as! [[String: String]]
        var signature = Data(base64Encoded: signatures[0]["sig"]!)!
        signature[5] ^= 0x40
        signatures[0]["sig"] = signature.base64EncodedString()
        envelope["signatures"] = signatures
        try JSONSerialization.data(withJSONObject: envelope).write(to: URL(fileURLWithPath: dir.file("bad.json")))
        let rejected = try FerryProcess.run(["python3", Self.crosscheck, "verify", dir.file("bad.json"), p.publicKey], executable: "/usr/bin/env")
        #expect(rejected.status == 1 && rejected.stdout.contains("INVALID"))

        // The archives ferry packs are ordinary tar.gz files.
        let listing = try FerryProcess.run(["-tzf", "\(p.registry)/modules/acme/counter/1.1.0/any.tar.gz"], executable: "/usr/bin/tar")
        #expect(listing.status == 0 && Set(listing.stdout.split(separator: "\n")) == ["meta.json", "libcounter.so"])
    }

    // MARK: - Installing

    @Test func everyPinFormInstallsFromFerryServeOverHTTPSAndCaptures() throws {
        let dir = try TemporaryDirectory("ferry-registry-serve")
        defer { dir.remove() }
        let p = try Self.published.get()
        let registry = try Self.copyRegistry(into: dir)
        let serverLog = dir.file("serve.log")
        let server = try FerryProcess(
            [
                "serve", "--data", dir.file("data"), "--listen", "127.0.0.1:0", "--metrics-listen", "off", "--registry-dir", registry,
                "--registry-listen", "127.0.0.1:0",
            ], log: serverLog)
        defer {
            server.signal(SIGKILL)
            _ = server.wait()
        }
        let marker = "serving the module registry \(URL(fileURLWithPath: registry).resolvingSymlinksInPath().path) on https://127.0.0.1:"
        #expect(eventually(timeout: 120) { Self.log(serverLog).contains(marker) }, "\(Self.log(serverLog))")
        let port = try #require(Self.log(serverLog).components(separatedBy: marker).last.map { Int($0.prefix(while: \.isNumber)) } ?? nil)
        let url = "https://127.0.0.1:\(port)"
        let flags = ["--registry", url, "--trust", p.publicKey, "--registry-ca", dir.file("data/tls-cert.pem"), "--module-cache", dir.file("cache")]
        for (pin, minor, version) in [
            ("1.0.0", 0, "1.0.0"), ("1.0.*", 0, "1.0.0"), ("1.*", 1, "1.1.0"), ("latest", 1, "1.1.0"), ("latest-with-prerelease", 2, "1.2.0-rc.1"),
        ] {
            try Self.machineConfig(dir, pin: pin)
            let run = try Self.runUntilCaptured(dir, arguments: flags)
            #expect(Set(run.minors) == [minor], "pin \(pin): \(run.log)")
            #expect(run.log.contains("loaded plugin acme-counter 1.\(minor).0 from \(dir.file("cache"))/acme/counter/\(version)/libcounter.so"), "\(run.log)")
        }
        let list = try Self.ferry(["module", "list", "--module-cache", dir.file("cache")])
        #expect(list.contains("acme:counter 1.0.0 (\(try Self.hostPlatform()))") && list.contains("acme:counter 1.1.0 (any)"))
        #expect(list.contains("from      \(url)") && list.contains("signer    ") && list.contains("sha256    "))
        // Without the server's certificate the registry is not trusted over TLS.
        let refused = try FerryProcess.run(
            ["module", "install", "acme:counter@1.0.0", "--registry", url, "--trust", p.publicKey, "--module-cache", dir.file("other-cache")])
        #expect(refused.status != 0 && refused.stderr.contains("the TLS certificate is not trusted"), "\(refused.stderr)")
    }

    @Test func aStaticHTTPServerServesTheSameLayoutAndTheCacheBootsWithoutIt() throws {
        let dir = try TemporaryDirectory("ferry-registry-python")
        defer { dir.remove() }
        let p = try Self.published.get()
        let registry = try Self.copyRegistry(into: dir)
        let serverLog = dir.file("http.log")
        let server = try FerryProcess(
            ["python3", "-u", "-m", "http.server", "0", "--bind", "127.0.0.1", "--directory", registry], log: serverLog, executable: "/usr/bin/env")
        let marker = "Serving HTTP on 127.0.0.1 port "
        #expect(eventually { Self.log(serverLog).contains(marker) }, "\(Self.log(serverLog))")
        let port = try #require(Self.log(serverLog).components(separatedBy: marker).last.map { Int($0.prefix(while: \.isNumber)) } ?? nil)
        try Self.machineConfig(dir, pin: "1.*")
        // The environment instead of flags this time.
        let environment = ["FERRY_REGISTRY": "http://127.0.0.1:\(port)", "FERRY_REGISTRY_TRUST": p.publicKey]
        let online = try Self.runUntilCaptured(dir, arguments: [], environment: environment)
        #expect(Set(online.minors) == [1], "\(online.log)")
        #expect(online.log.contains("installing 1.1.0 (any)"), "\(online.log)")
        server.signal(SIGKILL)
        _ = server.wait()

        let offline = try Self.runUntilCaptured(dir, arguments: [], environment: environment)
        #expect(Set(offline.minors) == [1], "\(offline.log)")
        #expect(offline.log.contains("the registry cannot be used now (cannot fetch http://127.0.0.1:\(port)/modules/acme/counter/index.json"), "\(offline.log)")
        #expect(offline.log.contains("running the cached version 1.1.0"), "\(offline.log)")
        // The default cache sits beside the capture directory.
        #expect(FileManager.default.fileExists(atPath: dir.file("ferry-modules/acme/counter/1.1.0.installed.json")))
    }

    @Test func tamperingOfEveryKindIsRefusedWithAClearError() throws {
        let p = try Self.published.get()
        let platform = try Self.hostPlatform().replacingOccurrences(of: "/", with: "-")
        func attempt(_ pin: String, damage: (String, TemporaryDirectory) throws -> Void, trust: String? = nil) throws -> String {
            let dir = try TemporaryDirectory("ferry-registry-tamper")
            defer { dir.remove() }
            let registry = try Self.copyRegistry(into: dir)
            try damage(registry, dir)
            let install = try FerryProcess.run([
                "module", "install", "acme:counter@\(pin)", "--registry", registry, "--trust", trust ?? p.publicKey, "--module-cache", dir.file("cache"),
            ])
            #expect(install.status != 0, "installed despite the damage: \(install.stdout)")
            let list = try Self.ferry(["module", "list", "--module-cache", dir.file("cache")])
            #expect(list.contains("no modules installed"), "\(list)")
            return install.stderr
        }
        let index = { (registry: String) in "\(registry)/modules/acme/counter/index.json" }

        let archive = try attempt("1.0.0") { registry, _ in
            let file = "\(registry)/modules/acme/counter/1.0.0/\(platform).tar.gz"
            var bytes = try Data(contentsOf: URL(fileURLWithPath: file))
            bytes[bytes.count / 2] ^= 0x01
            try bytes.write(to: URL(fileURLWithPath: file))
        }
        #expect(archive.contains("/1.0.0/\(platform).tar.gz: SHA-256") && archive.contains("the archive was altered or damaged, nothing was installed"), "\(archive)")

        let indexTampered = try attempt("1.0.0") { registry, _ in
            var text = try String(contentsOfFile: index(registry), encoding: .utf8)
            let envelope = try JSONSerialization.jsonObject(with: Data(text.utf8)) as! [String: Any]
            let payload = envelope["payload"] as! String
            let decoded = String(decoding: Data(base64Encoded: payload)!, as: UTF8.self).replacingOccurrences(of: "\"1.1.0\"", with: "\"1.0.9\"")
            text = text.replacingOccurrences(of: payload, with: Data(decoded.utf8).base64EncodedString())
            try text.write(toFile: index(registry), atomically: true, encoding: .utf8)
        }
        #expect(indexTampered.contains("index.json: the signature by trusted key") && indexTampered.contains("was altered after signing"), "\(indexTampered)")

        let strangerDir = try TemporaryDirectory("ferry-stranger")
        defer { strangerDir.remove() }
        _ = try Self.ferry(["module", "keygen", "--out", strangerDir.file("other.key")])
        let wrongKey = try attempt("1.0.0", damage: { _, _ in }, trust: strangerDir.file("other.pub"))
        #expect(wrongKey.contains("which this machine does not trust") && wrongKey.contains("--trust KEY.pub"), "\(wrongKey)")

        let expired = try attempt("1.0.0") { registry, _ in
            try Self.run("/usr/bin/env", ["python3", Self.crosscheck, "expire", index(registry), p.key, index(registry)])
        }
        // Python signed it: ferry verified that signature, then refused the expiry.
        #expect(expired.contains("the index expired at 2001-01-01T00:00:00Z") && expired.contains("`ferry module sign`"), "\(expired)")

        let traversal = try attempt("1.0.0") { registry, _ in
            try Self.run("/usr/bin/env", ["python3", Self.crosscheck, "traversal", index(registry), p.key, registry, "1.0.0"])
        }
        #expect(traversal.contains("entry \"../evil.so\" escapes the module's directory"), "\(traversal)")
        #expect(!FileManager.default.fileExists(atPath: FileManager.default.temporaryDirectory.appendingPathComponent("evil.so").path))

        // Rollback: the machine has seen a newer index; an older, validly signed one comes back.
        let dir = try TemporaryDirectory("ferry-registry-rollback")
        defer { dir.remove() }
        let registry = try Self.copyRegistry(into: dir)
        let old = try Data(contentsOf: URL(fileURLWithPath: index(registry)))
        _ = try Self.ferry(["module", "sign", "--registry", registry, "--key", p.key, "acme:counter"])
        let install = ["module", "install", "--registry", registry, "--trust", p.publicKey, "--module-cache", dir.file("cache")]
        _ = try Self.ferry(install + ["acme:counter@1.0.0"])
        try old.write(to: URL(fileURLWithPath: index(registry)))
        let rollback = try FerryProcess.run(install + ["acme:counter@1.1.0"])
        #expect(rollback.status != 0)
        #expect(rollback.stderr.contains("index version 4 is older than version 5 this machine has already seen; an old index replayed (a rollback) is refused"), "\(rollback.stderr)")
    }

    // MARK: - The running host

    @Test func aModuleThatCannotBeHadLeavesTheMachineRunningAndIsRetried() throws {
        let dir = try TemporaryDirectory("ferry-registry-retry")
        defer { dir.remove() }
        let p = try Self.published.get()
        let fake = #"{"name": "thermo", "api": "rdk:component:sensor", "model": "fake", "service_configs": [{"type": "data_manager", "attributes": {"capture_methods": [{"method": "Readings", "capture_frequency_hz": 20}]}}]},"#
        try Self.machineConfig(dir, pin: "1.0.0", extra: fake)
        let logFile = dir.file("run.log")
        let registry = dir.file("registry")  // not there yet: the registry is "down"
        let host = try FerryProcess(["run", dir.file("machine.json"), "--registry", registry, "--trust", p.publicKey], log: logFile)
        defer {
            if host.process.isRunning { host.signal(SIGKILL) }
        }
        // The rest of the machine captures while the module cannot be had.
        #expect(eventually { !CaptureRecovery.files(in: dir.file("capture/rdk_component_sensor/thermo"), withExtension: "prog").isEmpty }, "\(Self.log(logFile))")
        #expect(eventually { Self.log(logFile).contains("its components wait, retrying in") }, "\(Self.log(logFile))")
        #expect(Self.log(logFile).contains("the registry directory \(registry) does not exist"))
        #expect(Self.minors(dir.file("capture")).isEmpty)
        // The registry appears; a retry installs the module and its component starts, same process.
        try FileManager.default.copyItem(atPath: p.registry, toPath: registry)
        #expect(eventually { Self.minors(dir.file("capture")).contains(0) }, "\(Self.log(logFile))")
        host.signal(SIGINT)
        #expect(host.wait().status == 0)
        let log = Self.log(logFile)
        #expect(log.contains("loaded plugin acme-counter 1.0.0"))
        #expect(!log.contains("restarting ferry run"))
    }

    @Test func changingTheVersionInstallsItAndRestartsTheHost() throws {
        let dir = try TemporaryDirectory("ferry-registry-upgrade")
        defer { dir.remove() }
        let p = try Self.published.get()
        let registry = try Self.copyRegistry(into: dir)
        try Self.machineConfig(dir, pin: "1.0.0")
        let logFile = dir.file("run.log")
        let host = try FerryProcess(
            ["run", dir.file("machine.json"), "--registry", "file://\(registry)", "--trust", p.publicKey], log: logFile)
        defer {
            if host.process.isRunning { host.signal(SIGKILL) }
        }
        #expect(eventually { Self.minors(dir.file("capture")).contains(0) }, "\(Self.log(logFile))")
        let pid = host.process.processIdentifier
        try Self.machineConfig(dir, pin: "1.*")
        #expect(eventually { Self.minors(dir.file("capture")).contains(1) }, "\(Self.log(logFile))")
        #expect(host.process.isRunning && host.process.processIdentifier == pid)
        let log = Self.log(logFile)
        #expect(log.contains("restarting ferry run to load acme:counter 1.0.0 → 1.1.0"), "\(log)")
        // The first run closed its capture files before the restart: nothing left to recover.
        #expect(!log.contains("recovery: promoted"), "\(log)")
        // The restarted host still stops cleanly on Ctrl-C.
        host.signal(SIGINT)
        #expect(host.wait().status == 0, "\(Self.log(logFile))")
        let minors = Self.minors(dir.file("capture"))
        #expect(minors.first == 0 && minors.last == 1)
    }

    static func hostPlatform() throws -> String {
        let machine = try FerryProcess.run(["-m"], executable: "/usr/bin/uname").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let arch = ["x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm32v7"][machine] ?? machine
        return "linux/\(arch)"
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
