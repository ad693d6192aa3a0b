import FerryBSON
import FerryMQL
import FerryMongoWire
import FerryStore
import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// `ferry serve --mongo-listen`: MongoDB's wire protocol over TLS (the server's certificate), for
/// mongosh, pymongo, Compass and BI tools. Database users (one per organisation) authenticate
/// with SCRAM-SHA-256 and read their organisation's readings, hot storage and pipeline sinks;
/// queries run in Ferry's MQL engine through the same pushdown as TabularDataByMQL.
public struct MongoServer: Sendable {
    public struct Options: Sendable {
        public var host = "127.0.0.1"
        public var port = 27017
        /// nil: plain TCP (for `ferry serve --insecure`). Otherwise the certificate chain and key PEM files.
        public var tls: (certificate: String, key: String)?
        /// A cursor idle this long is closed (mongod's default cursorTimeoutMillis: 10 minutes).
        public var cursorIdleTimeout: Duration = .seconds(600)
        public var maximumConnections = 1_000

        public init() {}
    }

    let store: any DataStore
    let options: Options
    let logger: Logger
    let commands: MongoCommands

    public init(store: any DataStore, operators: MQLOperatorRegistry, options: Options, logger: Logger = Logger(label: "ferry.mongo")) {
        self.store = store
        self.options = options
        self.logger = logger
        let start = ContinuousClock.now
        var generator = SystemRandomNumberGenerator()
        self.commands = MongoCommands(
            store: store, operators: operators,
            cursors: CursorRegistry(idleTimeout: options.cursorIdleTimeout, now: { ContinuousClock.now - start }),
            logger: logger, decoySecret: (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }

    /// The address a client dials for a server listening on `host`: the machine's name for every
    /// interface (the self-signed certificate names it), else the address itself.
    public static func advertisedAddress(host: String, port: Int) -> String {
        "\(host == "0.0.0.0" ? ProcessInfo.processInfo.hostName : host):\(port)"
    }

    /// Serves until the task is cancelled. Records the endpoint in the store (for
    /// GetDatabaseConnection and `ferry data database hostname`) and logs the bound port.
    public func run(onListening: @escaping @Sendable (Int) -> Void = { _ in }) async throws {
        let tlsContext = try options.tls.map { try Self.tlsContext(certificate: $0.certificate, key: $0.key) }
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 256)
            .bind(host: options.host, port: options.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tlsContext { try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tlsContext)) }
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(MongoFrameDecoder()))
                    return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        let port = server.channel.localAddress?.port ?? options.port
        let address = Self.advertisedAddress(host: options.host, port: port)
        do {
            try await store.recordDatabaseEndpoint(DatabaseEndpoint(address: address, tls: options.tls != nil))
        } catch {
            logger.warning("could not record the MongoDB endpoint \(address) in the store (GetDatabaseConnection will not know it): \(error)")
        }
        logger.info("serving MongoDB's wire protocol on \(options.host):\(port) (\(options.tls == nil ? "no TLS" : "TLS"))")
        onListening(port)
        let connections = ConnectionCounter()
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { [commands] in
                // Idle cursors are closed as they time out, checked a few times per timeout.
                let interval = min(commands.cursors.idleTimeout / 4, .seconds(30))
                while !Task.isCancelled {
                    try await Task.sleep(for: interval)
                    let closed = await commands.cursors.expireIdle()
                    if closed > 0 { logger.info("closed \(closed) idle MongoDB cursors") }
                }
            }
            try await server.executeThenClose { inbound in
                for try await connection in inbound {
                    guard let id = connections.open(limit: options.maximumConnections) else {
                        logger.warning("refusing a MongoDB connection: \(options.maximumConnections) are open")
                        try? await connection.channel.close()
                        continue
                    }
                    group.addTask { [commands, logger] in
                        defer { connections.close() }
                        await MongoConnection(channel: connection, id: id, commands: commands, logger: logger).run()
                    }
                }
            }
            await commands.cursors.closeAll()
        }
    }

    static func tlsContext(certificate: String, key: String) throws -> NIOSSLContext {
        let chain = try NIOSSLCertificate.fromPEMFile(certificate).map { NIOSSLCertificateSource.certificate($0) }
        let privateKey = try NIOSSLPrivateKey(file: key, format: .pem)
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(privateKey))
        configuration.minimumTLSVersion = .tlsv12
        // On stop, idle keep-alive connections are closed; NIOSSL's default waits 5 s for each client's close_notify.
        configuration.shutdownTimeout = .milliseconds(250)
        return try NIOSSLContext(configuration: configuration)
    }
}

