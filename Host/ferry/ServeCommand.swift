import ArgumentParser
import FerryAPI
import FerryConfig
import FerryDashboard
import FerryIsolation
import FerryLoader
import FerryMQL
import FerryMQLPlugins
import FerryMongoServer
import FerryPipelines
import FerryRun
import FerryStore
import Foundation
import Logging
import ServiceLifecycle

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the data server: Viam's gRPC data API (auth, uploads, MQL and SQL queries, data pipelines) over a SQLite or PostgreSQL store.",
        discussion: """
            TLS by default: a self-signed certificate is created in the data directory on first start \
            (--tls-cert/--tls-key for real ones); --insecure serves plain HTTP/2 (h2c) for local use. \
            Create an organisation and an API key first with `ferry org create` and `ferry key create`.
            """)

    @OptionGroup var store: StoreArguments

    @Option(help: "Address to listen on: an IPv4 address and a port (0.0.0.0:PORT for every interface).")
    var listen = "127.0.0.1:8080"

    @Option(name: .customLong("tls-cert"), help: "PEM certificate chain to serve instead of the self-signed one.")
    var tlsCert: String?

    @Option(name: .customLong("tls-key"), help: "PEM private key for --tls-cert.")
    var tlsKey: String?

    @Flag(help: "Serve plain HTTP/2 without TLS (h2c); clients must dial insecurely.")
    var insecure = false

    @Flag(
        name: .customLong("isolate-all"),
        help: "Run every plugin in a process of its own (`ferry plugin-host`): its MQL operators are called there, and a crash fails only the query using it.")
    var isolateAll = false

    @Option(name: .customLong("metrics-listen"), help: "Where to serve Prometheus metrics (GET /metrics) and health probes (GET /healthz, /readyz), HOST:PORT; \"off\" disables.")
    var metricsListen = "127.0.0.1:9464"

    @Option(
        name: .customLong("mongo-listen"),
        help: "Also serve MongoDB's wire protocol here, HOST:PORT (mongosh, pymongo, BI tools; TLS as the gRPC API; off unless given).")
    var mongoListen: String?

    @Option(
        name: .customLong("download-listen"),
        help: "Serve the downloads of signed binary-data URLs (CreateBinaryDataSignedURL) here, HOST:PORT (TLS as the gRPC API; off unless given).")
    var downloadListen: String?

    @Option(
        name: .customLong("download-url"),
        help: "What signed download URLs start with, e.g. https://files.example.com:8443 behind a proxy (default: the --download-listen address).")
    var downloadURL: String?

    @Option(
        name: .customLong("ui-listen"),
        help: "Serve the web dashboard here, HOST:PORT (machines, data, charts, queries, pipelines; sign in with an API key; TLS as the gRPC API; off unless given).")
    var uiListen: String?

    @Option(name: .customLong("ui-session-hours"), help: "How long a dashboard sign-in lasts, in hours.")
    var uiSessionHours = 8.0

    @Option(name: .customLong("hot-storage-hours"), help: "How many hours of recent readings hot storage keeps.")
    var hotStorageHours = 24

    @Option(
        name: .customLong("pipeline-start-delay"),
        help: "Seconds after a schedule tick before its window's pipeline run starts (lets late uploads land).")
    var pipelineStartDelay = 120.0

    @Option(name: .customLong("pipeline-timeout"), help: "Seconds a pipeline run may take before it fails.")
    var pipelineTimeout = 300.0

    @Option(name: .customLong("pipeline-max-output"), help: "Most documents one pipeline run may produce.")
    var pipelineMaxOutput = 10_000

    @Option(name: .customLong("backfill-throttle"), help: "Seconds between backfill batches (of --backfill-batch windows).")
    var backfillThrottle = 120.0

    @Option(
        name: .customLong("backfill-batch"),
        help: "Windows per backfill batch, 1-1000 (10, as in Viam); with --backfill-throttle 0, a larger batch backfills history faster.")
    var backfillBatch = 10

    @Option(
        name: .customLong("pipeline-poll"),
        help: "Seconds between the scheduler's reads of pipeline definitions (changes by `ferry pipelines` show up this fast).")
    var pipelinePoll = 5.0

    @Option(
        name: .customLong("registry-dir"),
        help: "Also serve this module registry directory, on --registry-listen, with the server's TLS (plain HTTP with --insecure).")
    var registryDir: String?

    @Option(name: .customLong("registry-listen"), help: "Where --registry-dir is served: HOST:PORT (port 0: any free port, logged).")
    var registryListen = "127.0.0.1:8081"

    @Option(
        name: .customLong("pipeline-run-retention"),
        help: "Days finished pipeline runs stay in the run history (their results stay in the sink); 0 keeps them forever.")
    var pipelineRunRetention = 90.0

    @Option(
        name: .customLong("retention-interval"),
        help: "Seconds between enforcements of the capture methods' retention policies (which hosts' uploads carry).")
    var retentionInterval = 3600.0

    func validate() throws {
        for (flag, value) in [
            ("--pipeline-start-delay", pipelineStartDelay), ("--backfill-throttle", backfillThrottle),
        ] where value < 0 || !value.isFinite {
            throw ValidationError("\(flag) must be a number of seconds ≥ 0, not \(value)")
        }
        for (flag, value) in [("--pipeline-timeout", pipelineTimeout), ("--pipeline-poll", pipelinePoll), ("--retention-interval", retentionInterval)]
        where value <= 0 || !value.isFinite {
            throw ValidationError("\(flag) must be a number of seconds > 0, not \(value)")
        }
        guard pipelineRunRetention == 0 || (1.0 / 24...36_500).contains(pipelineRunRetention) else {
            throw ValidationError(
                "--pipeline-run-retention takes days from 0.0417 (one hour) to 36500, or 0 to keep runs forever; not \(pipelineRunRetention)")
        }
        if pipelineMaxOutput < 1 { throw ValidationError("--pipeline-max-output must be at least 1") }
        guard (1...1000).contains(backfillBatch) else {
            throw ValidationError("--backfill-batch takes 1 to 1000 windows, not \(backfillBatch)")
        }
        if (tlsCert == nil) != (tlsKey == nil) { throw ValidationError("--tls-cert and --tls-key go together") }
        if insecure, tlsCert != nil { throw ValidationError("--insecure and --tls-cert exclude each other") }
        guard ListenAddress(listen) != nil else {
            throw ValidationError("--listen takes \(ListenAddress.expected), not \(listen)")
        }
        if let mongoListen, ListenAddress(mongoListen) == nil {
            throw ValidationError("--mongo-listen takes \(ListenAddress.expected), not \(mongoListen)")
        }
        if let downloadListen, ListenAddress(downloadListen) == nil {
            throw ValidationError("--download-listen takes \(ListenAddress.expected), not \(downloadListen)")
        }
        if let uiListen, ListenAddress(uiListen) == nil {
            throw ValidationError("--ui-listen takes \(ListenAddress.expected), not \(uiListen)")
        }
        guard uiSessionHours > 0, uiSessionHours <= 24 * 30, uiSessionHours.isFinite else {
            throw ValidationError("--ui-session-hours takes hours from 0 to 720, not \(uiSessionHours)")
        }
        if let downloadURL {
            guard downloadListen != nil else { throw ValidationError("--download-url needs --download-listen") }
            guard let url = URLComponents(string: downloadURL), url.scheme == "https" || url.scheme == "http", url.host?.isEmpty == false,
                url.path.isEmpty || url.path == "/", url.query == nil
            else {
                throw ValidationError("--download-url takes the start of a URL, https://HOST[:PORT], not \(downloadURL)")
            }
        }
    }

    @OptionGroup var shutdown: ShutdownOptions

    @OptionGroup var logging: LogOptions

    func run() async throws {
        LogSetup.bootstrap(format: logging.logFormat, provider: TraceSetup.loggingMetadataProvider())
        let logger = Logger(label: "ferry.serve")
        // Signal handling first, so a signal during start-up still stops cleanly.
        let signals = ShutdownSignals(logger: logger)
        var storeOptions = StoreOptions()
        storeOptions.hotStorageHours = hotStorageHours
        let store = try await self.store.open(storeOptions)
        let plugins = PluginRegistry()
        let libraries =
            PluginDiscovery.builtinPlugins() + PluginDiscovery.pluginPathEntries(ProcessInfo.processInfo.environment["FERRY_PLUGIN_PATH"])
        var isolated: [IsolatedModule] = []
        if isolateAll {
            let executable = PluginDiscovery.ownExecutable()
            isolated = IsolatedModule.startEach(libraries: libraries, executable: executable, logger: logger)
        } else {
            plugins.load(paths: libraries)
        }
        defer { for module in isolated { module.shutDown() } }
        var configuration = DataServerStack.Configuration()
        let address = ListenAddress(listen)!  // checked by validate()
        configuration.server.host = address.host
        configuration.server.port = address.port
        if let tlsCert, let tlsKey {
            configuration.server.tls = (tlsCert, tlsKey)
        } else if !insecure {
            configuration.server.tls = try DataServer.selfSignedCertificate(
                in: self.store.data, listenHost: address.host, logger: logger)
        }
        configuration.pipelines = pipelineOptions
        configuration.retentionInterval = .seconds(retentionInterval)
        if let mongoListen, let mongoAddress = ListenAddress(mongoListen) {
            var mongo = MongoServer.Options()
            mongo.host = mongoAddress.host
            mongo.port = mongoAddress.port
            mongo.tls = configuration.server.tls
            configuration.mongo = mongo
        }
        if let downloadListen, let downloadAddress = ListenAddress(downloadListen) {
            var downloads = BinaryDownloadServer.Options()
            downloads.host = downloadAddress.host
            downloads.port = downloadAddress.port
            downloads.publicURL = downloadURL
            downloads.tls = configuration.server.tls
            configuration.downloads = downloads
        }
        let operators = try MQLOperatorRegistry(plugins: plugins, isolated: isolated)
        let stack = DataServerStack(store: store, operators: operators, configuration: configuration, logger: logger)
        if metricsListen != "off" {
            try await MetricsEndpoint.serve(metricsListen, logger: logger) {
                (signals.isStopping ? ["ferry serve is stopping"] : []) + (await stack.notReady())
            }
        }
        let registryServer = try registryServer(tls: configuration.server.tls, logger: logger)
        var services: [any Service] = [ClosureService { try await stack.run() }]
        if let registryServer {
            services.append(
                ClosureService {
                    // Module downloads are retried by the hosts; the registry stops at once.
                    do { try await cancelWhenGracefulShutdown(registryServer) } catch where Task.isShuttingDownGracefully || Task.isCancelled {}
                })
        }
        if let uiListen, let uiAddress = ListenAddress(uiListen) {
            var options = DashboardServer.Options()
            options.host = uiAddress.host
            options.port = uiAddress.port
            options.tls = configuration.server.tls
            options.sessionLifetime = .seconds(uiSessionHours * 3600)
            // Pipelines made or changed on the dashboard are planned at once, as over gRPC.
            options.pipelineChanged = { await stack.pipelineChanged() }
            // Stops with the rest: a graceful shutdown lets the pages being rendered finish.
            services.append(DashboardServer(store: store, operators: operators, options: options, logger: logger))
        }
        if let tracing = try TraceSetup.start(serviceName: "ferry-serve", logger: logger) { services.insert(tracing, at: 0) }
        try await signals.run(services, grace: shutdown.grace, logger: logger)
        logger.info("stopped")
    }
}

