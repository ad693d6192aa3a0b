import FerrySystem
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

#if canImport(Glibc)
    import Glibc
#endif

/// Serves a registry directory over HTTP or HTTPS: GET and HEAD of regular files under the
/// root, nothing else (no listings, no dot-files, nothing reached through a link out of the
/// root). Any static file server would do; this one lets `ferry serve` be a fleet's registry.
public struct RegistryFileServer: Sendable {
    public let root: String
    /// Certificate chain and key PEM files; nil serves plain HTTP.
    public let tls: (certificate: String, key: String)?
    let logger: Logger

    public init(root: String, tls: (certificate: String, key: String)?, logger: Logger) throws(RegistryError) {
        guard let resolved = realpath(root, nil) else {
            throw RegistryError(.invalid, "the registry directory \(root) does not exist: \(String(cString: strerror(errno))); create it with `ferry module upload --registry \(root) …`")
        }
        self.root = String(cString: resolved)
        free(resolved)
        self.tls = tls
        self.logger = logger
    }

    /// Binds, reports the bound port (useful with port 0), then serves until cancelled.
    public func run(host: String, port: Int, onListening: @Sendable (Int) -> Void = { _ in }) async throws {
        let context: NIOSSLContext? =
            try tls.map {
                var configuration = TLSConfiguration.makeServerConfiguration(
                    certificateChain: try NIOSSLCertificate.fromPEMFile($0.certificate).map { .certificate($0) },
                    privateKey: .privateKey(try NIOSSLPrivateKey(file: $0.key, format: .pem)))
                // On stop, idle keep-alive connections are closed; NIOSSL's default waits 5 s for each client's close_notify.
                configuration.shutdownTimeout = .milliseconds(250)
                return try NIOSSLContext(configuration: configuration)
            }
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let context { try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context)) }
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    return try NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>(wrappingChannelSynchronously: channel)
                }
            }
        onListening(server.channel.localAddress?.port ?? port)
        try await withThrowingDiscardingTaskGroup { group in
            try await server.executeThenClose { connections in
                for try await connection in connections {
                    group.addTask { await serve(connection) }
                }
            }
        }
    }

    private func serve(_ connection: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>) async {
        do {
            try await connection.executeThenClose { inbound, outbound in
                var request: HTTPRequestHead?
                for try await part in inbound {
                    switch part {
                    case .head(let head): request = head
                    case .body: break
                    case .end:
                        guard let head = request else { continue }
                        try await respond(to: head, outbound)
                        if !head.isKeepAlive { return }
                    }
                }
            }
        } catch {
            logger.debug("registry connection ended: \(error)")
        }
    }

    private func respond(to head: HTTPRequestHead, _ outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>) async throws {
        guard head.method == .GET || head.method == .HEAD else {
            return try await plain(.methodNotAllowed, "only GET and HEAD are served\n", head, outbound)
        }
        guard let file = resolve(head.uri) else { return try await plain(.notFound, "not found\n", head, outbound) }
        let fd = open(file, O_RDONLY | O_CLOEXEC)
        var info = stat()
        guard fd >= 0 else { return try await plain(.notFound, "not found\n", head, outbound) }
        defer { close(fd) }
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            return try await plain(.notFound, "not found\n", head, outbound)
        }
        var headers = HTTPHeaders()
        headers.add(name: "Content-Length", value: "\(info.st_size)")
        headers.add(name: "Content-Type", value: file.hasSuffix(".json") ? "application/json" : file.hasSuffix(".gz") ? "application/gzip" : "application/octet-stream")
        headers.add(name: "Cache-Control", value: file.hasSuffix(".json") ? "no-cache" : "max-age=31536000, immutable")
        if !head.isKeepAlive { headers.add(name: "Connection", value: "close") }
        try await outbound.write(.head(HTTPResponseHead(version: head.version, status: .ok, headers: headers)))
        if head.method == .GET {
            var offset: Int64 = 0
            let descriptor = fd
            while offset < Int64(info.st_size) {
                let at = offset
                // The read runs on NIO's blocking-I/O pool, never on an event loop.
                let chunk = try await NIOThreadPool.singleton.runIfActive { () -> ByteBuffer in
                    var buffer = ByteBufferAllocator().buffer(capacity: 64 * 1024)
                    let count = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: 64 * 1024) { bytes in
                        max(0, pread(descriptor, bytes.baseAddress, bytes.count, off_t(at)))
                    }
                    _ = count
                    return buffer
                }
                guard chunk.readableBytes > 0 else { break }  // the file shrank: the length sent was wrong, so end
                offset += Int64(chunk.readableBytes)
                try await outbound.write(.body(.byteBuffer(chunk)))
            }
        }
        try await outbound.write(.end(nil))
        logger.debug("registry: \(head.method) \(head.uri) 200 \(info.st_size) bytes")
    }

    private func plain(
        _ status: HTTPResponseStatus, _ text: String, _ head: HTTPRequestHead, _ outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>
    ) async throws {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Length", value: "\(text.utf8.count)")
        headers.add(name: "Content-Type", value: "text/plain")
        if !head.isKeepAlive { headers.add(name: "Connection", value: "close") }
        try await outbound.write(.head(HTTPResponseHead(version: head.version, status: status, headers: headers)))
        if head.method != .HEAD { try await outbound.write(.body(.byteBuffer(ByteBuffer(string: text)))) }
        try await outbound.write(.end(nil))
    }

    /// The file a request path names, or nil: percent-decoded, no `.`/`..`/dot-file segment,
    /// and (links resolved) still inside the root.
    func resolve(_ uri: String) -> String? {
        let rawPath = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
        guard rawPath.hasPrefix("/"), let path = percentDecoded(rawPath), !path.utf8.contains(0) else { return nil }
        let segments = path.split(separator: "/", omittingEmptySubsequences: true)
        guard !segments.isEmpty, !segments.contains(where: { $0.hasPrefix(".") }) else { return nil }
        let candidate = root + "/" + segments.joined(separator: "/")
        guard let resolved = realpath(candidate, nil) else { return nil }
        defer { free(resolved) }
        let real = String(cString: resolved)
        return real.hasPrefix(root + "/") ? real : nil
    }
}
