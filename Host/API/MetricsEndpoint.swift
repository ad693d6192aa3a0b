import Foundation
import Metrics
import NIOCore
import NIOHTTP1
import NIOPosix
import Prometheus

/// What keeps a process from serving (`GET /readyz`): empty when ready. Asked at each request.
public typealias ReadinessCheck = @Sendable () async -> [String]

/// The operations port, apart from gRPC (so probes and scrapes never compete with its traffic or
/// need its credentials): `GET /metrics` in Prometheus's text format, `GET /healthz` (the process
/// answers) and `GET /readyz` (200 when the check finds nothing wrong, else 503 with what is
/// not ready), both as JSON. Installs the Prometheus backend for swift-metrics.
public struct MetricsEndpoint: Sendable {
    let registry = PrometheusCollectorRegistry()
    let readiness: ReadinessCheck

    public init(readiness: @escaping ReadinessCheck = { [] }) {
        self.readiness = readiness
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
    }

    /// Binds and serves until the process ends; returns the bound port.
    public func start(host: String, port: Int) async throws -> Int {
        let routes = Routes(registry: registry, readiness: readiness)
        do {
            let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { channel in
                    channel.pipeline.configureHTTPServerPipeline().flatMap {
                        channel.pipeline.addHandler(OperationsHandler(routes: routes))
                    }
                }
                .bind(host: host, port: port).get()
            return channel.localAddress?.port ?? port
        } catch {
            throw ListenFailure(service: "the metrics endpoint", host: host, port: port, cause: error)
        }
    }

    struct Routes: Sendable {
        let registry: PrometheusCollectorRegistry
        let readiness: ReadinessCheck

        func respond(method: HTTPMethod, path: Substring) async -> (HTTPResponseStatus, contentType: String, body: [UInt8]) {
            guard method == .GET else { return (.methodNotAllowed, "text/plain", Array("only GET is served here\n".utf8)) }
            switch path {
            case "/metrics":
                return (.ok, "text/plain; version=0.0.4", registry.emitToBuffer())
            case "/healthz":
                return (.ok, "application/json", Array(#"{"status":"alive"}"#.utf8) + [0x0A])
            case "/readyz":
                let problems = await readiness()
                let report: [String: Any] = problems.isEmpty ? ["ready": true] : ["ready": false, "not_ready": problems]
                let body = (try? JSONSerialization.data(withJSONObject: report, options: [.sortedKeys])) ?? Data()
                return (problems.isEmpty ? .ok : .serviceUnavailable, "application/json", Array(body) + [0x0A])
            default:
                return (.notFound, "text/plain", Array("not found; served here: GET /metrics, /healthz, /readyz\n".utf8))
            }
        }
    }
}

private final class OperationsHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart
    let routes: MetricsEndpoint.Routes

    init(routes: MetricsEndpoint.Routes) { self.routes = routes }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .head(let request) = unwrapInboundIn(data) else { return }
        let routes = routes
        let path = request.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        // The channel, not the context, crosses into the task and its completion: a Channel is Sendable.
        let channel = context.channel
        context.eventLoop.makeFutureWithTask {
            await routes.respond(method: request.method, path: path)
        }.whenSuccess { status, contentType, body in
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: contentType)
            headers.add(name: "Content-Length", value: "\(body.count)")
            headers.add(name: "Connection", value: "close")
            channel.write(HTTPServerResponsePart.head(HTTPResponseHead(version: request.version, status: status, headers: headers)), promise: nil)
            channel.write(HTTPServerResponsePart.body(.byteBuffer(channel.allocator.buffer(bytes: body))), promise: nil)
            channel.writeAndFlush(HTTPServerResponsePart.end(nil)).whenComplete { _ in channel.close(promise: nil) }
        }
    }
}

/// The server's metrics, named as Prometheus likes.
enum ServerMetrics {
    static func upload(_ kind: String, bytes: Int) {
        Counter(label: "ferry_uploads_total", dimensions: [("kind", kind)]).increment()
        Counter(label: "ferry_ingest_bytes_total", dimensions: [("kind", kind)]).increment(by: bytes)
    }
    static func storeSize(_ bytes: Int64) { Gauge(label: "ferry_store_size_bytes").record(bytes) }
    static func rowsIngested(_ count: Int) { Counter(label: "ferry_rows_ingested_total").increment(by: count) }
    static func query(_ kind: String, since start: ContinuousClock.Instant) {
        Metrics.Timer(label: "ferry_query_duration_seconds", dimensions: [("kind", kind)])
            .record(duration: ContinuousClock.now - start)
    }
}
