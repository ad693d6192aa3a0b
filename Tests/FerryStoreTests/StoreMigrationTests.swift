import FerryBSON
import FerryStore
import FerryStorePostgres
import FerryStoreSQLite
import FerryTestSupport
import Foundation
import GRDB
import StoreTestSupport
import Testing

/// `StoreMigration` (what `ferry store migrate` runs) between real stores of both backends.
@Suite struct StoreMigrationTests {
    /// Every kind of row the stores hold, as a source store has them after a few days of use.
    struct Seeded {
        var orgA: String
        var orgB: String
        var owner: NewAPIKey
        var revoked: NewAPIKey
        var scoped: NewAPIKey
        var pipelineID: String
        var upload: [Reading]
        var uploadKey: IdempotencyKey
        var binaryID: String
        var payload: [UInt8]
        var datasetID: String
    }

    static let t0 = StoreFixture.t0

    static func seed(_ store: any DataStore) async throws -> Seeded {
        let a = try await store.createOrganization(name: "Acme")
        let b = try await store.createOrganization(name: "Bolt")
        let owner = try await store.createAPIKey(organizationID: a.id, role: .owner)
        let revoked = try await store.createAPIKey(organizationID: a.id, role: .viewer, name: "old")
        #expect(try await store.revokeAPIKey(organizationID: a.id, id: revoked.info.id))
        let scoped = try await store.createAPIKey(
            organizationID: b.id, role: .operator, name: "robot", scope: MachineScope(locationID: "loc-1", robotID: "robot-1"))
        _ = try await store.configureDatabaseUser(
            organizationID: a.id,
            credential: DatabaseUserCredential(
                salt: Array(repeating: 7, count: 16), iterations: 15_000, storedKey: Array(repeating: 8, count: 32),
                serverKey: Array(repeating: 9, count: 32)), mayInsert: true)
        _ = try await store.tokenSigningKey()
        try await store.recordDatabaseEndpoint(DatabaseEndpoint(address: "db.example:27017", tls: true))
        // Hot storage's cutoff one day before the newest readings: older ones are not hot.
        _ = try await store.pruneHotStorage(now: Date(timeIntervalSince1970: Double(t0 + 70 * 86_400_000) / 1000))

        // A pipeline with backfill before the readings, so that ingest logs invalidations.
        let pipeline = PipelineRecord(
            id: "pipe-1", organizationID: a.id, name: "counts", schedule: "0 * * * *", stages: [["$count": "n"]],
            enableBackfill: true, source: .standard, createdAt: t0, scheduledThrough: t0, invalidationCursor: 0)
        try await store.createPipeline(pipeline)
        let chained = PipelineRecord(
            id: "pipe-2", organizationID: a.id, name: "chained", schedule: "0 0 * * *", stages: [["$limit": 1]],
            enableBackfill: true, source: .pipelineSink("pipe-1"), createdAt: t0, scheduledThrough: t0)
        try await store.createPipeline(chained)

        // 2,600 readings over three months (three partitions on PostgreSQL), in idempotent batches.
        let upload = (0..<2_600).map { i in
            var r = StoreFixture.reading(i, org: a.id, time: t0 + Int64(i) * 2_700_000)
            if i == 5 { r.data = ["readings": ["nan": .double(.nan)]] }
            return r
        }
        var key = IdempotencyKey(fileID: "capture-1", firstRecord: 0, lastRecord: 0)
        for start in stride(from: 0, to: upload.count, by: 500) {
            let end = min(start + 500, upload.count)
            key = IdempotencyKey(fileID: "capture-1", firstRecord: start, lastRecord: end)
            #expect(try await store.insert(Array(upload[start..<end]), idempotencyKey: key).inserted == end - start)
        }
        _ = try await store.insert(StoreFixture.readings(0..<10, org: b.id), idempotencyKey: nil)
        let uploadKey = IdempotencyKey(fileID: "capture-1", firstRecord: 0, lastRecord: upload.count)

        var metadata = BinaryMetadata(
            organizationID: a.id, componentType: "rdk:component:camera", componentName: "cam", fileName: "frame",
            fileExtension: ".jpeg", mimeType: "image/jpeg", timeRequested: t0, timeReceived: t0 + 1, tags: ["yard"],
            fileID: "frame-1")
        metadata.annotations = ["bboxes": [["label": "cup", "x_min_normalized": 0.1, "y_min_normalized": 0.2,
                                            "x_max_normalized": 0.3, "y_max_normalized": 0.4]]]
        let payload = (0..<70_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let binary = try await store.storeBinary(metadata, bytes: payload)
        _ = try await store.addBinaryTags(["reviewed"], organizationID: a.id, ids: [binary.id])
        _ = try await store.storeBinary(BinaryMetadata(organizationID: b.id, timeRequested: t0, timeReceived: t0), bytes: [])
        let dataset = try await store.createDataset(name: "cups", organizationID: a.id)
        _ = try await store.createDataset(name: "empty", organizationID: a.id)
        #expect(try await store.addToDataset(id: dataset.id, organizationID: a.id, binaryIDs: [binary.id]) == 1)
        try await store.createSavedQuery(
            SavedQuery(
                id: "query-1", organizationID: a.id, name: "hot sensors",
                stages: [["$match": ["data.readings.t": ["$gt": .double(.nan)]]], ["$limit": .int64(5)]], createdAt: t0, updatedAt: t0 + 1))

        // Runs: one completed with results (a sink, and an invalidation for the chained pipeline), one failed.
        var current = try #require(try await store.pipeline(id: "pipe-1"))
        let window = SinkWindow(start: t0, end: t0 + 3_600_000)
        let done = PipelineRunRecord(
            id: "run-1", pipelineID: "pipe-1", organizationID: a.id, window: window, kind: .backfill, notBefore: t0, createdAt: t0)
        let failed = PipelineRunRecord(
            id: "run-2", pipelineID: "pipe-1", organizationID: a.id, window: SinkWindow(start: window.end, end: window.end + 3_600_000),
            kind: .scheduled, notBefore: t0, createdAt: t0)
        current.scheduledThrough = window.end + 3_600_000
        #expect(try await store.savePipeline(current, expectedRevision: current.revision, newRuns: [done, failed], dropSink: false))
        #expect(try await store.startRun(id: "run-1", now: t0 + 10))
        #expect(
            try await store.completeRun(
                id: "run-1", documents: [["n": 12, "_id": "w1"], ["n": .double(.nan)], ["location": "yard"]], now: t0 + 20))
        #expect(try await store.failRun(id: "run-2", message: "timed out", now: t0 + 30, retry: nil))

        // Custom indexes: two organisations sharing one physical index, and one on the sink.
        for org in [a.id, b.id] {
            try await store.createIndex(
                DataIndex(organizationID: org, name: "temperature", keys: [DataIndexKey(field: "data.readings.temperature", direction: -1)], createdAt: t0 + 40))
        }
        try await store.createIndex(
            DataIndex(organizationID: a.id, pipelineID: "pipe-1", name: "by_location", keys: [DataIndexKey(field: "location", direction: 1)], createdAt: t0 + 50))
        return Seeded(
            orgA: a.id, orgB: b.id, owner: owner, revoked: revoked, scoped: scoped, pipelineID: "pipe-1", upload: upload,
            uploadKey: uploadKey, binaryID: binary.id, payload: payload, datasetID: dataset.id)
    }

