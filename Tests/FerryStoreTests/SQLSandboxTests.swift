import FerryBSON
import Foundation
import GRDB
import Synchronization
import Testing

@testable import FerryStore
@testable import FerryStoreSQLite

@Suite struct SQLSandboxTests {
    /// The SQLite dialect (`json_extract`, the authorizer's messages): SQLite's own sandbox.
    func fixture(limits: SQLSandboxLimits = SQLSandboxLimits()) async throws -> StoreFixture {
        let f = try await StoreFixture.make(.sqlite, sqlLimits: limits)
        _ = try await f.store.insert(StoreFixture.readings(0..<20, org: f.orgA), idempotencyKey: nil)
        _ = try await f.store.insert(StoreFixture.readings(100..<105, org: f.orgB), idempotencyKey: nil)
        return f
    }

    func sql(_ f: StoreFixture, _ query: String, org: String? = nil) async throws -> [BSONDocument] {
        try await f.store.tabularDataBySQL(organizationID: org ?? f.orgA, source: .standard, query: query)
    }

    @Test func viamStyleQueries() async throws {
        let f = try await fixture()
        defer { f.remove() }
        let rows = try await sql(
            f,
            """
            SELECT component_name, json_extract(data, '$.readings.temperature') AS temperature, time_received
            FROM readings WHERE component_name = 'sensor-1' ORDER BY time_received LIMIT 2
            """)
        #expect(
            rows == [
                ["component_name": "sensor-1", "temperature": 20.5, "time_received": .datetime(StoreFixture.t0 + 60_000)],
                ["component_name": "sensor-1", "temperature": 22.5, "time_received": .datetime(StoreFixture.t0 + 5 * 60_000)],
            ])
        // Expressions over a time column are plain numbers; the column itself is a date.
        #expect(try await sql(f, "SELECT max(time_received) - min(time_received) AS span FROM readings") == [["span": .int64(19 * 60_000)]])
        // data and additional_parameters read as JSON text, tags as a JSON array.
        let first = try await sql(f, "SELECT data, additional_parameters, tags FROM readings ORDER BY time_received LIMIT 1")
        #expect(first == [["data": #"{"readings":{"i":0,"temperature":20.0,"label":"r0"}}"#, "additional_parameters": #"{"unit":"celsius"}"#, "tags": #"["even","lab"]"#]])
        #expect(try await sql(f, "SELECT count(*) AS n FROM readings, json_each(readings.tags) WHERE json_each.value = 'lab'") == [["n": .int64(10)]])
        let grouped = try await sql(f, "SELECT component_name, count(*) AS n, avg(json_extract(data, '$.readings.temperature')) AS t FROM readings GROUP BY 1 ORDER BY 1")
        #expect(grouped.count == 4)
        #expect(grouped[0] == ["component_name": "sensor-0", "n": .int64(5), "t": 22.0])
        let cte = try await sql(f, "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 5) SELECT sum(x) AS s FROM c")
        #expect(cte == [["s": .int64(15)]])
        #expect(try await sql(f, "SELECT 1 AS one; -- trailing comment") == [["one": .int64(1)]])
        #expect(try await sql(f, "SELECT NULL AS n, x'0102' AS b") == [["n": .null, "b": .binary(BSONBinary(data: [1, 2]))]])
    }

    @Test func anotherOrganisationsRowsAreInvisible() async throws {
        let f = try await fixture()
        defer { f.remove() }
        #expect(try await sql(f, "SELECT count(*) AS n FROM readings") == [["n": .int64(20)]])
        #expect(try await sql(f, "SELECT count(*) AS n FROM readings", org: f.orgB) == [["n": .int64(5)]])
        #expect(try await sql(f, "SELECT count(*) AS n FROM readings WHERE organization_id = '\(f.orgB)'") == [["n": .int64(0)]])
        #expect(try await sql(f, "SELECT DISTINCT organization_id FROM readings", org: f.orgB) == [["organization_id": .string(f.orgB)]])
        #expect(try await sql(f, "SELECT count(*) AS n FROM readings", org: "nobody") == [["n": .int64(0)]])
        #expect(try await sql(f, "SELECT count(*) AS n FROM readings", org: "x' OR '1'='1") == [["n": .int64(0)]])
    }

    /// Each attack must be refused with a clear message and leave the store unchanged.
    @Test(arguments: [
        // Refused up front by their first keyword, each with the authorizer behind it.
        ("DELETE FROM readings", "DELETE is not allowed"),
        ("UPDATE readings SET component_name = 'x'", "UPDATE is not allowed"),
        ("INSERT INTO readings (organization_id) VALUES ('x')", "INSERT is not allowed"),
        ("REPLACE INTO readings (organization_id) VALUES ('x')", "REPLACE is not allowed"),
        ("DROP TABLE readings", "DROP is not allowed"),
        ("/* hi */ (DROP VIEW readings)", "DROP is not allowed"),
        ("CREATE TABLE t (x)", "CREATE is not allowed"),
        ("ALTER TABLE readings ADD COLUMN x", "ALTER is not allowed"),
        ("ATTACH DATABASE '/tmp/ferry-attack.db' AS x", "ATTACH is not allowed"),
        ("DETACH DATABASE temp", "DETACH is not allowed"),
        ("PRAGMA writable_schema = 1", "PRAGMA is not allowed"),
        ("-- comment\nPRAGMA query_only = 0", "PRAGMA is not allowed"),
        ("BEGIN", "BEGIN is not allowed"),
        ("VACUUM INTO '/tmp/ferry-attack-copy.db'", "VACUUM is not allowed"),
        ("ANALYZE", "ANALYZE is not allowed"),
        ("EXPLAIN SELECT * FROM readings", "EXPLAIN is not allowed"),
        ("SAVEPOINT s", "SAVEPOINT is not allowed"),
        // Queries that pass the keyword check and are stopped by the authorizer or the
        // read-only statement check.
        ("WITH x AS (SELECT 1) DELETE FROM readings", "read-only"),
        ("WITH x AS (SELECT 1) DELETE FROM main.readings", "DELETE is not allowed"),
        ("WITH x AS (SELECT 1) INSERT INTO main.api_keys SELECT * FROM main.api_keys", "INSERT is not allowed"),
        ("WITH x AS (SELECT 1) UPDATE main.readings SET organization_id = 'x'", "UPDATE is not allowed"),
        ("SELECT * FROM pragma_table_info('readings')", "read-only"),
        ("SELECT * FROM main.readings", "only the `readings` table"),
        ("SELECT count(*) FROM main.readings", "only the `readings` table"),
        ("SELECT * FROM hot_readings", "only the `readings` table"),
        ("SELECT * FROM api_keys", "only the `readings` table"),
        ("SELECT * FROM organizations", "only the `readings` table"),
        ("SELECT * FROM sqlite_master", "schema table"),
        ("SELECT * FROM sqlite_temp_master", "schema table"),
        ("SELECT sql FROM sqlite_schema", "schema table"),
        ("SELECT * FROM readings WHERE 0 UNION ALL SELECT * FROM main.readings", "only the `readings` table"),
        ("WITH readings AS (SELECT * FROM main.readings) SELECT * FROM readings", "only the `readings` table"),
        ("WITH readings AS (SELECT * FROM main.readings) SELECT count(*) FROM readings", "only the `readings` table"),
        ("SELECT * FROM (SELECT * FROM main.readings) AS readings", "only the `readings` table"),
        ("SELECT (SELECT count(*) FROM main.readings)", "only the `readings` table"),
        ("SELECT * FROM readings WHERE id IN (SELECT id FROM main.readings)", "only the `readings` table"),
        ("SELECT load_extension('/tmp/evil.so')", "load_extension"),
        ("SELECT 1; DELETE FROM readings", "single statement"),
        ("SELECT 1; SELECT 2", "single statement"),
    ])
    func attacksAreRefused(query: String, reason: String) async throws {
        let f = try await fixture()
        defer { f.remove() }
        let error = await storeError { _ = try await sql(f, query) }
        #expect(error?.kind == .sqlRefused, "\(query): \(error.map(String.init(describing:)) ?? "no error")")
        #expect(error?.message.contains(reason) == true, "\(query): \(error?.message ?? "")")
        #expect(!FileManager.default.fileExists(atPath: "/tmp/ferry-attack.db"))
        #expect(!FileManager.default.fileExists(atPath: "/tmp/ferry-attack-copy.db"))
        let counts = try await DatabaseQueue(path: f.sqlite.databasePath).read { db in
            try Int.fetchAll(db, sql: "SELECT count(*) FROM readings UNION ALL SELECT count(*) FROM sqlite_master WHERE type = 'table'")
        }
        #expect(counts[0] == 25)
        #expect(try await sql(f, "SELECT count(*) AS n FROM readings") == [["n": .int64(20)]])
    }

    /// Internal tables and virtual tables of the SQLite build: never any rows. Those this SQLite
    /// build has are refused by the sandbox; those it lacks fail as unknown tables.
    @Test(arguments: [
        ("SELECT * FROM dbstat", StoreError.Kind.sqlRefused), ("SELECT * FROM temp.sqlite_master", .sqlRefused),
        ("SELECT * FROM grdb_migrations", .sqlRefused), ("SELECT * FROM ingest_ranges", .sqlRefused), ("SELECT * FROM binary_data", .sqlRefused), ("SELECT * FROM dataset_members", .sqlRefused),
        ("SELECT * FROM sink_documents", .sqlRefused), ("SELECT * FROM store_meta", .sqlRefused), ("SELECT * FROM main.\"readings\"", .sqlRefused),
        ("SELECT * FROM sqlite_dbpage", .sqlFailed), ("SELECT * FROM sqlite_stat1", .sqlFailed), ("SELECT * FROM fts5vocab", .sqlFailed),
    ])
    func internalTablesYieldNothing(query: String, kind: StoreError.Kind) async throws {
        let f = try await fixture()
        defer { f.remove() }
        let error = await storeError { _ = try await sql(f, query) }
        #expect(error?.kind == kind, "\(query): \(error.map { "\($0.kind): \($0.message)" } ?? "returned rows")")
        if kind == .sqlFailed { #expect(error?.message.contains("no such table") == true, "\(query): \(error?.message ?? "")") }
    }

    @Test func documentsRoundTripThroughBothReadPaths() async throws {
        let f = try await fixture()
        defer { f.remove() }
        let data: BSONDocument = [
            "readings": ["name": "ünïcødé ☃", "empty": "", "list": [1.5, "two", ["three": true]], "when": .datetime(1_700_000_000_123), "none": .null]
        ]
        let reading = Reading(
            organizationID: f.orgB, locationID: "", robotID: "r'q", componentName: "quote\"name", timeRequested: 1, timeReceived: 2,
            tags: ["a\"b", "ü"], additionalParameters: ["nested": ["x": 1]], data: data)
        _ = try await f.store.insert([reading], idempotencyKey: nil)
        let docs = try await f.store.readings(
            organizationID: f.orgB, source: .standard, filter: ReadingFilter().restricting(.robotID, to: ["r'q"]), sortByTimeDescending: false, limit: nil)
        #expect(docs.count == 1)
        #expect(docs.first?["data"] == .document(data))
        #expect(docs.first?["tags"] == ["a\"b", "ü"])
        #expect(docs.first?["location_id"] == "")
        let rows = try await sql(f, "SELECT json_extract(data, '$.readings.name') AS name, json_extract(data, '$.readings.list[2].three') AS t, json_extract(data, '$.readings.when') AS w FROM readings WHERE robot_id = 'r''q'", org: f.orgB)
        #expect(rows == [["name": "ünïcødé ☃", "t": .int64(1), "w": #"{"$date":"2023-11-14T22:13:20.123Z"}"#]])
    }

    @Test func aLongQueryDoesNotBlockIngest() async throws {
        var limits = SQLSandboxLimits()
        limits.maxDuration = .seconds(3600)  // the query ends when the test cancels it, never by the clock
        let f = try await fixture(limits: limits)
        defer { f.remove() }
        let store = f.store
        let org = f.orgA
        let queryDone = Mutex(false)
        let query = Task {
            _ = try? await store.tabularDataBySQL(
                organizationID: org, source: .standard,
                query: "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c, readings")
            queryDone.withLock { $0 = true }
        }
        try await Task.sleep(for: .milliseconds(200))
        _ = try await f.store.insert(StoreFixture.readings(200..<300, org: f.orgA), idempotencyKey: nil)
        // Ordering, not timing: the write committed while the endless query was still running.
        #expect(queryDone.withLock { !$0 }, "WAL lets writes proceed beside a reader")
        query.cancel()
        _ = await query.value
        #expect(queryDone.withLock { $0 })
    }

    @Test func expensiveQueriesAreStopped() async throws {
        var limits = SQLSandboxLimits()
        limits.maxInstructions = 5_000_000
        let f = try await fixture(limits: limits)
        defer { f.remove() }
        let forever = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"
        var error = await storeError { _ = try await sql(f, forever) }
        #expect(error?.kind == .resourceExhausted)
        #expect(error?.message.contains("steps of work") == true)
        let cross = "SELECT count(*) FROM readings a, readings b, readings c, readings d, readings e, readings f"
        error = await storeError { _ = try await sql(f, cross) }
        #expect(error?.kind == .resourceExhausted)
        // The limit is per query: a normal query right after still works.
        #expect(try await sql(f, "SELECT count(*) AS n FROM readings") == [["n": .int64(20)]])
    }

    // The time limit only keeps a broken limit from hanging the suite; the assertions are on the error.
    @Test(.timeLimit(.minutes(5))) func slowQueriesAreStoppedByTime() async throws {
        var limits = SQLSandboxLimits()
        limits.maxDuration = .milliseconds(200)
        let f = try await fixture(limits: limits)
        defer { f.remove() }
        let error = await storeError {
            _ = try await sql(f, "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c")
        }
        #expect(error?.kind == .resourceExhausted)
        #expect(error?.message.contains("ran longer") == true)
    }

    @Test func resultSizeIsBounded() async throws {
        var limits = SQLSandboxLimits()
        limits.maxRows = 10
        let f = try await fixture(limits: limits)
        defer { f.remove() }
        let error = await storeError { _ = try await sql(f, "SELECT * FROM readings") }
        #expect(error?.kind == .resourceExhausted)
        #expect(error?.message.contains("LIMIT") == true)
        #expect(try await sql(f, "SELECT * FROM readings LIMIT 10").count == 10)
        let big = await storeError { _ = try await sql(f, "SELECT zeroblob(100000000) AS z") }
        #expect(big?.kind == .sqlFailed)
    }

    @Test(.timeLimit(.minutes(5))) func cancellationStopsAQuery() async throws {
        let f = try await fixture()
        defer { f.remove() }
        let store = f.store
        let org = f.orgA
        let task = Task {
            try await store.tabularDataBySQL(
                organizationID: org, source: .standard,
                query: "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c")
        }
        try await Task.sleep(for: .milliseconds(100))
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
    }

    @Test func syntaxErrorsAreClear() async throws {
        let f = try await fixture()
        defer { f.remove() }
        var error = await storeError { _ = try await sql(f, "SELEKT * FROM readings") }
        #expect(error?.kind == .sqlFailed)
        #expect(error?.message.contains("syntax error") == true)
        error = await storeError { _ = try await sql(f, "SELECT nope FROM readings") }
        #expect(error?.message.contains("no such column: nope") == true)
        error = await storeError { _ = try await sql(f, "   -- nothing") }
        #expect(error?.message.contains("empty") == true)
        error = await storeError { _ = try await sql(f, "SELECT bson_json('text')") }
        #expect(error?.kind == .sqlFailed)
    }

    @Test func hotStorageSource() async throws {
        let f = try await fixture()
        defer { f.remove() }
        _ = try await f.store.pruneHotStorage(now: Date(timeIntervalSince1970: Double(StoreFixture.t0) / 1000 + 24 * 3600 + 10 * 60))
        let hot = try await f.store.tabularDataBySQL(organizationID: f.orgA, source: .hotStorage, query: "SELECT count(*) AS n FROM readings")
        #expect(hot == [["n": .int64(10)]])
    }
}
