import FerryClock
import FerryStore
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

/// Where signed download URLs point: set once the download listener has bound its port (or to the
/// configured public URL), read by CreateBinaryDataSignedURL.
package final class DownloadEndpoint: Sendable {
    private let base = Mutex<String?>(nil)

    package init() {}

    /// `scheme://host:port` without a trailing slash; nil until the listener is up.
    package var baseURL: String? { base.withLock { $0 } }

    func publish(_ url: String) {
        let trimmed = url.hasSuffix("/") ? String(url.dropLast()) : url
        base.withLock { $0 = trimmed }
    }
}

/// Serves the payloads that signed URLs name, over HTTPS with the data server's certificate (plain
/// HTTP when the data server runs without TLS): GET and HEAD of `/download/<org>/<id>?expires=…&signature=…`
/// and nothing else. gRPC's HTTP/2 server does not answer plain GETs, hence a listener of its own.
public struct BinaryDownloadServer: Sendable {
    public struct Options: Sendable {
        public var host = "127.0.0.1"
        public var port = 0
        /// What signed URLs start with (`https://files.example.com:8443`), for a server behind a
        /// proxy; nil: the listen address and bound port.
        public var publicURL: String?
        /// Certificate chain and key PEM files; nil serves plain HTTP.
        public var tls: (certificate: String, key: String)?
        public init() {}
    }

    let store: any DataStore
    let options: Options
    let endpoint: DownloadEndpoint
    let clock: any FerryClock
    let logger: Logger

    package init(store: any DataStore, options: Options, endpoint: DownloadEndpoint, clock: any FerryClock = SystemClock(), logger: Logger) {
        self.store = store
        self.options = options
        self.endpoint = endpoint
        self.clock = clock
        self.logger = logger
    }

    /// Binds, publishes the URL base, then serves until cancelled.
    package func run() async throws {
        let signer = DownloadURLSigner(tokenSigningKey: try await store.tokenSigningKey())
        let context: NIOSSLContext? =
            try options.tls.map {
                var configuration = TLSConfiguration.makeServerConfiguration(
                    certificateChain: try NIOSSLCertificate.fromPEMFile($0.certificate).map { .certificate($0) },
                    privateKey: .privateKey(try NIOSSLPrivateKey(file: $0.key, format: .pem)))
                // On stop, idle keep-alive connections are closed; NIOSSL's default waits 5 s for each client's close_notify.
                configuration.shutdownTimeout = .milliseconds(250)
                return try NIOSSLContext(configuration: configuration)
            }
        let server: NIOAsyncChannel<NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>, Never>
        do {
            server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .bind(host: options.host, port: options.port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        if let context { try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context)) }
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                        return try NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            throw ListenFailure(service: "the binary download server", host: options.host, port: options.port, cause: error)
        }
        let port = server.channel.localAddress?.port ?? options.port
        let scheme = options.tls == nil ? "http" : "https"
        let listenURL = "\(scheme)://\(Self.urlHost(options.host)):\(port)"
        endpoint.publish(options.publicURL ?? listenURL)
        logger.info("serving signed binary downloads on \(listenURL) (URLs start with \(endpoint.baseURL ?? listenURL))")
        try await withThrowingDiscardingTaskGroup { group in
            try await server.executeThenClose { connections in
                for try await connection in connections {
                    group.addTask { await serve(connection, signer) }
                }
            }
        }
    }

    /// An IPv6 address in brackets, as URLs write it.
    static func urlHost(_ host: String) -> String { host.contains(":") ? "[\(host)]" : host }

    private func serve(_ connection: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>, _ signer: DownloadURLSigner) async {
        do {
            try await connection.executeThenClose { inbound, outbound in
                var request: HTTPRequestHead?
                for try await part in inbound {
                    switch part {
                    case .head(let head): request = head
                    case .body: break
                    case .end:
                        guard let head = request else { continue }
                        try await respond(to: head, signer, outbound)
                        if !head.isKeepAlive { return }
                    }
                }
            }
        } catch {
            logger.debug("download connection ended: \(error)")
        }
    }

    private func respond(
        to head: HTTPRequestHead, _ signer: DownloadURLSigner, _ outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>
    ) async throws {
        guard head.method == .GET || head.method == .HEAD else {
            return try await plain(.methodNotAllowed, "only GET and HEAD are served", head, outbound)
        }
        let grant: DownloadURLSigner.Grant
        do {
            grant = try signer.verify(uri: head.uri, now: clock.now())
        } catch {
            logger.info("refused a download: \(error)")
            return try await plain(.forbidden, error.description, head, outbound)
        }
        let found = try? await store.binaries(organizationID: grant.organizationID, ids: [grant.binaryID]).first
        guard let record = found, let bytes = try? await store.binaryData(organizationID: grant.organizationID, id: grant.binaryID) else {
            return try await plain(.notFound, "binary data \(grant.binaryID) no longer exists", head, outbound)
        }
        var headers = HTTPHeaders()
        headers.add(name: "Content-Length", value: "\(bytes.count)")
        headers.add(name: "Content-Type", value: record.metadata.mimeType.isEmpty ? "application/octet-stream" : record.metadata.mimeType)
        let name = Self.fileName(record)
        headers.add(name: "Content-Disposition", value: "attachment; filename=\"\(name)\"")
        headers.add(name: "Cache-Control", value: "private, no-store")
        if !head.isKeepAlive { headers.add(name: "Connection", value: "close") }
        try await outbound.write(.head(HTTPResponseHead(version: head.version, status: .ok, headers: headers)))
        if head.method == .GET { try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: bytes)))) }
        try await outbound.write(.end(nil))
    }

    /// The payload's file name for Content-Disposition (quotes and controls replaced), else its id.
    package static func fileName(_ record: BinaryRecord) -> String {
        let m = record.metadata
        var name = m.fileName.isEmpty ? record.id : (m.fileName.hasSuffix(m.fileExtension) ? m.fileName : m.fileName + m.fileExtension)
        name = String(name.unicodeScalars.map { $0 == "\"" || $0 == "\\" || $0.value < 0x20 || $0.value > 0x7e ? "_" : Character($0) })
        return name
    }

    private func plain(
        _ status: HTTPResponseStatus, _ text: String, _ head: HTTPRequestHead, _ outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>
    ) async throws {
        let body = text + "\n"
        var headers = HTTPHeaders()
        headers.add(name: "Content-Length", value: "\(body.utf8.count)")
        headers.add(name: "Content-Type", value: "text/plain; charset=utf-8")
        if !head.isKeepAlive { headers.add(name: "Connection", value: "close") }
        try await outbound.write(.head(HTTPResponseHead(version: head.version, status: status, headers: headers)))
        if head.method != .HEAD { try await outbound.write(.body(.byteBuffer(ByteBuffer(string: body)))) }
        try await outbound.write(.end(nil))
    }
}