    /// Every row of every kind, by key.
    static func dump(_ store: any DataStore) async throws -> [TransferKind: [String: TransferRecord]] {
        var all: [TransferKind: [String: TransferRecord]] = [:]
        for kind in TransferKind.allCases {
            var rows: [String: TransferRecord] = [:]
            var cursor: String?
            repeat {
                let page = try await store.exportRecords(kind, after: cursor, limit: 300)
                for record in page.records {
                    #expect(rows[record.key] == nil, "\(kind) \(record.key) exported twice")
                    rows[record.key] = record
                }
                cursor = page.next
            } while cursor != nil
            all[kind] = rows
        }
        return all
    }

    /// Kind by kind: the same keys, the same content (payload bytes included), the same hot readings.
    static func expectEqual(
        _ a: [TransferKind: [String: TransferRecord]], _ b: [TransferKind: [String: TransferRecord]], _ what: String,
        ignoringEndpoint: Bool = false
    ) {
        for kind in TransferKind.allCases {
            let (x, y) = (a[kind] ?? [:], b[kind] ?? [:])
            #expect(Set(x.keys) == Set(y.keys), "\(what): \(kind) keys differ: \(Set(x.keys).symmetricDifference(y.keys).sorted().prefix(5))")
            for (key, record) in x {
                guard let other = y[key] else { continue }
                #expect(record.sameContent(as: other), "\(what): \(kind) \(key) differs:\n\(record)\n\(other)")
                if case .reading(_, _, let hot) = record, case .reading(_, _, let otherHot) = other {
                    #expect(hot == otherHot, "\(what): reading \(key) is hot on one side only")
                }
                if case .binary(_, let bytes) = record, case .binary(_, let otherBytes) = other {
                    #expect(bytes == otherBytes, "\(what): binary \(key) payload differs")
                }
            }
        }
    }

