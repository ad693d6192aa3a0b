import FerryAPI
import FerryClock
import FerryMQL
import FerryStore
import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import NIOSSL
import ServiceLifecycle

/// `ferry serve --ui-listen HOST:PORT`: the dashboard over HTTPS with the data server's certificate
/// (plain HTTP when the server runs with --insecure). A service of `ferry serve`'s group: a graceful
/// shutdown stops accepting connections and lets the requests in flight finish.
public struct DashboardServer: Service {
    public struct Options: Sendable {
        public var host = "127.0.0.1"
        public var port = 0
        /// Certificate chain and key PEM files; nil serves plain HTTP (and cookies without `Secure`).
        public var tls: (certificate: String, key: String)?
        /// How long a sign-in lasts.
        public var sessionLifetime: Duration = .seconds(8 * 3600)
        public var clock: any FerryClock = SystemClock()
        /// Called after a pipeline is created or changed on the dashboard (`ferry serve` wakes the scheduler).
        public var pipelineChanged: @Sendable () async -> Void = {}
        /// Failed sign-ins allowed per client address and overall.
        package var signInLimits = SignInLimiter.Options()
        public init() {}
    }

    let store: any DataStore
    let operators: MQLOperatorRegistry
    let options: Options
    let logger: Logger

    public init(store: any DataStore, operators: MQLOperatorRegistry, options: Options, logger: Logger) {
        self.store = store
        self.operators = operators
        self.options = options
        self.logger = logger
    }

    public func run() async throws {
        let dashboard = Dashboard(
            store: store, operators: operators, tokenSigningKey: try await store.tokenSigningKey(), clock: options.clock,
            sessionLifetime: options.sessionLifetime, secureCookies: options.tls != nil, signInLimits: options.signInLimits, logger: logger,
            pipelineChanged: options.pipelineChanged)
        let server: HTTPServerBuilder
        if let tls = options.tls {
            var configuration = TLSConfiguration.makeServerConfiguration(
                certificateChain: try NIOSSLCertificate.fromPEMFile(tls.certificate).map { .certificate($0) },
                privateKey: .privateKey(try NIOSSLPrivateKey(file: tls.key, format: .pem)))
            // On stop, idle keep-alive connections are closed; NIOSSL's default waits 5 s for each client's close_notify.
            configuration.shutdownTimeout = .milliseconds(250)
            server = try .tls(.http1(), tlsConfiguration: configuration)
        } else {
            server = .http1()
        }
        let scheme = options.tls == nil ? "http" : "https"
        let host = options.host.contains(":") ? "[\(options.host)]" : options.host
        try await ListenFailure.run(service: "the web dashboard", host: options.host, port: options.port) { listening in
            let app = Application(
                router: dashboard.router(), server: server, configuration: ApplicationConfiguration(address: .hostname(options.host, port: options.port)),
                onServerRunning: { [logger, options] channel in
                    listening()
                    logger.info("serving the web dashboard on \(scheme)://\(host):\(channel.localAddress?.port ?? options.port)/")
                }, logger: logger)
            try await app.run()
        }
    }
}
