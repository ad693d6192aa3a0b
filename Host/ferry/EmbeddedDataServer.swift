import FerryAPI
import FerryConfig
import FerryIsolation
import FerryLoader
import FerryMQL
import FerryMQLPlugins
import FerryRun
import FerryStore
import FerrySync
import Foundation
import Logging
import ServiceLifecycle

/// The data server `ferry run` starts in its own process when the config names none: the same
/// `DataServerStack` as `ferry serve` (with the pipeline scheduler), over TLS on loopback, so sync takes exactly the path it takes to a
/// remote server. Its organisation and upload key are made on first start and kept in the data
/// directory (`embedded.json`, readable only by the owner).
enum EmbeddedDataServer {
    struct Credentials: Codable {
        var organizationID: String
        var apiKeyID: String
        var apiKey: String
        enum CodingKeys: String, CodingKey {
            case organizationID = "organization_id", apiKeyID = "api_key_id", apiKey = "api_key"
        }
    }

    /// `ferry-data` beside the capture directory, unless `data_dir` says otherwise.
    static func dataDirectory(_ dataManager: DataManagerConfig) -> String {
        dataManager.ferry.dataDir
            ?? ((dataManager.captureDir as NSString).deletingLastPathComponent as NSString).appendingPathComponent("ferry-data")
    }

    /// The server, set up to run as a service of `ferry run`'s group; how to reach it (known once
    /// it listens; nil if it stopped first); and what keeps it from serving, for `/readyz`.
    /// `isolated`: the plugin processes whose MQL operators are called there.
    static func prepare(_ dataManager: DataManagerConfig, plugins: PluginRegistry, isolated: [IsolatedModule], logger: Logger) async throws
        -> (service: any Service, endpoint: @Sendable () async -> GRPCUploader.Endpoint?, notReady: @Sendable () async -> [String])
    {
        let directory = dataDirectory(dataManager)
        let store = try await StoreArguments.open(.directory(directory))
        let credentials = try await loadOrCreateCredentials(directory, store: store)
        var configuration = DataServerStack.Configuration()
        // The config parser refused anything ListenAddress does not take.
        let listen = dataManager.ferry.listen.flatMap(ListenAddress.init) ?? ListenAddress("127.0.0.1:0")!
        configuration.server.host = listen.host
        configuration.server.port = listen.port
        let tls = try DataServer.selfSignedCertificate(in: directory, listenHost: listen.host, logger: logger)
        configuration.server.tls = tls
        if let delay = dataManager.ferry.pipelineStartDelay { configuration.pipelines.startDelay = delay }
        let stack = DataServerStack(
            store: store, operators: try MQLOperatorRegistry(plugins: plugins, isolated: isolated), configuration: configuration, logger: logger)
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let service = ClosureService {
            defer { continuation.finish() }
            try await stack.run { port in
                continuation.yield(port)
                continuation.finish()
            }
        }
        let endpoint: @Sendable () async -> GRPCUploader.Endpoint? = {
            for await port in ports {
                logger.info(
                    "embedded data server on 127.0.0.1:\(port), data in \(directory); query it with `ferry data query --data \(directory) --org \(credentials.organizationID) --mql '[…]'`"
                )
                return GRPCUploader.Endpoint(
                    host: listen.host == "0.0.0.0" ? "127.0.0.1" : listen.host, port: port, apiKeyID: credentials.apiKeyID,
                    apiKey: credentials.apiKey, caCertificate: tls.certificate)
            }
            return nil
        }
        return (service, endpoint, { await stack.notReady().map { "the embedded data server: \($0)" } })
    }

    static func loadOrCreateCredentials(_ directory: String, store: any IdentityStore) async throws -> Credentials {
        let path = (directory as NSString).appendingPathComponent("embedded.json")
        if let data = FileManager.default.contents(atPath: path) {
            do {
                return try JSONDecoder().decode(Credentials.self, from: data)
            } catch {
                throw Failure("\(path) does not parse (\(error)); delete it to make a new upload key for the embedded server")
            }
        }
        let organization = try await store.createOrganization(name: "embedded")
        let key = try await store.createAPIKey(organizationID: organization.id, role: .operator, name: "ferry run (embedded sync)")
        let credentials = Credentials(organizationID: organization.id, apiKeyID: key.info.id, apiKey: key.secret)
        let data = try JSONEncoder().encode(credentials)
        guard FileManager.default.createFile(atPath: path, contents: data, attributes: [.posixPermissions: 0o600]) else {
            throw Failure("cannot write \(path)")
        }
        return credentials
    }
}
