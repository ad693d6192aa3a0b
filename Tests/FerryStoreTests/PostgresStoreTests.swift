import FerryBSON
import FerryStore
@testable import FerryStorePostgres
import FerryTestSupport
import Foundation
import PostgresNIO
import StoreTestSupport
import Synchronization
import Testing

/// What only the PostgreSQL backend has: its URL, its schema's migrations and partitions.
@Suite struct PostgresURLTests {
    @Test func libpqURLsParse() throws {
        let url = try PostgresURL("postgres://ferry:s%40cret@db.example:6432/fleet?sslmode=verify-full&sslrootcert=/etc/ca.pem&application_name=edge", environment: [:])
        #expect(url.user == "ferry" && url.password == "s@cret" && url.host == "db.example" && url.port == 6432)
        #expect(url.database == "fleet" && url.sslMode == .verifyFull && url.sslRootCert == "/etc/ca.pem" && url.applicationName == "edge")
        #expect(url.description == "postgresql://ferry@db.example:6432/fleet?sslmode=verify-full", "never the password")
        // The password from PGPASSWORD; defaults as libpq has them.
        let plain = try PostgresURL("postgresql://ferry@127.0.0.1/ferry", environment: ["PGPASSWORD": "pw"])
        #expect(plain.password == "pw" && plain.port == 5432 && plain.sslMode == .prefer && !plain.isUnixSocket)
        // A Unix-socket directory as the host parameter.
        let socket = try PostgresURL("postgresql://ferry@/ferry?host=/tmp/pg/sock&sslmode=disable", environment: [:])
        #expect(socket.isUnixSocket && socket.socketPath == "/tmp/pg/sock/.s.PGSQL.5432" && socket.sslMode == .disable)
        let ipv6 = try PostgresURL("postgres://u@[::1]:5433/d", environment: [:])
        #expect(ipv6.host == "::1" && ipv6.port == 5433)
    }

    @Test(arguments: [
        ("mysql://x@y/z", "must start with postgres://"),
        ("postgres://u@h:99999/d", "not a number from 1 to 65535"),
        ("postgres://u@h/d?sslmode=sometimes", "sslmode \"sometimes\" is not one of"),
        ("postgres://u@h/d?fancy=1", "\"fancy\" is not supported"),
        ("postgres://u@/d?host=/tmp&sslmode=verify-full", "needs a TCP host"),
        ("postgres://u@a,b/d", "several hosts"),
    ])
    func badURLsSayWhatIsWrong(url: String, problem: String) {
        #expect(throws: PostgresURLError.self) { try PostgresURL(url, environment: [:]) }
        do {
            _ = try PostgresURL(url, environment: [:])
        } catch {
            #expect("\(error)".contains(problem), "\(error)")
        }
    }

    @Test func passwordsNeverShowInMessages() throws {
        #expect(StoreLocation.database("postgres://ferry:hunter2@db/x").description == "postgres://ferry:***@db/x")
        #expect(StoreLocation.database("postgres://ferry@db/x?password=hunter2&sslmode=require").description == "postgres://ferry@db/x?password=***&sslmode=require")
        do {
            _ = try PostgresURL("postgres://ferry:hunter2@db:0/x", environment: [:])
            Issue.record("a bad port must be refused")
        } catch {
            #expect(!"\(error)".contains("hunter2"), "\(error)")
        }
    }
}

