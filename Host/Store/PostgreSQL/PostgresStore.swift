import FerryBSON
import FerryStore
import Foundation
import Logging
import NIOSSL
import PostgresNIO

/// The store on PostgreSQL (postgres-nio): for fleets, and for many `ferry serve` replicas sharing
/// one database. Nothing lives on the server's disk: keys, the token signing key, payloads,
/// pipeline state and leases are rows, so replicas can be added and killed freely.
public final class PostgresStore: DataStore {
    public struct Configuration: Sendable {
        public var options: StoreOptions
        /// Connections this process opens at most.
        public var maxConnections = 16

        public init(_ options: StoreOptions = StoreOptions()) { self.options = options }
    }

    public let url: PostgresURL
    let configuration: Configuration
    let client: PostgresClient
    private let runner: Task<Void, Never>
    var logger: Logger { configuration.options.logger }
    var options: StoreOptions { configuration.options }
    /// The connections TabularDataBySQL queries run on, as the read-only role (made on first use).
    let sandbox: PostgresSQLSandbox

    public var location: String { url.description }

    /// Connects, and brings the schema up to date (once, however many replicas start together).
    public static func open(_ url: PostgresURL, configuration: Configuration = Configuration()) async throws -> PostgresStore {
        try await open(url, configuration: configuration, migratingUpTo: nil)
    }

    /// `migratingUpTo`: stop after that migration (tests of upgrades from an older schema).
    package static func open(_ url: PostgresURL, configuration: Configuration, migratingUpTo last: String?) async throws
        -> PostgresStore
    {
        try StoreChecks.validate(hotStorageHours: configuration.options.hotStorageHours)
        try await probe(url, logger: configuration.options.logger)
        let store = try PostgresStore(url: url, configuration: configuration)
        do {
            try await PostgresMigrator.migrate(store, upTo: last)
        } catch {
            store.close()
            throw error
        }
        configuration.options.logger.info("store opened", metadata: ["database": "\(url)"])
        return store
    }

    private init(url: PostgresURL, configuration: Configuration) throws {
        self.url = url
        self.configuration = configuration
        let client = PostgresClient(configuration: try Self.clientConfiguration(url, maxConnections: configuration.maxConnections))
        self.client = client
        runner = Task { await client.run() }
        sandbox = PostgresSQLSandbox(url: url)
    }

    deinit { close() }

    /// Closes every connection; the store cannot be used afterwards.
    public func close() {
        runner.cancel()
        sandbox.close()
    }

    static func clientConfiguration(_ url: PostgresURL, user: String? = nil, password: String? = nil, maxConnections: Int) throws
        -> PostgresClient.Configuration
    {
        let user = user ?? url.user
        let password = password ?? url.password
        var configuration: PostgresClient.Configuration
        if url.isUnixSocket {
            configuration = PostgresClient.Configuration(
                unixSocketPath: url.socketPath, username: user, password: password, database: url.database)
        } else {
            configuration = PostgresClient.Configuration(
                host: url.host, port: url.port, username: user, password: password, database: url.database,
                tls: try tls(url))
        }
        configuration.options.maximumConnections = maxConnections
        if let timeout = url.connectTimeout { configuration.options.connectTimeout = timeout }
        var parameters = [("application_name", url.applicationName ?? "ferry"), ("TimeZone", "UTC")]
        if user != url.user { parameters.append(("default_transaction_read_only", "on")) }
        configuration.options.additionalStartupParameters = parameters
        return configuration
    }

    /// One plain connection before the pool: the pool retries a server it cannot reach for a minute
    /// and then reports only that its circuit breaker tripped; this says at once what went wrong.
    static func probe(_ url: PostgresURL, logger: Logger) async throws {
        var configuration: PostgresConnection.Configuration
        if url.isUnixSocket {
            configuration = PostgresConnection.Configuration(
                unixSocketPath: url.socketPath, username: url.user, password: url.password, database: url.database)
        } else {
            let settings = try tlsSettings(url)
            let tls: PostgresConnection.Configuration.TLS
            do {
                tls = try settings.configuration.map { try settings.required ? .require(NIOSSLContext(configuration: $0)) : .prefer(NIOSSLContext(configuration: $0)) } ?? .disable
            } catch {
                throw StoreError.invalid("cannot set up TLS for \(url): \(error)")
            }
            configuration = PostgresConnection.Configuration(
                host: url.host, port: url.port, username: url.user, password: url.password, database: url.database, tls: tls)
        }
        if let timeout = url.connectTimeout { configuration.options.connectTimeout = .seconds(timeout.components.seconds) }
        configuration.options.additionalStartupParameters = [("application_name", url.applicationName ?? "ferry")]
        do {
            let connection = try await PostgresConnection.connect(configuration: configuration, id: 0, logger: logger)
            try? await connection.close()
        } catch let error as PSQLError {
            let detail = error.serverInfo?[.message] ?? error.underlying.map { "\($0)" } ?? "\(error.code)"
            throw StoreError.storage("connecting to \(url)", detail, advice: advice)
        } catch {
            throw StoreError.storage("connecting to \(url)", "\(error)", advice: advice)
        }
    }