/// Open connections (bounded) and the ids `hello` reports as `connectionId`.
final class ConnectionCounter: Sendable {
    private let open = Atomic<Int>(0)
    private let lastID = Atomic<Int32>(0)

    /// A new connection's id, or nil when `limit` are open already.
    func open(limit: Int) -> Int32? {
        guard open.add(1, ordering: .relaxed).newValue <= limit else {
            open.subtract(1, ordering: .relaxed)
            return nil
        }
        return lastID.wrappingAdd(1, ordering: .relaxed).newValue
    }

    func close() { open.subtract(1, ordering: .relaxed) }
}

/// One client connection: requests answered one at a time, in order. A malformed message (bad
/// length, invalid BSON, wrong checksum, an opcode Ferry does not speak) closes the connection.
struct MongoConnection {
    let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
    let id: Int32
    let commands: MongoCommands
    let logger: Logger

    func run() async {
        let peer = channel.channel.remoteAddress.map { "\($0.ipAddress ?? "?"):\($0.port ?? 0)" } ?? "unknown"
        var session = MongoSession(connectionID: id, clientAddress: peer)
        var requestID: Int32 = 0
        do {
            try await channel.executeThenClose { inbound, outbound in
                for try await buffer in inbound {
                    let frame: MongoFrame
                    do {
                        frame = try MongoFrame.parse(Array(buffer: buffer))
                    } catch {
                        logger.warning("closing MongoDB connection from \(peer): \(error)")
                        return
                    }
                    requestID &+= 1
                    guard let reply = try await answer(frame, session: &session, requestID: requestID) else { continue }
                    try await outbound.write(ByteBuffer(bytes: reply))
                }
            }
        } catch {
            // A TLS failure, a reset or an oversized frame: the connection is gone either way.
            logger.debug("MongoDB connection from \(peer) ended: \(error)")
        }
    }

    /// The reply's bytes, or nil when the client asked for none (OP_MSG moreToCome).
    private func answer(_ frame: MongoFrame, session: inout MongoSession, requestID: Int32) async throws -> [UInt8]? {
        switch frame.message {
        case .msg(let message):
            let command = message.command
            guard case .string(let database)? = command["$db"] else {
                let error = MongoCommandError.failedToParse("OP_MSG commands need a $db field naming the database")
                return try MongoFrame.encode(.msg(OpMsg(body: error.reply)), requestID: requestID, responseTo: frame.header.requestID)
            }
            let reply = await commands.handle(command, database: database, session: &session)
            if message.flags.contains(.moreToCome) { return nil }
            switch reply {
            case .raw(let body):
                return MongoFrame.encodeMsg(rawBody: body, requestID: requestID, responseTo: frame.header.requestID)
            case .document(let body):
                return try encodeMsg(body, requestID: requestID, responseTo: frame.header.requestID)
            }
        case .query(let query):
            guard let database = query.commandDatabase else {
                let failure: BSONDocument = ["$err": "OP_QUERY is only supported for commands on <db>.$cmd; use OP_MSG", "code": .int32(352)]
                return try MongoFrame.encode(
                    .reply(OpReply(responseFlags: OpReply.queryFailure, documents: [failure])), requestID: requestID,
                    responseTo: frame.header.requestID)
            }
            if let name = query.command.keys.first, ["isMaster", "ismaster", "hello"].contains(name) {
                logger.debug("MongoDB handshake over OP_QUERY (\(name)) from \(session.clientAddress)")
            }
            var body: BSONDocument
            switch await commands.handle(query.command, database: database, session: &session) {
            case .document(let document): body = document
            case .raw(let bytes): body = (try? BSONDocument(bytes: bytes)) ?? MongoCommandError.internalError("unreadable reply").reply
            }
            return try MongoFrame.encode(.reply(OpReply(documents: [body])), requestID: requestID, responseTo: frame.header.requestID)
        case .reply:
            throw MongoWireError("a client sent OP_REPLY, which only servers send", at: 12)
        }
    }

    /// An OP_MSG reply; a reply that cannot be BSON (a NUL in a key) becomes an error reply.
    private func encodeMsg(_ body: BSONDocument, requestID: Int32, responseTo: Int32) throws -> [UInt8] {
        do {
            return try MongoFrame.encode(.msg(OpMsg(body: body)), requestID: requestID, responseTo: responseTo)
        } catch {
            let failure = MongoCommandError.badValue("the reply cannot be sent as BSON: \(error)")
            return try MongoFrame.encode(.msg(OpMsg(body: failure.reply)), requestID: requestID, responseTo: responseTo)
        }
    }
}