@Suite struct PostgresSchemaTests {
    /// A database made by an older Ferry (only the first migration), holding data: opening it
    /// applies the rest, and the data is still there and usable.
    @Test func forwardMigrationsFromAnOlderSchemaKeepTheData() async throws {
        let url = try await TestPostgres.freshDatabase()
        let name = TestPostgres.databaseName(of: url)
        let old = try await PostgresStore.open(try PostgresURL(url), configuration: .init(.testing), migratingUpTo: "v1-core")
        let org = try await old.createOrganization(name: "Old")
        let key = try await old.createAPIKey(organizationID: org.id, role: .owner)
        old.close()
        // What v1's ingest would have written, by hand (v1 had no ingest function of this version).
        try TestPostgres.psql(
            """
            CREATE TABLE readings_2023_11 PARTITION OF readings FOR VALUES FROM ('2023-11-01 00:00+00') TO ('2023-12-01 00:00+00');
            INSERT INTO readings (organization_id, location_id, robot_id, part_id, component_type, component_name, method_name,
                time_requested, time_received, tags, additional_parameters, data, additional_parameters_bson, data_bson)
            VALUES ('\(org.id)', '', '', '', 'rdk:component:sensor', 'old-sensor', 'Readings', '2023-11-14 22:13:20+00',
                '2023-11-14 22:13:20.5+00', '[]', '{}', '{"v": 1}', '\\x0500000000', '\\x0c0000001076000100000000');
            INSERT INTO sink_documents (organization_id, pipeline_id, window_start, window_end, run_id, position, document)
            VALUES ('\(org.id)', 'p1', 0, 60000, 'r', 0, '\\x0c0000001076000100000000');
            INSERT INTO sink_documents (organization_id, pipeline_id, window_start, window_end, run_id, position, document)
            SELECT '\(org.id)', 'p-many', 0, 60000, 'r', n, '\\x0c0000001076000200000000' FROM generate_series(1, 2500) AS n;
            """, database: name)
        #expect(try TestPostgres.psql("SELECT string_agg(name, ',' ORDER BY name) FROM ferry_migrations", database: name) == "v1-core\n")

        let store = try await PostgresStore.open(try PostgresURL(url), configuration: .init(.testing))
        defer { store.close() }
        let applied = try TestPostgres.psql("SELECT string_agg(name, ',' ORDER BY name) FROM ferry_migrations", database: name)
        #expect(applied == "functions,v1-core,v10-saved-queries,v11-sink-json,v12-chart-hours,v2-pipelines,v3-sql-sandbox,v4-binary-annotations,v5-database-users,v6-binary-by-capture-time,v7-datasets,v8-retention-policies,v9-data-indexes\n")
        #expect(try await store.verifyAPIKey(id: key.info.id, secret: key.secret)?.organizationID == org.id)
        let docs = try await store.readings(organizationID: org.id, source: .standard, filter: .all, sortByTimeDescending: false, limit: nil)
        #expect(docs.count == 1)
        #expect(docs.first?["data"] == .document(["v": .int32(1)]))
        #expect(docs.first?["time_received"] == .datetime(1_700_000_000_500))
        // What the later migrations brought works on the old data.
        let pipeline = PipelineRecord(
            id: "p1", organizationID: org.id, name: "counts", schedule: "0 * * * *", stages: [["$count": "n"]], enableBackfill: true,
            source: .standard, createdAt: 0, scheduledThrough: 0)
        try await store.createPipeline(pipeline)
        _ = try await store.insert([Reading(organizationID: org.id, timeRequested: 1_700_000_100_000, timeReceived: 1_700_000_100_000, data: ["v": 2])], idempotencyKey: nil)
        #expect(try await store.invalidations(organizationID: org.id, source: "readings", after: 0, limit: 10).count == 1)
        #expect(try await store.tabularDataBySQL(organizationID: org.id, source: .standard, query: "SELECT count(*) AS n FROM readings") == [["n": .int64(2)]])
        let dataset = try await store.createDataset(name: "after-upgrade", organizationID: org.id)
        #expect(try await store.datasets(organizationID: org.id) == [dataset])
        let resource = RetentionResource(organizationID: org.id, partID: "p", componentName: "c", methodName: "Readings")
        try await store.setRetentionPolicy(RetentionPolicy(days: 3), for: resource)
        #expect(try await store.retentionPolicies() == [resource: RetentionPolicy(days: 3)])
        // A custom index is built over the rows written before its migration, and serves them.
        try await store.createIndex(DataIndex(organizationID: org.id, name: "v", keys: [DataIndexKey(field: "data.v", direction: 1)], createdAt: 0))
        var hinted = ReadingFilter()
        hinted.dataHints = [DataHint(path: ["v"], test: .oneOf([.int(1)]))]
        #expect(try await store.readings(organizationID: org.id, source: .standard, filter: hinted, sortByTimeDescending: false, limit: nil).count == 1)
        // The sink documents written before v11 got their jsonb copy (filled a page at a time), so
        // the sink's index serves them.
        #expect(try TestPostgres.psql("SELECT count(*) FILTER (WHERE data IS NULL), count(*) FILTER (WHERE data = '{\"v\": 2}') FROM sink_documents", database: name) == "0|2500\n")
        try await store.createIndex(
            DataIndex(organizationID: org.id, pipelineID: "p1", name: "v", keys: [DataIndexKey(field: "v", direction: 1)], createdAt: 0))
        #expect(try await store.sinkDocuments(organizationID: org.id, pipelineID: "p1", hints: MatchPushdown.documentHints(["v": 1])) == [["v": 1]])
        #expect(try await store.sinkDocuments(organizationID: org.id, pipelineID: "p1", hints: MatchPushdown.documentHints(["v": 2])).isEmpty)
        // Opening again changes nothing.
        let again = try await PostgresStore.open(try PostgresURL(url), configuration: .init(.testing))
        again.close()
        #expect(try TestPostgres.psql("SELECT count(*) FROM ferry_migrations", database: name) == "13\n")
    }

