import FerryTestSupport
import Foundation
import Testing

/// Real MongoDB drivers against the real `ferry serve --mongo-listen 127.0.0.1:0` over TLS:
/// pymongo 4.x (Tests/python) and Debian's Node.js driver 3.6 (Tests/node), which handshakes
/// over the legacy OP_QUERY. The checks live in the scripts; each test reports their output.
@Suite(.ownThreads) struct MongoEndpointTests {
    static let tests = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()

    static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, output: String) {
        let result = try FerryProcess.run([executable] + arguments, environment: environment, executable: "/usr/bin/env")
        return (result.status, result.stdout + result.stderr)
    }

    @Test func pymongoQueriesTheEndpointAndTheHostCapturesIntoIt() throws {
        let result = try Self.run("python3", [Self.tests.appendingPathComponent("python/mongo_pymongo_e2e.py").path, BuiltProducts.ferry])
        #expect(result.status == 0, "pymongo end-to-end checks failed:\n\(result.output)")
        #expect(result.output.contains("all checks passed"))
    }

    @Test func debiansNodeDriverHandshakesOverOpQueryAndQueries() throws {
        let directory = try TemporaryDirectory("ferry-mongo-node")
        defer { directory.remove() }
        let data = directory.file("data")
        let server = try FerryProcess(
            ["serve", "--data", data, "--listen", "127.0.0.1:0", "--metrics-listen", "off", "--mongo-listen", "127.0.0.1:0"],
            environment: ["FERRY_LOG_LEVEL": "debug"], log: directory.file("server.log"))
        defer {
            server.signal(SIGTERM)
            _ = server.wait()
        }
        let log = { (try? String(contentsOfFile: directory.file("server.log"), encoding: .utf8)) ?? "" }
        let marker = "serving MongoDB's wire protocol on 127.0.0.1:"
        #expect(eventually(timeout: 120) { log().contains(marker) }, "ferry serve did not start:\n\(log())")
        let port = try #require(log().components(separatedBy: marker).last.map { String($0.prefix(while: \.isNumber)) }.flatMap(Int.init))

        func ferry(_ arguments: [String]) throws -> String {
            let result = try FerryProcess.run(arguments + ["--data", data])
            #expect(result.status == 0, "ferry \(arguments.joined(separator: " ")): \(result.stderr)")
            return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let writer = try ferry(["org", "create", "writer"])
        let reader = try ferry(["org", "create", "reader"])
        _ = try ferry(["data", "database", "configure", "--org-id", writer, "--password", "N0de!pass", "--allow-insert"])
        _ = try ferry(["data", "database", "configure", "--org-id", reader, "--password", "R3ad!only"])
        let ca = URL(fileURLWithPath: data).appendingPathComponent("tls-cert.pem").path
        func uri(_ org: String, _ password: String) -> String {
            let escaped = password.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? password
            return "mongodb://db-user-\(org):\(escaped)@127.0.0.1:\(port)/?tls=true&tlsCAFile=\(ca)&authSource=admin"
        }
        let result = try Self.run(
            "node",
            [
                Self.tests.appendingPathComponent("node/mongo_node_e2e.js").path, uri(writer, "N0de!pass"), uri(reader, "R3ad!only"),
                uri(writer, "Wr0ng!pass"),
            ],
            environment: ["NODE_PATH": "/usr/share/nodejs"])
        #expect(result.status == 0, "Node.js driver checks failed:\n\(result.output)\n--- server log ---\n\(log())")
        #expect(result.output.contains("all checks passed"))
        #expect(log().contains("MongoDB handshake over OP_QUERY"), "the Node.js driver handshook over OP_QUERY:\n\(log())")
    }
}
