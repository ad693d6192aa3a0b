import FerryTestSupport
import Foundation
import Testing

/// `--database URL` as a user types it: the issue's own commands on a PostgreSQL database, and the
/// refusals of URLs that cannot work.
@Suite(.ownThreads) struct DatabaseOptionTests {
    @Test func orgAndKeyCommandsUseTheDatabase() throws {
        let url = try TestPostgres.freshDatabase()
        let database = TestPostgres.databaseName(of: url)
        let dir = try TemporaryDirectory("ferry-database-cli")
        defer { dir.remove() }
        // --data names a directory that must stay empty: the store is the database.
        let created = try FerryProcess.run(["org", "create", "acme", "--database", url, "--data", dir.file("unused")])
        #expect(created.status == 0, "\(created.stderr)")
        let org = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let key = try FerryProcess.run(["key", "create", "--database", url, "--org", org, "--role", "owner"])
        #expect(key.status == 0, "\(key.stderr)")
        let keyID = key.stdout.split(separator: " ").first.map(String.init) ?? ""
        #expect(!FileManager.default.fileExists(atPath: dir.file("unused/store.sqlite")))
        #expect(try TestPostgres.psql("SELECT name FROM organizations WHERE id = '\(org)'", database: database) == "acme\n")
        #expect(try TestPostgres.psql("SELECT organization_id FROM api_keys WHERE id = '\(keyID)'", database: database) == "\(org)\n")
        // FERRY_DATABASE_URL names the same database; --database wins over it.
        let listed = try FerryProcess.run(["org", "list"], environment: ["FERRY_DATABASE_URL": url])
        #expect(listed.status == 0 && listed.stdout.contains(org) && listed.stdout.contains("acme"), "\(listed.stderr)")
        let other = try TestPostgres.freshDatabase()
        let overridden = try FerryProcess.run(["org", "list", "--database", other], environment: ["FERRY_DATABASE_URL": url])
        #expect(overridden.status == 0 && !overridden.stdout.contains(org), "\(overridden.stdout)\(overridden.stderr)")
    }

    @Test(arguments: [
        ("mysql://ferry@db/ferry", "takes a postgres:// or postgresql:// URL"),
        ("postgres://ferry:hunter2@db/ferry?sslmode=sometimes", "sslmode \"sometimes\" is not one of"),
        ("postgres://ferry:hunter2@db:99999/ferry", "not a number from 1 to 65535"),
    ])
    func unusableURLsAreRefusedWithTheReasonAndNoPassword(url: String, reason: String) throws {
        let result = try FerryProcess.run(["org", "list", "--database", url])
        #expect(result.status != 0)
        #expect(result.stderr.contains(reason), "\(result.stderr)")
        #expect(!result.stderr.contains("hunter2"), "\(result.stderr)")
    }

    @Test func anUnreachableDatabaseSaysWhichAndWhatToCheck() throws {
        let dir = try TemporaryDirectory("ferry-database-cli")
        defer { dir.remove() }
        // A socket directory with no server in it.
        let result = try FerryProcess.run(["org", "list", "--database", "postgresql://ferry:hunter2@/ferry?host=\(dir.path)&sslmode=disable"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("ferry@:5432/ferry") && result.stderr.contains("reachable"), "\(result.stderr)")
        #expect(!result.stderr.contains("hunter2"), "\(result.stderr)")
    }
}
