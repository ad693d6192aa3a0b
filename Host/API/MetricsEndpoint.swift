import Metrics
import NIOCore
import NIOHTTP1
import NIOPosix
import Prometheus

/// `GET /metrics` in Prometheus's text format, on its own port (so scraping never competes with
/// gRPC traffic or needs its credentials). Installs the Prometheus backend for swift-metrics.
public struct MetricsEndpoint: Sendable {
    let registry = PrometheusCollectorRegistry()

    public init() {
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
    }

    /// Binds and serves until the process ends; returns the bound port.
    public func start(host: String, port: Int) async throws -> Int {
        let registry = registry
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline().flatMap {
                    channel.pipeline.addHandler(MetricsHandler(registry: registry))
                }
            }
            .bind(host: host, port: port).get()
        return channel.localAddress?.port ?? port
    }
}

private final class MetricsHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart
    let registry: PrometheusCollectorRegistry

    init(registry: PrometheusCollectorRegistry) { self.registry = registry }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .head(let request) = unwrapInboundIn(data) else { return }
        let found = request.method == .GET && request.uri.split(separator: "?").first == "/metrics"
        let body = found ? registry.emitToBuffer() : Array("only GET /metrics is served here\n".utf8)
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: found ? "text/plain; version=0.0.4" : "text/plain")
        headers.add(name: "Content-Length", value: "\(body.count)")
        headers.add(name: "Connection", value: "close")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: request.version, status: found ? .ok : .notFound, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
        // The channel, not the context, goes into the completion: a Channel is Sendable.
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
    }
}

/// The server's metrics, named as Prometheus likes.
enum ServerMetrics {
    static func upload(_ kind: String) { Counter(label: "ferry_uploads_total", dimensions: [("kind", kind)]).increment() }
    static func rowsIngested(_ count: Int) { Counter(label: "ferry_rows_ingested_total").increment(by: count) }
    static func query(_ kind: String, since start: ContinuousClock.Instant) {
        Metrics.Timer(label: "ferry_query_duration_seconds", dimensions: [("kind", kind)])
            .record(duration: ContinuousClock.now - start)
    }
}
