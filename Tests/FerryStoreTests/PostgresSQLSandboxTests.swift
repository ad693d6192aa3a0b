import FerryBSON
import FerryStore
import FerryStorePostgres
import Foundation
import StoreTestSupport
import Testing

/// TabularDataBySQL on PostgreSQL: its dialect (`data` is `jsonb`, times are `timestamptz`), and
/// the same promises as on SQLite: read-only, one organisation, bounded in time and rows.
@Suite struct PostgresSQLSandboxTests {
    func fixture(limits: SQLSandboxLimits = SQLSandboxLimits()) async throws -> StoreFixture {
        let f = try await StoreFixture.make(.postgres, sqlLimits: limits)
        _ = try await f.store.insert(StoreFixture.readings(0..<20, org: f.orgA), idempotencyKey: nil)
        _ = try await f.store.insert(StoreFixture.readings(100..<105, org: f.orgB), idempotencyKey: nil)
        return f
    }

    func sql(_ f: StoreFixture, _ query: String, org: String? = nil) async throws -> [BSONDocument] {
        try await f.store.tabularDataBySQL(organizationID: org ?? f.orgA, source: .standard, query: query)
    }

    @Test func postgresDialectQueries() async throws {
        let f = try await fixture()
        defer { f.remove() }
        let rows = try await sql(
            f,
            """
            SELECT component_name, (data->'readings'->>'temperature')::float8 AS temperature, time_received
            FROM readings WHERE component_name = 'sensor-1' ORDER BY time_received LIMIT 2
            """)
        #expect(
            rows == [
                ["component_name": "sensor-1", "temperature": 20.5, "time_received": .datetime(StoreFixture.t0 + 60_000)],
                ["component_name": "sensor-1", "temperature": 22.5, "time_received": .datetime(StoreFixture.t0 + 5 * 60_000)],
            ])
        // jsonb columns come back as JSON text (jsonb's own key order and spacing).
        let first = try await sql(f, "SELECT data, additional_parameters, tags FROM readings ORDER BY time_received LIMIT 1")
        #expect(
            first == [
                [
                    "data": #"{"readings": {"i": 0, "label": "r0", "temperature": 20.0}}"#, "additional_parameters": #"{"unit": "celsius"}"#,
                    "tags": #"["even", "lab"]"#,
                ]
            ])
        #expect(try await sql(f, "SELECT count(*) AS n FROM readings WHERE tags ? 'lab'") == [["n": .int64(10)]])
        let grouped = try await sql(
            f,
            "SELECT component_name, count(*) AS n, avg((data->'readings'->>'temperature')::float8) AS t FROM readings GROUP BY 1 ORDER BY 1")
        #expect(grouped.count == 4)
        #expect(grouped[0] == ["component_name": "sensor-0", "n": .int64(5), "t": 22.0])
        // A time filter is a timestamptz comparison (and uses the indexes).
        let recent = try await sql(
            f, "SELECT count(*) AS n FROM readings WHERE time_received >= timestamptz '2023-11-14 22:23:20+00'")
        #expect(recent == [["n": .int64(10)]])
        let cte = try await sql(f, "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 5) SELECT sum(x) AS s FROM c")
        #expect(cte == [["s": .int64(15)]])
        #expect(try await sql(f, "SELECT NULL::text AS n, '\\x0102'::bytea AS b") == [["n": .null, "b": .binary(BSONBinary(data: [1, 2]))]])
    }

    @Test func anotherOrganisationsRowsAreInvisible() async throws {
        let f = try await fixture()
        defer { f.remove() }
        #expect(try await sql(f, "SELECT count(*) AS n FROM readings") == [["n": .int64(20)]])
        #expect(try await sql(f, "SELECT count(*) AS n FROM readings", org: f.orgB) == [["n": .int64(5)]])
        #expect(try await sql(f, "SELECT count(*) AS n FROM readings WHERE organization_id = '\(f.orgB)'") == [["n": .int64(0)]])
        #expect(try await sql(f, "SELECT count(*) AS n FROM readings", org: "nobody") == [["n": .int64(0)]])
        #expect(try await sql(f, "SELECT count(*) AS n FROM readings", org: "x' OR '1'='1") == [["n": .int64(0)]])
    }

    /// Each attack is refused with a clear message and the store is unchanged.
    @Test(arguments: [
        ("DELETE FROM readings", "DELETE is not allowed"),
        ("UPDATE readings SET component_name = 'x'", "UPDATE is not allowed"),
        ("INSERT INTO readings (organization_id) VALUES ('x')", "INSERT is not allowed"),
        ("DROP TABLE readings", "DROP is not allowed"),
        ("CREATE TABLE t (x int)", "CREATE is not allowed"),
        ("BEGIN", "BEGIN is not allowed"),
        ("SELECT * FROM public.api_keys", "may not do this"),
        ("SELECT * FROM public.readings", "may not do this"),
        ("SELECT * FROM api_keys", "the only table"),
        ("SELECT * FROM ferry_sql_scopes", "the only table"),
        ("SELECT * FROM pg_authid", "may not do this"),
        ("SELECT set_config('role', 'ferry', false)", "set_config"),
        ("SELECT \"set_config\"('ferry.x', 'y', false)", "set_config"),
        ("SELECT U&\"\\0073et_config\"('role', 'ferry', false)", "U&"),
        ("SELECT current_setting('data_directory')", "current_setting"),
        ("SELECT pg_read_file('/etc/passwd')", "pg_read_file"),
        ("SELECT * FROM pg_ls_dir('.')", "pg_ls_"),
        ("SELECT query_to_xml('select * from api_keys', true, false, '')", "query_to_xml"),
        ("SELECT lo_import('/etc/passwd')", "lo_import"),
        ("SELECT 1; SELECT 2", "single statement"),
        ("WITH gone AS (DELETE FROM readings RETURNING 1) SELECT count(*) FROM gone", "read-only"),
    ])
    func attacksAreRefused(query: String, reason: String) async throws {
        let f = try await fixture()
        defer { f.remove() }
        let error = await storeError { _ = try await sql(f, query) }
        #expect(error?.kind == .sqlRefused, "\(query): \(error.map(String.init(describing:)) ?? "no error")")
        #expect(error?.message.contains(reason) == true, "\(query): \(error?.message ?? "")")
        #expect(try await sql(f, "SELECT count(*) AS n FROM readings") == [["n": .int64(20)]])
        #expect(try await f.store.apiKeys(organizationID: f.orgA).isEmpty)
    }

    // The time limit only keeps a broken limit from hanging the suite; the assertions are on the error.
    @Test(.timeLimit(.minutes(5))) func slowQueriesAreStoppedByTheStatementTimeout() async throws {
        var limits = SQLSandboxLimits()
        limits.maxDuration = .milliseconds(300)
        let f = try await fixture(limits: limits)
        defer { f.remove() }
        let error = await storeError { _ = try await sql(f, "SELECT count(*) FROM generate_series(1, 10000000000)") }
        #expect(error?.kind == .resourceExhausted)
        #expect(error?.message.contains("ran longer") == true)
        #expect(try await sql(f, "SELECT count(*) AS n FROM readings") == [["n": .int64(20)]], "the next query runs normally")
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
    }

    @Test(.timeLimit(.minutes(5))) func cancellationStopsAQuery() async throws {
        let f = try await fixture()
        defer { f.remove() }
        let store = f.store
        let org = f.orgA
        let task = Task {
            try await store.tabularDataBySQL(
                organizationID: org, source: .standard, query: "SELECT count(*) FROM generate_series(1, 100000000000)")
        }
        try await Task.sleep(for: .milliseconds(300))
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
    }

    @Test func errorsAreClear() async throws {
        let f = try await fixture()
        defer { f.remove() }
        var error = await storeError { _ = try await sql(f, "SELEKT * FROM readings") }
        #expect(error?.kind == .sqlFailed)
        #expect(error?.message.contains("syntax error") == true)
        error = await storeError { _ = try await sql(f, "SELECT nope FROM readings") }
        #expect(error?.kind == .sqlFailed)
        #expect(error?.message.contains("nope") == true)
    }

    @Test func hotStorageSource() async throws {
        let f = try await fixture()
        defer { f.remove() }
        _ = try await f.store.pruneHotStorage(now: Date(timeIntervalSince1970: Double(StoreFixture.t0) / 1000 + 24 * 3600 + 10 * 60))
        let hot = try await f.store.tabularDataBySQL(organizationID: f.orgA, source: .hotStorage, query: "SELECT count(*) AS n FROM readings")
        #expect(hot == [["n": .int64(10)]])
    }
}