    @Test func aDatabaseFromANewerFerryIsRefused() async throws {
        let url = try await TestPostgres.freshDatabase()
        let store = try await PostgresStore.open(try PostgresURL(url), configuration: .init(.testing))
        store.close()
        try TestPostgres.psql("INSERT INTO ferry_migrations (name) VALUES ('v99-future')", database: TestPostgres.databaseName(of: url))
        let error = await storeError { _ = try await PostgresStore.open(try PostgresURL(url), configuration: .init(.testing)) }
        #expect(error?.message.contains("v99-future") == true && error?.message.contains("newer version") == true, "\(error.map { "\($0)" } ?? "")")
    }

    /// Readings land in monthly partitions; a pushed-down filter reads one partition through an index.
    @Test func readingsArePartitionedByMonthAndQueriesPruneAndUseIndexes() async throws {
        let f = try await StoreFixture.make(.postgres)
        defer { f.remove() }
        let months: [Int64] = [1_700_000_000_000, 1_702_700_000_000, 1_705_400_000_000]  // Nov 2023, Dec 2023, Jan 2024
        var batch: [Reading] = []
        for (m, t) in months.enumerated() {
            for i in 0..<200 { batch.append(StoreFixture.reading(m * 1000 + i, org: f.orgA, time: t + Int64(i) * 1000)) }
        }
        _ = try await f.store.insert(batch, idempotencyKey: nil)
        guard case .database(let url) = f.testStore.location else { return }
        let name = TestPostgres.databaseName(of: url)
        let partitions = try TestPostgres.psql(
            "SELECT string_agg(c.relname, ',' ORDER BY c.relname) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'readings'::regclass",
            database: name)
        #expect(partitions == "readings_2023_11,readings_2023_12,readings_2024_01,readings_before_1970,readings_from_2200\n")
        try TestPostgres.psql("ANALYZE readings", database: name)
        let plan = try TestPostgres.psql(
            """
            SET enable_seqscan = off;
            EXPLAIN SELECT * FROM readings WHERE organization_id = '\(f.orgA)' AND component_name = 'sensor-1'
            AND time_received >= '2023-12-01 00:00+00' AND time_received < '2024-01-01 00:00+00' ORDER BY time_received
            """, database: name)
        #expect(plan.contains("readings_2023_12") && !plan.contains("readings_2023_11") && !plan.contains("readings_2024_01"), "\(plan)")
        #expect(plan.contains("Index") && plan.contains("component"), "\(plan)")
    }

