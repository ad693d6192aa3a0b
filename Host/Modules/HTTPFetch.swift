import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// One HTTP/1.1 GET over plain TCP or TLS, the body streamed to a sink with a size cap. Enough
/// for a static registry; no redirects, no proxies. A peer silent for 30 s is dropped.
enum HTTPFetch {
    static let idleTimeout = TimeAmount.seconds(30)

    /// Returns the status; the sink sees the body only for 200.
    static func get(
        _ url: URL, caFile: String?, maxBytes: Int64, sink: (ByteBuffer) throws(RegistryError) -> Void
    ) async throws(RegistryError) -> Int {
        guard let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https", let host = url.host, !host.isEmpty else {
            throw RegistryError(.invalid, "\(url): not an http:// or https:// URL")
        }
        let secure = scheme == "https"
        let port = url.port ?? (secure ? 443 : 80)
        var path = url.path(percentEncoded: true)
        if path.isEmpty { path = "/" }
        let context: NIOSSLContext?
        do {
            if secure {
                var configuration = TLSConfiguration.makeClientConfiguration()
                if let caFile { configuration.additionalTrustRoots = [.file(caFile)] }
                context = try NIOSSLContext(configuration: configuration)
            } else {
                context = nil
            }
        } catch {
            throw RegistryError(.invalid, "cannot set up TLS for \(url) (CA file \(caFile ?? "none")): \(error)")
        }
        // SNI and name checks take a host name; for an address NIOSSL checks the peer's IP instead.
        let serverHostname = IPv4Address.isLiteral(host) || host.contains(Character(":")) ? nil : host
        do {
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.seconds(10))
                .connect(host: host, port: port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let pipeline = channel.pipeline.syncOperations
                        if let context { try pipeline.addHandler(NIOSSLClientHandler(context: context, serverHostname: serverHostname)) }
                        try pipeline.addHandler(IdleStateHandler(readTimeout: idleTimeout))
                        try pipeline.addHandler(CloseWhenIdle())
                        try pipeline.addHTTPClientHandlers()
                        return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(wrappingChannelSynchronously: channel)
                    }
                }
            return try await channel.executeThenClose { inbound, outbound in
                var headers = HTTPHeaders()
                headers.add(name: "Host", value: url.port.map { "\(host):\($0)" } ?? host)
                headers.add(name: "User-Agent", value: "ferry")
                headers.add(name: "Connection", value: "close")
                do {
                    try await outbound.write(.head(HTTPRequestHead(version: .http1_1, method: .GET, uri: path, headers: headers)))
                    try await outbound.write(.end(nil))
                } catch {
                    // A failed TLS handshake can close the channel under the write; its reason (an
                    // untrusted certificate, say) then arrives on the inbound side: report that.
                    for try await _ in inbound {}
                    throw error
                }
                var status = 0
                var received: Int64 = 0
                for try await part in inbound {
                    switch part {
                    case .head(let head):
                        status = Int(head.status.code)
                    case .body(let buffer):
                        guard status == 200 else { continue }
                        received += Int64(buffer.readableBytes)
                        if received > maxBytes {
                            throw RegistryError(.refused, "\(url) sends more than the \(maxBytes) bytes expected; the download is refused")
                        }
                        try sink(buffer)
                    case .end:
                        return status
                    }
                }
                throw RegistryError(.unreachable, "\(url): the connection closed before the response was complete")
            }
        } catch let error as RegistryError {
            throw error
        } catch {
            throw RegistryError(.unreachable, "cannot fetch \(url): \(Self.explain(error))")
        }
    }

    static func explain(_ error: any Error) -> String {
        let text = "\(error)"
        if text.firstRange(of: "CERTIFICATE_VERIFY_FAILED") != nil || text.firstRange(of: "handshakeFailed") != nil {
            return "the TLS certificate is not trusted (\(text)); give the registry's CA with --registry-ca PEM (for `ferry serve`, its tls-cert.pem)"
        }
        if text.firstRange(of: "connectTimeout") != nil || text.firstRange(of: "Connection refused") != nil || text.firstRange(of: "connection reset") != nil {
            return "the server does not answer (\(text))"
        }
        return text
    }
}

/// Closes the connection when `IdleStateHandler` reports no reads for its timeout.
private final class CloseWhenIdle: ChannelInboundHandler, Sendable {
    typealias InboundIn = NIOAny

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            // Said as an error first, so the caller tells a silent server from one that hung up.
            context.fireErrorCaught(SilentPeer())
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }
}

private struct SilentPeer: Error, CustomStringConvertible {
    var description: String { "the server sent nothing for \(HTTPFetch.idleTimeout.nanoseconds / 1_000_000_000) s" }
}

enum IPv4Address {
    static func isLiteral(_ text: String) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { UInt8($0) != nil }
    }
}