extension ServeCommand {
    var pipelineOptions: PipelineScheduler.Options {
        var options = PipelineScheduler.Options()
        options.startDelay = .seconds(pipelineStartDelay)
        options.executionTimeout = .seconds(pipelineTimeout)
        options.maxOutputDocuments = pipelineMaxOutput
        options.backfillThrottle = .seconds(backfillThrottle)
        options.backfillBatchSize = backfillBatch
        options.maxBatchWindows = max(options.maxBatchWindows, backfillBatch)
        options.pollInterval = .seconds(pipelinePoll)
        options.runRetention = pipelineRunRetention > 0 ? .seconds(pipelineRunRetention * 86_400) : nil
        return options
    }
}


extension MetricsEndpoint {
    /// `--metrics-listen ADDRESS`: serves the metrics there and logs where (the bound port, for port 0).
    /// `/readyz` answers with what `readiness` finds wrong.
    static func serve(_ listen: String, logger: Logger, readiness: @escaping ReadinessCheck) async throws {
        guard let address = ListenAddress(listen) else {
            throw Failure("--metrics-listen takes \(ListenAddress.expected), not \(listen)")
        }
        let port = try await MetricsEndpoint(readiness: readiness).start(host: address.host, port: address.port)
        logger.info("serving Prometheus metrics on http://\(address.host):\(port)/metrics (health: /healthz, /readyz)")
    }
}

