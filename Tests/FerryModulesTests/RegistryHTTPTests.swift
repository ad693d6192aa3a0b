import FerryModuleSpec
@testable import FerryModules
import FerryTestSupport
import Foundation
import Logging
import Synchronization
import Testing

/// The registry over HTTP: `RegistryFileServer` on a port the kernel picks, and the client.
@Suite struct RegistryHTTPTests {
    /// Serves `root` for the duration of `body`.
    static func serving<T>(_ root: String, _ body: (Int) async throws -> T) async throws -> T {
        let server = try RegistryFileServer(root: root, tls: nil, logger: Logger(label: "test"))
        let port = Mutex(0)
        let task = Task { try await server.run(host: "127.0.0.1", port: 0) { bound in port.withLock { $0 = bound } } }
        defer { task.cancel() }
        while port.withLock({ $0 }) == 0 { try await Task.sleep(for: .milliseconds(10)) }
        return try await body(port.withLock { $0 })
    }

    @Test func aModuleInstallsOverHTTP() async throws {
        let f = try RegistryFixture()
        try f.publish("1.0.0")
        try f.publish("1.1.0")
        try await Self.serving(f.registry) { port in
            let client = try f.client(source: "http://127.0.0.1:\(port)")
            // The server runs in this test process, whose few cooperative threads the blocking
            // end-to-end suites beside it can hold past the client's idle timeout: retry, as a machine does.
            var fetched: ModuleRegistryClient.Acquired?
            for attempt in 1...3 where fetched == nil {
                do {
                    fetched = try await f.acquire("latest", client: client)
                } catch where attempt < 3 {
                    continue
                }
            }
            let acquired = try #require(fetched)
            #expect(acquired.receipt.version == "1.1.0" && acquired.receipt.registry == "http://127.0.0.1:\(port)")
            #expect(f.contents(acquired) == "counter 1.1.0")
            let verifier = RegistryVerifier(source: try RegistrySource("http://127.0.0.1:\(port)"), trust: [f.key.publicKey])
            #expect(try await verifier.moduleIDs() == [f.id])
            let findings = await verifier.verify(f.id)
            #expect(findings.count == 3 && findings.allSatisfy { $0.problem == nil })
        }
        // The server is gone: the cached version runs, saying why.
        let client = try f.client(source: "http://127.0.0.1:9")
        let offline = try await f.acquire("1.*", client: client)
        #expect(offline.receipt.version == "1.1.0" && offline.offlineReason?.contains("cannot fetch http://127.0.0.1:9/") == true)
    }

    @Test func theServerServesOnlyRegularFilesUnderItsRoot() async throws {
        let dir = try TemporaryDirectory("ferry-fileserver")
        defer { dir.remove() }
        let root = dir.file("registry")
        try FileManager.default.createDirectory(atPath: "\(root)/modules", withIntermediateDirectories: true)
        try Data("public".utf8).write(to: URL(fileURLWithPath: "\(root)/modules.json"))
        try Data("secret".utf8).write(to: URL(fileURLWithPath: dir.file("secret")))
        try Data("hidden".utf8).write(to: URL(fileURLWithPath: "\(root)/.lock"))
        try FileManager.default.createSymbolicLink(atPath: "\(root)/modules/out", withDestinationPath: dir.file("secret"))
        let server = try RegistryFileServer(root: root, tls: nil, logger: Logger(label: "test"))
        #expect(server.resolve("/modules.json") == "\(server.root)/modules.json")
        #expect(server.resolve("/modules.json?x=1") == "\(server.root)/modules.json")
        for refused in ["/../secret", "/%2e%2e/secret", "/modules/../../secret", "/.lock", "/modules/out", "relative", "/"] {
            #expect(server.resolve(refused) == nil, "\(refused)")
        }
        try await Self.serving(root) { port in
            let status = try shell(["python3", "-c", """
                import urllib.request, urllib.error, sys
                def get(path, method="GET"):
                    try:
                        r = urllib.request.urlopen(urllib.request.Request("http://127.0.0.1:\(port)" + path, method=method))
                        return "%d %s" % (r.status, r.read().decode())
                    except urllib.error.HTTPError as e:
                        return str(e.code)
                print(get("/modules.json"), get("/modules.json", "HEAD"), get("/.lock"), get("/modules/out"), get("/modules.json", "POST"))
                """])
            #expect(status.trimmingCharacters(in: .whitespacesAndNewlines) == "200 public 200  404 404 405")
        }
    }
}