    /// A packed page whose rows the server aggregated out of the query's order is put back in
    /// order (its rows are the right ones either way), and the next page starts after its last.
    @Test func aPackedPageOutOfOrderIsPutBackInOrder() async throws {
        let f = try await StoreFixture.make(.postgres)
        defer { f.remove() }
        _ = try await f.store.insert(StoreFixture.readings(0..<50, org: f.orgA), idempotencyKey: nil)
        let store = try #require(f.store as? PostgresStore)
        let packing = PackedReadings(ReadingFields(.everything))
        let shuffled = PostgresQuery(
            unsafeSQL: "SELECT string_agg(packed, ''::bytea ORDER BY id % 7, id DESC) FROM (SELECT \(packing.selectList) FROM readings) AS page")
        let bytes = try await store.client.query(shuffled).collect().first?.decode(ByteBuffer?.self)
        let (rows, last) = try PackedReadings.scan(bytes, descending: false)
        var documents: [BSONDocument] = []
        var cursors: [ReadingCursor] = []
        try packing.decode(bytes, descending: false, into: &documents, cursors: &cursors)
        #expect(rows == 50 && documents.compactMap(\.recordIndex) == Array(0..<50))
        #expect(last == cursors.last && cursors == cursors.sorted { ($0.timeReceived, $0.id) < ($1.timeReceived, $1.id) })
        // A truncated page is an error, never fewer readings.
        let cut = bytes.map { $0.getSlice(at: $0.readerIndex, length: $0.readableBytes - 3)! }
        #expect(throws: StoreError.self) { try PackedReadings.scan(cut, descending: false) }
        #expect(throws: StoreError.self) { try packing.decode(cut, descending: false, into: &documents, cursors: &cursors) }
    }
}

@Suite struct PostgresChangeFeedTests {
    /// A pipeline saved through one store (one replica) reaches another store on the same database
    /// as a change, and cancelling the follower ends it.
    @Test(.timeLimit(.minutes(5))) func anotherReplicasPipelineSaveIsReported() async throws {
        let f = try await StoreFixture.make(.postgres)
        defer { f.remove() }
        let other = try await f.testStore.reopen()
        defer { (other as? PostgresStore)?.close() }
        let (changes, continuation) = AsyncStream.makeStream(of: Void.self)
        let follower = Task { await other.followPipelineChanges { continuation.yield() } }
        var iterator = changes.makeAsyncIterator()
        _ = await iterator.next()  // listening now (the call for what changed before)

        let pipeline = PipelineRecord(
            id: "p1", organizationID: f.orgA, name: "counts", schedule: "0 * * * *", stages: [["$count": "n"]], enableBackfill: true,
            source: .standard, createdAt: 0, scheduledThrough: 0)
        try await f.store.createPipeline(pipeline)
        var renamed = pipeline
        renamed.name = "renamed"
        #expect(try await f.store.savePipeline(renamed, expectedRevision: 0, newRuns: [], dropSink: false))
        #expect(await iterator.next() != nil, "the save on the first store is reported to the second")

        follower.cancel()
        await follower.value
        continuation.finish()
    }

    /// SQLite has no feed: following returns at once, and its schedulers poll.
    @Test func sqliteHasNoFeed() async throws {
        let f = try await StoreFixture.make(.sqlite)
        defer { f.remove() }
        let calls = Mutex(0)
        await f.store.followPipelineChanges { calls.withLock { $0 += 1 } }
        #expect(calls.withLock { $0 } == 0)
    }
}

/// The JSON text of the `jsonb` columns: the one escape `jsonb` refuses is replaced, nothing else.
@Suite struct PostgresJSONTextTests {
    @Test(arguments: [
        ("", ""), ("{}", "{}"), (#"{"a":"b"}"#, #"{"a":"b"}"#),
        (#"{"a":"\u0000"}"#, #"{"a":"\ufffd"}"#),
        (#"\u0000"#, #"\ufffd"#),
        (#"x\u0000\u0000"#, #"x\ufffd\ufffd"#),
        // An escaped backslash followed by the letters u0000 is not the escape.
        (#"{"a":"\\u0000"}"#, #"{"a":"\\u0000"}"#),
        (#"{"a":"\u000"}"#, #"{"a":"\u000"}"#), (#"\u0001"#, #"\u0001"#), ("ü\\u0000ü", "ü\\ufffdü"),
    ])
    func onlyTheNULEscapeIsReplaced(json: String, expected: String) {
        #expect(PGJSON.withoutNUL(json) == expected)
        #expect(PGJSON.containsNULEscape(json) == json.contains(#"\u0000"#))
    }

    @Test func aReadingsNULCharacterInAStringBecomesTheReplacementCharacter() {
        #expect(PGJSON.text(["s": .string("a\u{0}b")]) == #"{"s":"a\ufffdb"}"#)
    }
}