struct OrgCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "org", abstract: "Manage organisations.", subcommands: [Create.self, List.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an organisation; prints its id alone.")
        @Argument var name: String
        @OptionGroup var store: StoreArguments
        func run() async throws {
            let org = try await store.open().createOrganization(name: name)
            print(org.id)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List organisations: id and name.")
        @OptionGroup var store: StoreArguments
        func run() async throws {
            for org in try await store.open().organizations() { print("\(org.id) \(org.name)") }
        }
    }
}

struct KeyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "key", abstract: "Manage API keys.", subcommands: [Create.self, List.self, Revoke.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List an organisation's keys: id, role, active|revoked, location, machine (- for none), name.")
        @OptionGroup var store: StoreArguments
        @Option(help: "The organisation id.") var org: String
        func run() async throws {
            for key in try await store.open().apiKeys(organizationID: org) {
                let location = key.scope.locationID.isEmpty ? "-" : key.scope.locationID
                let machine = key.scope.robotID.isEmpty ? "-" : key.scope.robotID
                print("\(key.id) \(key.role.rawValue) \(key.revokedAt == nil ? "active" : "revoked") \(location) \(machine) \(key.name)")
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke a key: new sign-ins fail at once, and tokens already issued stop working within 2 s.")
        @OptionGroup var store: StoreArguments
        @Option(help: "The organisation id.") var org: String
        @Argument(help: "The key id.") var id: String
        func run() async throws {
            guard try await store.open().revokeAPIKey(organizationID: org, id: id) else {
                throw Failure("organisation \(org) has no active key \(id) (see `ferry key list \(store.flag) --org \(org)`)")
            }
            print("revoked \(id)")
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create an API key; prints `<key-id> <key>` (the key is shown once; only its hash is stored).")
        @OptionGroup var store: StoreArguments
        @Option(help: "The organisation id.") var org: String
        @Option(help: "owner | operator | viewer") var role: String
        @Option(help: "A name to recognise the key by.") var name = ""
        @Option(help: "Bind the key to a location: its uploads carry this location_id.") var location = ""
        @Option(help: "Bind the key to a machine: its uploads carry this robot_id.") var machine = ""
        @Flag(help: "Print a JSON object instead.") var json = false

        func run() async throws {
            guard let role = APIKeyRole(rawValue: role) else {
                throw Failure("--role must be owner, operator or viewer, not \(role)")
            }
            let store = try await self.store.open()
            guard try await store.organization(id: org) != nil else {
                throw Failure("no organisation \(org) in \(self.store.location); create one with `ferry org create NAME \(self.store.flag)`")
            }
            for (flag, value) in [("--location", location), ("--machine", machine)]
            where value.count > 128 || value.contains(where: \.isWhitespace) {
                throw Failure("\(flag) must be an id without spaces of at most 128 characters, not \"\(value)\"")
            }
            let scope = MachineScope(locationID: location, robotID: machine)
            let key = try await store.createAPIKey(organizationID: org, role: role, name: name, scope: scope)
            if json {
                let object = [
                    "key_id": key.info.id, "key": key.secret, "organization_id": org, "role": role.rawValue,
                    "location_id": location, "robot_id": machine,
                ]
                let text = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
                print(String(decoding: text, as: UTF8.self))
            } else {
                print("\(key.info.id) \(key.secret)")
            }
        }
    }
}
