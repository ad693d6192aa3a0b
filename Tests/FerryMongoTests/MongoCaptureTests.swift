import FerryAPI
import FerryBSON
import FerryCapture
import FerryConfig
import FerryLoader
import FerryMQL
import FerryStore
import FerryTestSupport
import Foundation
import Logging
import NIOCore
import NIOPosix
import StoreTestSupport
import Synchronization
import Testing

@testable import FerryMongoClient
@testable import FerryMongoServer
@testable import FerryMongoWire

/// The host's MongoDB capture client against Ferry's own endpoint, both real, over TLS on loopback.
@Suite struct MongoCaptureTests {
    static var logger: Logger {
        var logger = Logger(label: "test.mongo.capture")
        logger.logLevel = .critical
        return logger
    }

    /// A real MongoServer (TLS, self-signed) over a fresh store with one organisation whose
    /// database user may or may not insert; `body` gets the URI to dial.
    static func withServer(mayInsert: Bool, _ body: (_ uri: MongoURI, _ store: any DataStore, _ org: String) async throws -> Void)
        async throws
    {
        let testStore = try await TestStore.make(.sqlite)
        defer { testStore.remove() }
        let directory = try TemporaryDirectory("ferry-mongo-tls")
        defer { directory.remove() }
        let tls = try DataServer.selfSignedCertificate(in: directory.path, listenHost: "127.0.0.1", logger: logger)
        let org = try await testStore.store.createOrganization(name: "Acme").id
        _ = try await testStore.store.configureDatabaseUser(
            organizationID: org, credential: try DatabaseUsers.credential(password: "S3cret!pass"), mayInsert: mayInsert)
        var options = MongoServer.Options()
        options.port = 0
        options.tls = tls
        let server = MongoServer(store: testStore.store, operators: .builtin, options: options, logger: logger)
        let port = Mutex<Int?>(nil)
        let task = Task { try await server.run { bound in port.withLock { $0 = bound } } }
        defer { task.cancel() }
        #expect(await eventuallyAsync(timeout: 60) { port.withLock { $0 } != nil })
        let bound = try #require(port.withLock { $0 })
        let uri = try MongoURI("mongodb://db-user-\(org):S3cret%21pass@127.0.0.1:\(bound)/?tls=true&tlsCAFile=\(tls.certificate)&authSource=admin")
        try await body(uri, testStore.store, org)
    }

    static func reading(_ i: Int) -> BSONDocument {
        [
            "_id": .objectID(ObjectIDs.next()), "time_requested": .datetime(1_700_000_000_000 + Int64(i)),
            "time_received": .datetime(1_700_000_000_001 + Int64(i)), "component_name": "thermo", "component_type": "rdk:component:sensor",
            "method_name": "Readings", "data": ["readings": ["i": .int32(Int32(i))]],
        ]
    }

    @Test func readingsReachFerrysEndpointOverTLSWithSCRAM() async throws {
        try await Self.withServer(mayInsert: true) { uri, store, org in
            let writer = MongoCaptureWriter(config: MongoCaptureConfig(uri: uri), logger: Self.logger)
            writer.start()
            defer { writer.stop() }
            for i in 0..<300 { writer.enqueue(Self.reading(i)) }
            #expect(await eventuallyAsync(timeout: 300) { writer.stats.inserted == 300 }, "\(writer.stats)")
            #expect(writer.stats.dropped == 0 && writer.stats.connected)
            let stored = try await store.readings(organizationID: org, source: .standard, filter: .all, sortByTimeDescending: false, limit: nil)
            #expect(stored.count == 300)
            #expect(stored.first?["component_name"] == "thermo" && stored.first?["method_name"] == "Readings")
        }
    }

    @Test func aUserThatMayNotInsertGetsItsReadingsDroppedAndCounted() async throws {
        try await Self.withServer(mayInsert: false) { uri, store, org in
            let writer = MongoCaptureWriter(config: MongoCaptureConfig(uri: uri), logger: Self.logger)
            writer.start()
            defer { writer.stop() }
            for i in 0..<20 { writer.enqueue(Self.reading(i)) }
            #expect(await eventuallyAsync(timeout: 300) { writer.stats.dropped == 20 }, "\(writer.stats)")
            #expect(writer.stats.inserted == 0)
            #expect(writer.stats.lastError?.contains("Unauthorized") == true, "\(writer.stats)")
            let stored = try await store.readings(organizationID: org, source: .standard, filter: .all, sortByTimeDescending: false, limit: nil)
            #expect(stored.isEmpty)
        }
    }

