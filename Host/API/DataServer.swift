import FerryMQL
import FerryPipelines
import FerryStore
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import ViamGRPC

/// Viam's public gRPC API over a store: auth, uploads, queries and pipeline management. What runs
/// beside it (the scheduler, pruning) is assembled by `DataServerStack`.
public struct DataServer: Sendable {
    public struct Options: Sendable {
        public var host = "127.0.0.1"
        public var port = 8080
        /// nil: plain HTTP/2 (h2c). Otherwise the certificate chain and key PEM files.
        public var tls: (certificate: String, key: String)?
        public var tokenLifetime: Duration = .seconds(24 * 3600)
        public init() {}
    }

    let store: any DataStore
    let operators: MQLOperatorRegistry
    let options: Options
    let logger: Logger
    /// Called after a pipeline is created or changed over gRPC: wake the scheduler.
    let pipelineChanged: @Sendable () async -> Void
    /// Where signed download URLs point (`ferry serve --download-listen`); nil: CreateBinaryDataSignedURL is refused.
    package var downloads: DownloadEndpoint?

    public init(
        store: any DataStore, operators: MQLOperatorRegistry, options: Options,
        logger: Logger = Logger(label: "ferry.serve"),
        pipelineChanged: @escaping @Sendable () async -> Void = {}
    ) {
        self.pipelineChanged = pipelineChanged
        self.store = store
        self.operators = operators
        self.options = options
        self.logger = logger
    }

    /// The self-signed certificate and key for `directory`, created on first use naming
    /// `listenHost` (every interface's address for 0.0.0.0). One made earlier that does not name
    /// the listen address is kept, with a warning saying how to make a new one.
    public static func selfSignedCertificate(in directory: String, listenHost: String, logger: Logger) throws
        -> (certificate: String, key: String)
    {
        let certificate = try ServerCertificate.selfSigned(in: directory, listenHost: listenHost)
        if !certificate.unnamedAddresses.isEmpty {
            logger.warning(
                "the self-signed certificate \(certificate.certificatePath) does not name \(certificate.unnamedAddresses.joined(separator: ", ")), so clients dialling that address will refuse it; delete tls-cert.pem and tls-key.pem in \(directory) to make one that does (and give the new tls-cert.pem to the hosts that trust it)")
        }
        return (certificate.certificatePath, certificate.keyPath)
    }

    /// Serves until the task is cancelled, or until the calls in flight at a graceful shutdown have
    /// finished. `onListening` gets the bound port (useful with port 0).
    public func run(onListening: @escaping @Sendable (Int) -> Void = { _ in }) async throws {
        let signingKey = try await store.tokenSigningKey()
        let tokens = try TokenSigner(key: signingKey, lifetime: options.tokenLifetime)
        let security: HTTP2ServerTransport.Posix.TransportSecurity =
            if let tls = options.tls {
                .tls(certificateChain: [.file(path: tls.certificate, format: .pem)], privateKey: .file(path: tls.key, format: .pem))
            } else {
                .plaintext
            }
        let transport = HTTP2ServerTransport.Posix(
            address: .ipv4(host: options.host, port: options.port), transportSecurity: security,
            config: .defaults {
                // A whole request in flight without waiting for the server's window updates (the
                // default, 64 KiB, is less than a host's batch); no more than a request may hold.
                $0.http2.targetWindowSize = $0.rpc.maxRequestPayloadSize
            })
        let protected: Set<ServiceDescriptor> = [
            Viam_App_Data_V1_DataService.descriptor, Viam_App_Datasync_V1_DataSyncService.descriptor,
            Viam_App_Datapipelines_V1_DataPipelinesService.descriptor, Viam_App_Dataset_V1_DatasetService.descriptor,
        ]
        let services: [any RegistrableRPCService] = [
            AuthServiceImpl(store: store, tokens: tokens), DataSyncService(implementation: DataSyncServiceImpl(store: store)),
            DataServiceImpl(
                store: store, operators: operators,
                downloads: downloads.map { ($0, DownloadURLSigner(tokenSigningKey: signingKey)) }),
            DataPipelinesServiceImpl(manager: PipelineManager(store: store, operators: operators), changed: pipelineChanged),
            DatasetServiceImpl(store: store),
        ]
        let server = GRPCServer(
            transport: transport,
            services: services,
            interceptorPipeline: [
                .apply(TracingInterceptor(), to: .all),
                .apply(BearerAuthInterceptor(tokens: tokens, revocations: RevocationCheck(store: store)), to: .services(protected)),
            ])
        try await server.serveUntilShutdown(as: "Viam's data API", host: options.host, port: options.port) { port in
            logger.info("serving Viam's data API on \(options.host):\(port) (\(options.tls == nil ? "h2c, no TLS" : "TLS"))")
            onListening(port)
        }
    }
}
