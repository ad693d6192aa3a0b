import FerryBSON
import FerryMongoWire
import FerryQuery
import FerryStore
import Foundation
import Testing

@testable import FerryMongoServer

/// The command handler `ferry serve --mongo-listen` runs, called directly over a real SQLite store.
@Suite struct MongoCommandTests {
    @Test func theHandshakeIsOpenButQueriesNeedAuthentication() async throws {
        let f = try await MongoFixture.make()
        defer { f.remove() }
        var session = MongoSession(connectionID: 5, clientAddress: "127.0.0.1:9")
        let hello = try await f.run(["hello": 1, "saslSupportedMechs": "admin.db-user-x"], database: "admin", session: &session)
        #expect(hello.isOK)
        #expect(hello["maxWireVersion"] == .int32(17))
        #expect(hello["saslSupportedMechs"] == ["SCRAM-SHA-256"])
        #expect(hello["connectionId"] == .int32(5))
        #expect(hello["topologyVersion"] == nil, "no streaming hello: drivers poll")
        let legacy = try await f.run(["isMaster": 1], database: "admin", session: &session)
        #expect(legacy["ismaster"] == .bool(true))
        for command: BSONDocument in [["buildInfo": 1], ["ping": 1], ["whatsmyuri": 1], ["connectionStatus": 1], ["getParameter": 1, "featureCompatibilityVersion": 1], ["endSessions": []]] {
            #expect(try await f.run(command, database: "admin", session: &session).isOK, "\(command)")
        }
        let find = try await f.run(["find": "readings"], session: &session)
        #expect(find.code == 13)
        #expect(find["codeName"] == "Unauthorized")
        #expect(try await f.run(["nonsense": 1], database: "admin", session: &session).code == 13, "unknown commands need authentication too")
    }

    /// SCRAM-SHA-256 through saslStart and saslContinue, as drivers do it.
    static func authenticate(
        _ f: MongoFixture, user: String, password: String, session: inout MongoSession, skipEmptyExchange: Bool = true
    ) async throws -> BSONDocument {
        var client = SCRAMClientConversation(username: user, password: password)
        let start = try await f.run(
            [
                "saslStart": 1, "mechanism": "SCRAM-SHA-256", "payload": .binary(BSONBinary(data: client.clientFirst)),
                "options": ["skipEmptyExchange": .bool(skipEmptyExchange)],
            ], database: "admin", session: &session)
        guard start.isOK, case .binary(let serverFirst)? = start["payload"] else { return start }
        let final = try client.clientFinal(serverFirst: serverFirst.data)
        var reply = try await f.run(
            ["saslContinue": 1, "conversationId": start["conversationId"]!, "payload": .binary(BSONBinary(data: final))],
            database: "admin", session: &session)
        guard reply.isOK, case .binary(let serverFinal)? = reply["payload"] else { return reply }
        try client.verify(serverFinal: serverFinal.data)
        if reply["done"] == .bool(false) {
            reply = try await f.run(
                ["saslContinue": 1, "conversationId": start["conversationId"]!, "payload": .binary(BSONBinary(data: []))],
                database: "admin", session: &session)
        }
        return reply
    }