    @Test func aWrongPasswordIsReportedAndNothingIsInserted() async throws {
        try await Self.withServer(mayInsert: true) { uri, _, _ in
            var wrong = uri
            wrong.password = "Wrong!pass1"
            let writer = MongoCaptureWriter(config: MongoCaptureConfig(uri: wrong), logger: Self.logger)
            writer.start()
            defer { writer.stop() }
            writer.enqueue(Self.reading(0))
            #expect(await eventuallyAsync(timeout: 300) { writer.stats.lastError?.contains("AuthenticationFailed") == true }, "\(writer.stats)")
            #expect(writer.stats.inserted == 0 && !writer.stats.connected)
        }
    }

    /// A server that accepts connections and never answers: the writer waits in its handshake,
    /// and capture's enqueue still returns at once, dropping the oldest past the queue's capacity.
    @Test func aMongoDBThatNeverAnswersNeverBlocksCapture() async throws {
        let blackHole = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { _ in MultiThreadedEventLoopGroup.singleton.any().makeSucceededVoidFuture() }
            .bind(host: "127.0.0.1", port: 0).get()
        defer { blackHole.close(promise: nil) }
        let uri = try MongoURI("mongodb://u:p@127.0.0.1:\(blackHole.localAddress!.port!)/")
        let writer = MongoCaptureWriter(config: MongoCaptureConfig(uri: uri), capacity: 100, logger: Self.logger)
        writer.start()
        defer { writer.stop() }
        for i in 0..<1_000 { writer.enqueue(Self.reading(i)) }
        #expect(writer.stats.queued == 100)
        #expect(writer.stats.dropped == 900)
        #expect(writer.stats.inserted == 0)
    }

    @Test func failuresAreLoggedAtMostOncePerIntervalWithACountOfTheRest() {
        var log = RateLimitedLog(interval: .seconds(30))
        #expect(log.admit(now: .seconds(0)) == 0)
        #expect(log.admit(now: .seconds(10)) == nil)
        #expect(log.admit(now: .seconds(29)) == nil)
        #expect(log.admit(now: .seconds(30)) == 2, "the next warning says two were held back")
        #expect(log.admit(now: .seconds(31)) == nil)
        #expect(log.admit(now: .seconds(100)) == 1)
    }

    @Test func theSinkWritesTheFileFirstThenMirrorsTabularReadingsInViamsShape() throws {
        final class Recorder: ReadingSink, Sendable {
            let writes = Mutex(0)
            func write(_ value: CapturedValue, timeRequested: Date, timeReceived: Date) { writes.withLock { $0 += 1 } }
            func close() {}
        }
        let mirror = MongoCaptureMirror(logger: Self.logger)
        let inner = Recorder()
        let sink = MongoCaptureSink(inner: inner, mirror: mirror, api: "rdk:component:sensor", component: "thermo", method: "Readings")
        sink.write(.tabular(["readings": ["t": 1.5]]), timeRequested: Date(timeIntervalSince1970: 10), timeReceived: Date(timeIntervalSince1970: 11))
        #expect(inner.writes.withLock { $0 } == 1 && mirror.stats == nil, "without a config nothing is mirrored")
        // A config whose server never answers: the reading waits in the queue.
        mirror.configure(MongoCaptureConfig(uri: try MongoURI("mongodb://127.0.0.1:1/?connectTimeoutMS=100000")))
        defer { mirror.configure(nil) }
        sink.write(.tabular(["readings": ["t": 2.5]]), timeRequested: Date(timeIntervalSince1970: 10), timeReceived: Date(timeIntervalSince1970: 11))
        sink.write(.binary([CapturedBinary(bytes: [1, 2, 3], mimeType: "image/png")]), timeRequested: Date(), timeReceived: Date())
        #expect(inner.writes.withLock { $0 } == 3)
        let stats = try #require(mirror.stats)
        #expect(stats.queued + stats.dropped == 1, "one tabular reading mirrored, the binary one not")
    }
}