    /// libpq's `sslmode`: `disable` plain; `allow`/`prefer` TLS when offered, unverified; `require`
    /// TLS, unverified; `verify-ca` TLS with the chain checked against `sslrootcert` (or the system's
    /// roots); `verify-full` that and the host name.
    static func tls(_ url: PostgresURL) throws -> PostgresClient.Configuration.TLS {
        let settings = try tlsSettings(url)
        guard let configuration = settings.configuration else { return .disable }
        return settings.required ? .require(configuration) : .prefer(configuration)
    }

    /// The TLS configuration `sslmode` asks for (nil: none), and whether the server must use it.
    static func tlsSettings(_ url: PostgresURL) throws -> (configuration: TLSConfiguration?, required: Bool) {
        var tls = TLSConfiguration.makeClientConfiguration()
        switch url.sslMode {
        case .disable:
            return (nil, false)
        case .allow, .prefer, .require:
            tls.certificateVerification = .none
            return (tls, url.sslMode == .require)
        case .verifyCA, .verifyFull:
            tls.certificateVerification = url.sslMode == .verifyFull ? .fullVerification : .noHostnameVerification
            if let root = url.sslRootCert {
                do {
                    tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(root))
                } catch {
                    throw StoreError.invalid("cannot read sslrootcert \(root): \(error); give a PEM file of the CA that signed the server's certificate")
                }
            }
            return (tls, true)
        }
    }

    // MARK: Running statements

    static let advice = "Check that the database is reachable and its user may read and write Ferry's tables."

    /// Runs one statement and collects its rows.
    @discardableResult
    func rows(_ what: String, _ query: PostgresQuery) async throws -> [PostgresRow] {
        try await mapErrors(what) { try await client.query(query, logger: logger).collect() }
    }

    /// Runs `body` in one transaction on one connection.
    func transaction<T: Sendable>(_ what: String, _ body: @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        try await mapErrors(what) {
            try await client.withConnection { connection in
                try await connection.query("BEGIN", logger: logger)
                do {
                    let result = try await body(connection)
                    try await connection.query("COMMIT", logger: logger)
                    return result
                } catch {
                    _ = try? await connection.query("ROLLBACK", logger: logger)
                    throw error
                }
            }
        }
    }

    /// Turns driver and server errors into `StoreError`s that say what was being done.
    func mapErrors<T>(_ what: String, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as StoreError {
            throw error
        } catch let error as CancellationError {
            throw error
        } catch let error as PSQLError {
            if error.serverInfo?[.sqlState] == "FE001", let clash = DuplicateSinkKey(error.serverInfo?[.message] ?? "") { throw clash }
            throw Self.storeError(what, error)
        } catch {
            throw StoreError.storage(what, error, advice: Self.advice)
        }
    }

    static func storeError(_ what: String, _ error: PSQLError) -> StoreError {
        let state = error.serverInfo?[.sqlState]
        let message = error.serverInfo?[.message] ?? "\(error.code)"
        switch state {
        case "P0002": return StoreChecks.noSuchOrganization(message)
        case "22P02", "22023", "22021", "22P05", "54000":
            return StoreError.invalid("\(what) was refused by the database: \(message)")
        default:
            let detail = state.map { "\(message) (SQLSTATE \($0))" } ?? "\(error.code)"
            return StoreError.storage(what, detail, advice: advice)
        }
    }

    /// The server's message of a `PSQLError` (the driver's description hides it).
    static func message(_ error: any Error) -> String {
        guard let error = error as? PSQLError else { return "\(error)" }
        return error.serverInfo?[.message] ?? "\(error.code)"
    }
}

/// `ferry_write_window`'s refusal of a sink `_id` another window holds: which document, which window.
struct DuplicateSinkKey: Error {
    var position: Int
    var window: SinkWindow

    /// From the function's message, "<position> <window start> <window end>".
    init?(_ message: String) {
        let fields = message.split(separator: " ").compactMap { Int64($0) }
        guard fields.count == 3, fields[0] >= 0 else { return nil }
        position = Int(fields[0])
        window = SinkWindow(start: fields[1], end: fields[2])
    }
}

extension StoreError {
    static func storage(_ what: String, _ detail: String, advice: String) -> StoreError {
        StoreError(.storage, "\(what) failed: \(detail). \(advice)")
    }
}