    @Test func scramAuthenticatesTheOrganisationsUserAndEverythingElseFailsWithCode18() async throws {
        let f = try await MongoFixture.make()
        defer { f.remove() }
        for skip in [true, false] {
            var session = MongoSession(connectionID: 1, clientAddress: "c")
            let reply = try await Self.authenticate(f, user: "db-user-\(f.orgA)", password: MongoFixture.password, session: &session, skipEmptyExchange: skip)
            #expect(reply.isOK && reply["done"] == .bool(true), "\(reply)")
            #expect(session.user == MongoSession.User(organizationID: f.orgA, userName: "db-user-\(f.orgA)", mayInsert: false))
            let status = try await f.run(["connectionStatus": 1], database: "admin", session: &session)
            #expect(status["authInfo"]?.documentValue?["authenticatedUsers"] == [["user": .string("db-user-\(f.orgA)"), "db": "admin"]])
        }
        for (user, password) in [("db-user-\(f.orgA)", "Wrong!pass1"), ("db-user-nobody", MongoFixture.password), ("admin", MongoFixture.password)] {
            var session = MongoSession(connectionID: 1, clientAddress: "c")
            let reply = try await Self.authenticate(f, user: user, password: password, session: &session)
            #expect(reply.code == 18, "\(user): \(reply)")
            #expect(reply["errmsg"] == "Authentication failed.")
            #expect(session.user == nil)
        }
        var session = MongoSession(connectionID: 1, clientAddress: "c")
        let sha1 = try await f.run(["saslStart": 1, "mechanism": "SCRAM-SHA-1", "payload": .binary(BSONBinary(data: []))], database: "admin", session: &session)
        #expect(sha1.code == 334)
    }

    @Test func speculativeAuthenticationRidesOnHello() async throws {
        let f = try await MongoFixture.make()
        defer { f.remove() }
        var session = MongoSession(connectionID: 1, clientAddress: "c")
        var client = SCRAMClientConversation(username: "db-user-\(f.orgB)", password: MongoFixture.password)
        let hello = try await f.run(
            [
                "hello": 1,
                "speculativeAuthenticate": [
                    "saslStart": 1, "mechanism": "SCRAM-SHA-256", "payload": .binary(BSONBinary(data: client.clientFirst)), "db": "admin",
                    "options": ["skipEmptyExchange": true],
                ],
            ], database: "admin", session: &session)
        guard let speculative = hello["speculativeAuthenticate"]?.documentValue, case .binary(let serverFirst)? = speculative["payload"] else {
            Issue.record("no speculativeAuthenticate in \(hello)")
            return
        }
        let final = try client.clientFinal(serverFirst: serverFirst.data)
        let reply = try await f.run(
            ["saslContinue": 1, "conversationId": speculative["conversationId"]!, "payload": .binary(BSONBinary(data: final))],
            database: "admin", session: &session)
        #expect(reply["done"] == .bool(true))
        #expect(session.user?.organizationID == f.orgB)
    }

    @Test func findBatchesAndGetMoresUntilExhaustedAcrossConnections() async throws {
        let f = try await MongoFixture.make()
        defer { f.remove() }
        try await f.insert(0..<250, org: f.orgA)
        try await f.insert(0..<7, org: f.orgB)
        var first = f.session(f.orgA)
        let found = try await f.run(["find": "readings", "sort": ["time_received": -1], "batchSize": 100], session: &first)
        #expect(found.isOK)
        #expect(found.batch("firstBatch").map(\.readingIndex) == (150..<250).reversed().map(Optional.init))
        #expect(found.cursor?["ns"] == "sensorData.readings")
        let id = try #require(found.cursorID)
        #expect(id != 0)
        // Another connection of the same organisation continues the cursor (a driver's pool).
        var second = f.session(f.orgA)
        let more = try await f.run(["getMore": .int64(id), "collection": "readings", "batchSize": 100], session: &second)
        #expect(more.batch("nextBatch").map(\.readingIndex) == (50..<150).reversed().map(Optional.init))
        #expect(more.cursorID == id)
        // Another organisation cannot see it.
        var other = f.session(f.orgB)
        #expect(try await f.run(["getMore": .int64(id), "collection": "readings"], session: &other).code == 43)
        let last = try await f.run(["getMore": .int64(id), "collection": "readings", "batchSize": 100], session: &first)
        #expect(last.batch("nextBatch").count == 50)
        #expect(last.cursorID == 0, "the batch that ends the results closes the cursor")
        #expect(try await f.run(["getMore": .int64(id), "collection": "readings"], session: &first).code == 43)
        #expect(await f.commands.cursors.count == 0)
    }