    static func counts(_ totals: [StoreMigration.Progress]) -> [TransferKind: Int] {
        Dictionary(uniqueKeysWithValues: totals.map { ($0.kind, $0.copied) })
    }

    /// SQLite → PostgreSQL → SQLite: every kind arrives whole, with its ids; a second run copies
    /// nothing; the moved store works (keys verify, tokens share a key, re-uploads stay exactly-once,
    /// new rows get new ids).
    @Test(.timeLimit(.minutes(10))) func sqliteToPostgresAndBackKeepsEveryKind() async throws {
        let sqlite = try await TestStore.make(.sqlite)
        defer { sqlite.remove() }
        let postgres = try await TestStore.make(.postgres)
        defer { postgres.remove() }
        let back = try await TestStore.make(.sqlite)
        defer { back.remove() }
        let seeded = try await Self.seed(sqlite.store)
        let original = try await Self.dump(sqlite.store)
        for kind in TransferKind.allCases {
            #expect(!(original[kind] ?? [:]).isEmpty, "the seed has no \(kind)")
        }
        #expect(original[.readings]?.count == 2_610)
        #expect(original[.readings]?.values.contains { if case .reading(_, _, false) = $0 { true } else { false } } == true)

        let first = try await StoreMigration.copy(from: sqlite.store, to: postgres.store)
        #expect(Self.counts(first)[.readings] == 2_610)
        Self.expectEqual(original, try await Self.dump(postgres.store), "SQLite → PostgreSQL")
        let again = try await StoreMigration.copy(from: sqlite.store, to: postgres.store)
        #expect(again.allSatisfy { $0.copied == 0 }, "a second run copies nothing: \(again)")
        #expect(again.first { $0.kind == .readings }?.skipped == 2_610)

        try await StoreMigration.copy(from: postgres.store, to: back.store)
        Self.expectEqual(original, try await Self.dump(back.store), "PostgreSQL → SQLite")
        let backAgain = try await StoreMigration.copy(from: postgres.store, to: back.store)
        #expect(backAgain.allSatisfy { $0.copied == 0 }, "a second run copies nothing: \(backAgain)")
        // Hot storage pruned on the destination since: the readings it let go are not copied back into it.
        #expect(try await back.store.pruneHotStorage(now: Date(timeIntervalSince1970: Double(Self.t0 + 75 * 86_400_000) / 1000)) > 0)
        let afterPrune = try await StoreMigration.copy(from: postgres.store, to: back.store)
        #expect(afterPrune.allSatisfy { $0.copied == 0 }, "after a prune, a run copies nothing: \(afterPrune)")

        for (moved, isPostgres) in [(postgres.store, true), (back.store, false)] {
            // Keys, roles, scopes and revocations.
            let owner = try await moved.verifyAPIKey(id: seeded.owner.info.id, secret: seeded.owner.secret)
            #expect(owner?.organizationID == seeded.orgA && owner?.role == .owner)
            #expect(try await moved.verifyAPIKey(id: seeded.revoked.info.id, secret: seeded.revoked.secret) == nil)
            #expect(try await moved.verifyAPIKey(id: seeded.scoped.info.id, secret: seeded.scoped.secret)?.scope.robotID == "robot-1")
            // Tokens signed before the move verify after it: the signing key moved.
            #expect(try await moved.tokenSigningKey() == (try await sqlite.store.tokenSigningKey()))
            #expect(try await moved.databaseUser(organizationID: seeded.orgA)?.mayInsert == true)
            // Readings, hot storage, payloads, sinks.
            let all = try await moved.readings(
                organizationID: seeded.orgA, source: .standard, filter: ReadingFilter(), sortByTimeDescending: false, limit: nil)
            #expect(all.count == 2_600)
            let hot = try await moved.readings(
                organizationID: seeded.orgA, source: .hotStorage, filter: ReadingFilter(), sortByTimeDescending: false, limit: nil)
            let hotBefore = try await sqlite.store.readings(
                organizationID: seeded.orgA, source: .hotStorage, filter: ReadingFilter(), sortByTimeDescending: false, limit: nil)
            #expect(hot.count > 0 && hot.count <= hotBefore.count && hot.count < 2_600)
            if isPostgres { #expect(hot.count == hotBefore.count) }
            #expect(try await moved.binaryData(organizationID: seeded.orgA, id: seeded.binaryID) == seeded.payload)
            let image = try await moved.binary(organizationID: seeded.orgA, id: seeded.binaryID)
            #expect(image?.metadata.tags == ["yard", "reviewed"] && image?.metadata.datasetIDs == [seeded.datasetID])
            #expect(try await moved.datasets(organizationID: seeded.orgA).map(\.name).sorted() == ["cups", "empty"])
            let sink = try await moved.sinkDocuments(organizationID: seeded.orgA, pipelineID: seeded.pipelineID, window: nil, limit: nil)
            #expect(sink.count == 3 && sink[0]["n"] == .int32(12))
            // The copied results can be indexed (PostgreSQL's import fills their jsonb copy): n = 12
            // and NaN (the engine's to judge) are read through the index, the one without n is not.
            try await moved.createIndex(
                DataIndex(organizationID: seeded.orgA, pipelineID: seeded.pipelineID, name: "n", keys: [DataIndexKey(field: "n", direction: 1)], createdAt: 0))
            let twelve = try await moved.sinkDocuments(organizationID: seeded.orgA, pipelineID: seeded.pipelineID, hints: MatchPushdown.documentHints(["n": 12]))
            #expect(twelve.count == 2 && twelve[0]["n"] == .int32(12) && twelve[1]["n"]?.doubleValue?.isNaN == true, "\(twelve)")
            #expect(try await moved.deleteIndex(organizationID: seeded.orgA, pipelineID: seeded.pipelineID, name: "n"))
            // The copied indexes are built, not just listed: the sink's answers through its index,
            // and the hot store's is still there for one organisation after the other dropped it.
            #expect(try await moved.indexes(organizationID: seeded.orgA).map(\.name) == ["temperature"])
            let yard = try await moved.sinkDocuments(
                organizationID: seeded.orgA, pipelineID: seeded.pipelineID, hints: MatchPushdown.documentHints(["location": "yard"]))
            #expect(yard.map { $0["location"] } == [.string("yard")], "\(yard)")
            #expect(try await moved.deleteIndex(organizationID: seeded.orgA, name: "temperature"))
            #expect(try await moved.indexes(organizationID: seeded.orgB).map(\.keys) == [[DataIndexKey(field: "data.readings.temperature", direction: -1)]])
            #expect(try await moved.run(id: "run-2")?.errorMessage == "timed out")
            #expect(try await moved.latestInvalidationID() == (try await sqlite.store.latestInvalidationID()))
            // A host re-uploading its file after the move is stored once.
            #expect(try await moved.insert(seeded.upload, idempotencyKey: seeded.uploadKey).inserted == 0)
            // New rows get ids past the copied ones.
            #expect(try await moved.insert([StoreFixture.reading(1, org: seeded.orgB)], idempotencyKey: nil).inserted == 1)
            let ids = try await moved.fetchReadings(
                organizationID: seeded.orgB, source: .standard, filter: ReadingFilter(), descending: false, after: nil, limit: nil
            ).cursors.map(\.id)
            let copiedMax = try #require(original[.readings]?.keys.compactMap { Int64($0) }.max())
            #expect(ids.count == 11 && ids.filter { $0 > copiedMax }.count == 1, "a new reading gets an id past the copied ones: \(ids)")
            let window = SinkWindow(start: Self.t0 + 7_200_000, end: Self.t0 + 10_800_000)
            try await moved.replaceWindow(
                organizationID: seeded.orgA, pipelineID: seeded.pipelineID, runID: "run-3", window: window, documents: [["n": 1]])
        }
    }

    /// Interrupted, then run again: it completes, copying only what was missing.
    @Test func anInterruptedCopyCompletesWhenRunAgain() async throws {
        let sqlite = try await TestStore.make(.sqlite)
        defer { sqlite.remove() }
        let postgres = try await TestStore.make(.postgres)
        defer { postgres.remove() }
        _ = try await Self.seed(sqlite.store)
        try await StoreMigration.copy(from: sqlite.store, to: postgres.store)
        // What a copy cut short after the first pages of readings leaves: the rest missing.
        let database = TestPostgres.databaseName(of: try #require(Self.url(postgres.location)))
        try TestPostgres.psql("DELETE FROM readings WHERE id > 1000; DELETE FROM sink_documents; DELETE FROM pipeline_runs", database: database)
        let resumed = try await StoreMigration.copy(from: sqlite.store, to: postgres.store)
        #expect(Self.counts(resumed)[.readings] == 1_610)
        #expect(Self.counts(resumed)[.sinkDocuments] == 3 && Self.counts(resumed)[.pipelineRuns] == 2)
        #expect(Self.counts(resumed)[.organizations] == 0)
        Self.expectEqual(try await Self.dump(sqlite.store), try await Self.dump(postgres.store), "after resuming")
    }

    /// A destination row with the same id and other content stops the copy, naming kind and id.
    @Test(arguments: StoreBackend.all) func aConflictingRowIsNamedAndNothingOfItsPageIsWritten(_ destination: StoreBackend) async throws {
        let sqlite = try await TestStore.make(.sqlite)
        defer { sqlite.remove() }
        let target = try await TestStore.make(destination)
        defer { target.remove() }
        let seeded = try await Self.seed(sqlite.store)
        try await StoreMigration.copy(from: sqlite.store, to: target.store)
        // Revoked on the destination after the move, still valid on the source.
        #expect(try await target.store.revokeAPIKey(organizationID: seeded.orgA, id: seeded.owner.info.id))
        let error = await storeError { try await StoreMigration.copy(from: sqlite.store, to: target.store) }
        #expect(error?.message.contains("api keys \(seeded.owner.info.id)") == true, "\(String(describing: error))")
        #expect(error?.message.contains("remove that row from the destination") == true)
        if let url = Self.url(target.location) {
            // A stopped copy leaves no index of its own behind (and its sequences moved past the copied ids).
            let left = try TestPostgres.psql(
                "SELECT count(*) FROM pg_indexes WHERE indexname = 'ferry_transfer_readings_by_id'", database: TestPostgres.databaseName(of: url))
            #expect(left.trimmingCharacters(in: .whitespacesAndNewlines) == "0")
        }

        // A row whose unique name another row of the destination holds under another id.
        let restored = try await TestStore.make(destination)
        defer { restored.remove() }
        try await StoreMigration.copy(from: sqlite.store, to: restored.store)
        let mine = PipelineRecord(
            id: "pipe-dest", organizationID: seeded.orgA, name: "late", schedule: "0 * * * *", stages: [], enableBackfill: false,
            source: .standard, createdAt: Self.t0, scheduledThrough: Self.t0)
        try await restored.store.createPipeline(mine)
        var theirs = mine
        theirs.id = "pipe-source"
        try await sqlite.store.createPipeline(theirs)
        let clash = await storeError { try await StoreMigration.copy(from: sqlite.store, to: restored.store) }
        #expect(clash?.message.contains("pipelines pipe-source cannot be written") == true, "\(String(describing: clash))")
        #expect(try await restored.store.pipeline(id: "pipe-source") == nil)

        // A different token signing key: named, with what to do.
        let fresh = try await TestStore.make(destination)
        defer { fresh.remove() }
        _ = try await fresh.store.tokenSigningKey()
        let keyError = await storeError { try await StoreMigration.copy(from: sqlite.store, to: fresh.store) }
        #expect(keyError?.message.contains("token signing key") == true && keyError?.message.contains("token_signing_key") == true)
    }

    /// A store written by a newer ferry (a migration this one does not know) is refused either way round.
    @Test(arguments: StoreBackend.all) func aNewerSchemaIsRefused(_ newer: StoreBackend) async throws {
        let old = try await TestStore.make(newer == .sqlite ? .postgres : .sqlite)
        defer { old.remove() }
        let target = try await TestStore.make(newer)
        defer { target.remove() }
        switch target.location {
        case .directory(let path):
            let queue = try DatabaseQueue(path: path + "/store.sqlite")
            try await queue.write { try $0.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v99-future')") }
        case .database(let url):
            try TestPostgres.psql("INSERT INTO ferry_migrations (name) VALUES ('v99-future')", database: TestPostgres.databaseName(of: url))
        }
        for (from, to) in [(old.store, target.store), (target.store, old.store)] {
            let error = await storeError { try await StoreMigration.copy(from: from, to: to) }
            #expect(error?.message.contains("v99-future") == true || error?.message.contains("newer version") == true, "\(String(describing: error))")
        }
        #expect(try await Self.dump(old.store)[.organizations]?.isEmpty == true, "nothing was copied")
    }

    /// Pages of binary data stop at a byte budget, so big payloads never pile up in memory.
    @Test(arguments: StoreBackend.all) func bigPayloadsMakeShortPages(_ backend: StoreBackend) async throws {
        let source = try await TestStore.make(backend)
        defer { source.remove() }
        let target = try await TestStore.make(backend == .sqlite ? .postgres : .sqlite)
        defer { target.remove() }
        let org = try await source.store.createOrganization(name: "a")
        let big = TransferKind.binaryPageBytes * 5 / 8
        var payloads: [String: [UInt8]] = [:]
        for (n, size) in [big, big, 10].enumerated() {
            let bytes = [UInt8](repeating: UInt8(n + 1), count: size)
            let record = try await source.store.storeBinary(
                BinaryMetadata(organizationID: org.id, timeRequested: Self.t0, timeReceived: Self.t0, fileID: "f\(n)"), bytes: bytes)
            payloads[record.id] = bytes
        }
        var cursor: String?
        var pages: [[TransferRecord]] = []
        repeat {
            let page = try await source.store.exportRecords(.binaries, after: cursor, limit: TransferKind.binaries.batchSize)
            pages.append(page.records)
            cursor = page.next
        } while cursor != nil
        let sizes = pages.map { $0.reduce(0) { sum, r in if case .binary(_, let b) = r { sum + b.count } else { sum } } }
        #expect(pages.map(\.count).reduce(0, +) == 3 && pages.count >= 2, "\(pages.map(\.count))")
        #expect(zip(pages, sizes).allSatisfy { $0.count == 1 || $1 <= TransferKind.binaryPageBytes }, "\(sizes)")
        try await StoreMigration.copy(from: source.store, to: target.store)
        for (id, bytes) in payloads {
            #expect(try await target.store.binaryData(organizationID: org.id, id: id) == bytes)
        }
    }

    /// Every table of both schemas, and what the migration does with it. A new table fails this
    /// test until it is added here: copied by a kind (and `StoreTransfer` taught it), or left with a reason.
    static let tables: [String: String] = [
        "organizations": "organizations", "api_keys": "api keys", "database_users": "database users",
        "store_meta": "settings (token signing key, hot storage cutoff, MongoDB endpoint; not the scheduler lease or SQL reader password)",
        "pipelines": "pipelines", "readings": "readings", "hot_readings": "readings (their hot flag)",
        "ingest_ranges": "ingest ranges", "binary_data": "binary data", "pipeline_runs": "pipeline runs",
        "pipeline_invalidations": "invalidation log", "sink_documents": "sink documents", "datasets": "datasets",
        "dataset_members": "dataset members",
        "grdb_migrations": "left: the schema version, each store's own", "ferry_migrations": "left: the schema version, each store's own",
        "sqlite_sequence": "left: SQLite's AUTOINCREMENT counters, moved by the copied ids themselves",
        "ferry_sql_scopes": "left: TabularDataBySQL's per-connection scopes, transient",
        "retention_policies": "left: every host re-sends its methods' policies with each upload (ferry-retention-policy)",
        "data_indexes": "custom indexes (each built again on the destination)",
        "saved_queries": "saved queries",
        "chart_hours": "left: a cache of charts' extremes per hour, made again by the destination's charts",
        "chart_hours_built": "left: which hours chart_hours holds, made again with them",
        "hot_pending": "left: hot-storage copies still to make, made before readings are exported (their hot flag)",
    ]

    @Test(arguments: StoreBackend.all) func everyTableIsCopiedOrLeftForAReason(_ backend: StoreBackend) async throws {
        let store = try await TestStore.make(backend)
        defer { store.remove() }
        let names: [String]
        switch store.location {
        case .directory(let path):
            names = try await DatabaseQueue(path: path + "/store.sqlite").read { db in
                try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table'")
            }
        case .database(let url):
            names = try TestPostgres.psql(
                """
                SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
                """, database: TestPostgres.databaseName(of: url)
            ).split(separator: "\n").map(String.init)
        }
        #expect(names.count > 10)
        for name in names {
            #expect(Self.tables[name] != nil, "table \(name) of \(backend) is neither copied by store migrate nor left for a reason")
        }
    }

    static func url(_ location: StoreLocation) -> String? {
        if case .database(let url) = location { url } else { nil }
    }
}
