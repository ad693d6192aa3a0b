import FerryBSON
import FerryConfig
import FerryMongoWire
import Foundation
import NIOCore
import NIOPosix
import NIOSSL

/// Why talking to the MongoDB server failed.
package struct MongoClientError: Error, CustomStringConvertible, Sendable {
    package var message: String
    package init(_ message: String) { self.message = message }
    package var description: String { message }
}

/// One connection to a MongoDB server (a real mongod or Ferry's endpoint): TLS as the URI says,
/// the `hello` handshake, SCRAM-SHA-256, then commands one at a time over OP_MSG.
struct MongoClientConnection {
    let uri: MongoURI

    /// Connects to the first reachable host, authenticates, and runs `body` with a function that
    /// sends one command and returns its reply; closes the connection when `body` returns.
    func run<T: Sendable>(
        _ body: (_ send: (_ command: BSONDocument, _ sequences: [OpMsg.DocumentSequence]) async throws -> BSONDocument) async throws -> T
    ) async throws -> T {
        let tls = try uri.tls ? Self.tlsContext(uri) : nil
        var lastError: any Error = MongoClientError("the URI names no host")
        for host in uri.hosts {
            let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
            do {
                channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                    .connectTimeout(.milliseconds(Int64(uri.connectTimeoutMS)))
                    .connect(host: host.host, port: host.port) { channel in
                        channel.eventLoop.makeCompletedFuture {
                            if let tls {
                                let name = Self.isIPAddress(host.host) ? nil : host.host
                                try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: tls, serverHostname: name))
                            }
                            try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(MongoFrameDecoder()))
                            return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                        }
                    }
            } catch {
                lastError = MongoClientError("cannot connect to \(host.host):\(host.port): \(error)")
                continue
            }
            let connection = channel.channel
            return try await channel.executeThenClose { inbound, outbound in
                var frames = inbound.makeAsyncIterator()
                var requestID: Int32 = 0
                let timeout = TimeAmount.milliseconds(Int64(max(uri.connectTimeoutMS, 30_000)))
                func send(_ command: BSONDocument, _ sequences: [OpMsg.DocumentSequence]) async throws -> BSONDocument {
                    requestID &+= 1
                    let bytes = try MongoFrame.encode(.msg(OpMsg(body: command, sequences: sequences)), requestID: requestID, responseTo: 0)
                    // A server that accepts but never answers must not hold the writer forever:
                    // past the deadline the connection is closed, which ends the wait below.
                    let deadline = connection.eventLoop.scheduleTask(in: timeout) { connection.close(promise: nil) }
                    defer { deadline.cancel() }
                    try await outbound.write(ByteBuffer(bytes: bytes))
                    guard let buffer = try await frames.next() else {
                        throw MongoClientError("\(host.host):\(host.port) closed the connection (or gave no answer within \(timeout))")
                    }
                    let frame = try MongoFrame.parse(Array(buffer: buffer))
                    guard frame.header.responseTo == requestID, case .msg(let reply) = frame.message else {
                        throw MongoClientError("\(host.host):\(host.port) answered out of turn")
                    }
                    if let error = MongoCommandError(reply: reply.body) { throw error }
                    return reply.body
                }
                try await authenticate(send)
                return try await body(send)
            }
        }
        throw lastError
    }

    /// hello, then SCRAM-SHA-256 when the URI has a user (verifying the server's signature too).
    private func authenticate(_ send: (BSONDocument, [OpMsg.DocumentSequence]) async throws -> BSONDocument) async throws {
        let hello = try await send(
            ["hello": 1, "client": ["driver": ["name": "ferry", "version": "1"], "os": ["type": "Linux"]], "$db": "admin"], [])
        guard let maxWire = hello["maxWireVersion"].flatMap({ $0.int64Value }), maxWire >= 6 else {
            throw MongoClientError("the server does not speak OP_MSG (maxWireVersion below 6)")
        }
        guard let username = uri.username else { return }
        var scram = SCRAMClientConversation(username: username, password: uri.password ?? "")
        let database = BSON.string(uri.authSource)
        let first = try await send(
            [
                "saslStart": 1, "mechanism": .string(SCRAMSHA256.mechanism), "payload": .binary(BSONBinary(data: scram.clientFirst)),
                "options": ["skipEmptyExchange": true], "$db": database,
            ], [])
        let conversation = first["conversationId"] ?? .int32(1)
        let final = try scram.clientFinal(serverFirst: try Self.payload(first))
        var reply = try await send(
            ["saslContinue": 1, "conversationId": conversation, "payload": .binary(BSONBinary(data: final)), "$db": database], [])
        try scram.verify(serverFinal: try Self.payload(reply))
        if reply["done"] != .bool(true) {
            reply = try await send(
                ["saslContinue": 1, "conversationId": conversation, "payload": .binary(BSONBinary(data: [])), "$db": database], [])
            guard reply["done"] == .bool(true) else { throw MongoClientError("the server did not finish the SCRAM exchange") }
        }
    }

    private static func payload(_ reply: BSONDocument) throws -> [UInt8] {
        guard case .binary(let binary)? = reply["payload"] else { throw MongoClientError("a SASL reply without a payload") }
        return binary.data
    }

    static func tlsContext(_ uri: MongoURI) throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        if let file = uri.tlsCAFile {
            configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(file))
        }
        if uri.tlsInsecure { configuration.certificateVerification = .none }
        return try NIOSSLContext(configuration: configuration)
    }

    static func isIPAddress(_ host: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1
    }
}