    @Test func findAppliesFilterProjectionSkipLimitAndNamesTheBadOption() async throws {
        let f = try await MongoFixture.make()
        defer { f.remove() }
        try await f.insert(0..<30, org: f.orgA)
        var s = f.session(f.orgA)
        let reply = try await f.run(
            [
                "find": "readings", "filter": ["component_name": "sensor-1", "data.readings.temperature": ["$gte": 25.0]],
                "projection": ["_id": 0, "i": "$data.readings.i"], "sort": ["time_received": 1], "skip": 1, "limit": 3,
            ], session: &s)
        // sensor-1 is i ≡ 1 (mod 3); temperature 20 + i % 10 ≥ 25 keeps i % 10 ≥ 5: 7, 16, 19, 25, 28.
        #expect(reply.batch("firstBatch") == [["i": 16], ["i": 19], ["i": 25]])
        #expect(reply.cursorID == 0)
        let bad = try await f.run(["find": "readings", "projection": ["x": ["$nope": 1]]], session: &s)
        #expect(bad.code == 2)
        let message = bad["errmsg"]?.stringValue ?? ""
        #expect(message.hasPrefix("find projection:"), "\(bad)")
        let single = try await f.run(["find": "readings", "limit": -2], session: &s)
        #expect(single.batch("firstBatch").count == 2 && single.cursorID == 0)
    }

    @Test func idleCursorsExpireOnTheInjectedClockAndKillCursorsKills() async throws {
        let f = try await MongoFixture.make()
        defer { f.remove() }
        try await f.insert(0..<30, org: f.orgA)
        var s = f.session(f.orgA)
        let a = try #require(try await f.run(["find": "readings", "batchSize": 5], session: &s).cursorID)
        let b = try #require(try await f.run(["find": "readings", "batchSize": 5], session: &s).cursorID)
        f.clock.advance(.seconds(400))
        #expect(try await f.run(["getMore": .int64(a), "collection": "readings", "batchSize": 5], session: &s).isOK, "use resets idleness")
        f.clock.advance(.seconds(400))
        #expect(await f.commands.cursors.expireIdle() == 1, "only b was idle for more than 600 s")
        #expect(try await f.run(["getMore": .int64(b), "collection": "readings"], session: &s).code == 43)
        var other = f.session(f.orgB)
        let foreign = try await f.run(["killCursors": "readings", "cursors": [.int64(a)]], session: &other)
        #expect(foreign["cursorsNotFound"] == [.int64(a)], "another organisation's cursor is not found")
        let killed = try await f.run(["killCursors": "readings", "cursors": [.int64(a), .int64(12345)]], session: &s)
        #expect(killed["cursorsKilled"] == [.int64(a)] && killed["cursorsNotFound"] == [.int64(12345)])
        #expect(try await f.run(["getMore": .int64(a), "collection": "readings"], session: &s).code == 43)
    }

    @Test func aggregateCountDistinctAndOrganisationIsolation() async throws {
        let f = try await MongoFixture.make()
        defer { f.remove() }
        try await f.insert(0..<30, org: f.orgA)
        try await f.insert(0..<4, org: f.orgB)
        var a = f.session(f.orgA)
        var b = f.session(f.orgB)
        let grouped = try await f.run(
            [
                "aggregate": "readings", "cursor": [:],
                "pipeline": [["$match": ["component_name": "sensor-0"]], ["$group": ["_id": "$location_id", "n": ["$sum": 1]]], ["$sort": ["_id": 1]]],
            ], session: &a)
        #expect(grouped.batch("firstBatch") == [["_id": "loc-0", "n": 5], ["_id": "loc-1", "n": 5]])
        #expect(try await f.run(["count": "readings"], session: &a)["n"] == .int32(30))
        #expect(try await f.run(["count": "readings"], session: &b)["n"] == .int32(4))
        #expect(try await f.run(["count": "readings", "query": ["tags": "even"], "limit": 10], session: &a)["n"] == .int32(10))
        #expect(try await f.run(["count": "nothing-here"], session: &a)["n"] == .int32(0))
        #expect(try await f.run(["distinct": "readings", "key": "component_name"], session: &a)["values"] == ["sensor-0", "sensor-1", "sensor-2"])
        #expect(try await f.run(["distinct": "readings", "key": "tags"], session: &b)["values"] == ["even"], "array elements count one by one")
        let bad = try await f.run(["aggregate": "readings", "cursor": [:], "pipeline": [["$group": ["_id": nil, "x": ["$avgg": "$a"]]]]], session: &a)
        #expect(bad.code == 2)
        #expect(bad["errmsg"]?.stringValue?.contains("stage 0 ($group)") == true && bad["errmsg"]?.stringValue?.contains("$avgg") == true, "\(bad)")
        #expect(try await f.run(["aggregate": "readings", "pipeline": []], session: &a).code == 9, "the cursor option is required")
        #expect(try await f.run(["aggregate": "readings", "cursor": [:], "pipeline": [["$out": "x"]]], session: &a).code == 13)
    }

