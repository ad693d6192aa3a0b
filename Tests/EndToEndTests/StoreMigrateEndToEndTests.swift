import FerryTestSupport
import Foundation
import Testing

/// `ferry store migrate` with the real binaries: a SQLite data directory filled through `ferry serve`
/// moved into PostgreSQL, then served by `ferry serve --database URL` (Tests/python/store_migrate_e2e.py).
@Suite(.ownThreads) struct StoreMigrateEndToEndTests {
    @Test func aDataDirectoryMovesIntoPostgreSQLAndIsServedFromThere() async throws {
        let result = try await ViamSDKTests.runScript("store_migrate_e2e.py", backend: .postgres)
        #expect(result.status == 0, "store migrate checks failed:\n\(result.output)")
        #expect(result.output.contains("all checks passed"))
    }

    @Test func unusableLocationsAreRefusedWithTheReason() throws {
        let result = try FerryProcess.run(["store", "migrate", "--from", "mysql://db/ferry", "--to", "./somewhere"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("--from takes a data directory or a postgres://"), "\(result.stderr)")
    }
}