    @Test func collectionsAreTheOrganisationsReadingsHotStorageAndSinks() async throws {
        let f = try await MongoFixture.make()
        defer { f.remove() }
        let pipeline = PipelineRecord(
            id: "p-acme", organizationID: f.orgA, name: "counts", schedule: "0 * * * *", stages: [["$count": "n"]], enableBackfill: false,
            source: .standard, createdAt: 0, scheduledThrough: 0)
        try await f.store.createPipeline(pipeline)
        try await f.store.replaceWindow(
            organizationID: f.orgA, pipelineID: "p-acme", runID: "r1", window: SinkWindow(start: 0, end: 3_600_000), documents: [["n": 3], ["n": 4]])
        var a = f.session(f.orgA)
        var b = f.session(f.orgB)
        let names = try await f.run(["listCollections": 1, "nameOnly": true], session: &a).batch("firstBatch").compactMap { $0["name"]?.stringValue }
        #expect(names == ["readings", "hot_readings", "sink-p-acme"])
        let filtered = try await f.run(["listCollections": 1, "filter": ["name": ["$regex": "^sink-"]]], session: &a).batch("firstBatch")
        #expect(filtered.map { $0["name"] } == ["sink-p-acme"])
        #expect(try await f.run(["find": "sink-p-acme"], session: &a).batch("firstBatch").map { $0["n"] } == [3, 4])
        #expect(try await f.run(["find": "sink-p-acme"], session: &b).batch("firstBatch").isEmpty, "another organisation's sink does not exist for B")
        #expect(try await f.run(["listCollections": 1], session: &b).batch("firstBatch").count == 2)
        let databases = try await f.run(["listDatabases": 1], database: "admin", session: &a)
        #expect(databases["databases"] == [["name": "sensorData", "sizeOnDisk": .int64(0), "empty": false]])
        #expect(try await f.run(["listDatabases": 1], session: &a).code == 13)
        #expect(try await f.run(["listIndexes": "readings"], session: &a).isOK)
        #expect(try await f.run(["listIndexes": "sink-p-acme"], session: &b).code == 26)
    }

    @Test func theSQLStageRunsOnTheOrganisationsReadingsThenTheEngine() async throws {
        let f = try await MongoFixture.make()
        defer { f.remove() }
        try await f.insert(0..<12, org: f.orgA)
        try await f.insert(0..<3, org: f.orgB)
        var a = f.session(f.orgA)
        let reply = try await f.run(
            [
                "aggregate": 1, "cursor": [:],
                "pipeline": [
                    ["$sql": ["statement": "SELECT component_name, count(*) AS n FROM readings GROUP BY component_name", "format": "jdbc"]],
                    ["$sort": ["component_name": -1]],
                ],
            ], session: &a)
        // SQL integers are 64-bit, as TabularDataBySQL returns them.
        #expect(
            reply.batch("firstBatch") == [
                ["component_name": "sensor-2", "n": .int64(4)], ["component_name": "sensor-1", "n": .int64(4)],
                ["component_name": "sensor-0", "n": .int64(4)],
            ], "\(reply)")
        #expect(reply.cursor?["ns"] == "sensorData.$cmd.aggregate")
        let refused = try await f.run(
            ["aggregate": 1, "cursor": [:], "pipeline": [["$sql": ["statement": "DELETE FROM readings"]]]], session: &a)
        #expect(refused.code == 13, "the SQL sandbox refuses writes: \(refused)")
        #expect(try await f.run(["aggregate": "readings", "cursor": [:], "pipeline": [["$sql": ["statement": "SELECT 1"]]]], session: &a).code == 2)
    }

    @Test func writesAreRefusedUnlessTheUserMayInsertIntoReadings() async throws {
        let f = try await MongoFixture.make()
        defer { f.remove() }
        let document: BSONDocument = [
            "_id": .objectID(BSONObjectID(bytes: Array(repeating: 1, count: 12))), "time_requested": .datetime(MongoFixture.t0),
            "time_received": .datetime(MongoFixture.t0 + 5), "component_name": "thermo", "component_type": "rdk:component:sensor",
            "method_name": "Readings", "data": ["readings": ["t": 21.5]],
        ]
        var reader = f.session(f.orgA)
        for command: BSONDocument in [
            ["insert": "readings", "documents": [.document(document)]], ["update": "readings", "updates": []],
            ["delete": "readings", "deletes": []], ["drop": "readings"], ["createIndexes": "readings", "indexes": []],
        ] {
            let reply = try await f.run(command, session: &reader)
            #expect(reply.code == 13, "\(command): \(reply)")
        }
        var writer = f.session(f.orgA, mayInsert: true)
        #expect(try await f.run(["insert": "other", "documents": [.document(document)]], session: &writer).code == 13)
        #expect(try await f.run(["update": "readings", "updates": []], session: &writer).code == 13)
        var bad = document
        bad["data"] = "not an object"
        let reply = try await f.run(["insert": "readings", "ordered": false, "documents": [.document(document), .document(bad)]], session: &writer)
        #expect(reply["n"] == .int32(1))
        #expect(reply["writeErrors"]?.arrayValue?.count == 1)
        let stored = try await f.store.readings(organizationID: f.orgA, source: .standard, filter: .all, sortByTimeDescending: false, limit: nil)
        #expect(stored.count == 1)
        #expect(stored.first?["component_name"] == "thermo")
        #expect(stored.first?["organization_id"] == .string(f.orgA))
        #expect(stored.first?["time_received"] == .datetime(MongoFixture.t0 + 5))
        #expect(try await f.store.readings(organizationID: f.orgB, source: .standard, filter: .all, sortByTimeDescending: false, limit: nil).isEmpty)
        var foreign = document
        foreign["organization_id"] = .string(f.orgB)
        let refused = try await f.run(["insert": "readings", "documents": [.document(foreign)]], session: &writer)
        #expect(refused["writeErrors"]?.arrayValue?.first?.documentValue?["code"] == .int32(13))
    }

    @Test func batchesStopBefore16MiBAndKeepTheRestForTheNextBatch() async throws {
        let big = String(repeating: "x", count: 3 * 1024 * 1024)
        let documents = (0..<12).map { i -> BSONDocument in ["i": .int32(Int32(i)), "payload": .string(big)] }
        let stream = QueryResultStream(documents: documents, then: [])
        var pending: [[UInt8]] = []
        let first = try await CursorBatch.next(from: stream, pending: &pending, count: nil)
        #expect(first.documents.count == 5, "five 3 MiB results fit in 16 MiB, six do not")
        #expect(!first.exhausted)
        let second = try await CursorBatch.next(from: stream, pending: &pending, count: 2)
        #expect(second.documents.count == 2)
        let rest = try await CursorBatch.next(from: stream, pending: &pending, count: nil)
        #expect(rest.documents.count == 5 && rest.exhausted)
        let indexes = try (first.documents + second.documents + rest.documents).map { try BSONDocument(bytes: $0)["i"] }
        #expect(indexes == (0..<12).map { .int32(Int32($0)) })
    }
}
