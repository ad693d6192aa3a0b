import FerryClock
import FerryMQL
import FerryMongoServer
import FerryPipelines
import FerryStore
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// The data server with everything that runs beside it, assembled once for `ferry serve` and for
/// the server `ferry run` embeds: start-up cleanup of the store, the gRPC API, the pipeline
/// scheduler (woken when a pipeline changes over gRPC), hot-storage pruning and the store-size gauge, retention
/// enforcement, and the MongoDB
/// endpoint and the signed-download listener when asked for. It is one service of `ferry serve`'s and `ferry run`'s service group.
public struct DataServerStack: Sendable {
    public struct Configuration: Sendable {
        public var server = DataServer.Options()
        public var pipelines = PipelineScheduler.Options()
        /// How often hot storage drops what aged out of its window.
        public var hotStoragePruneInterval: Duration = .seconds(60)
        /// The MongoDB wire-protocol endpoint (`ferry serve --mongo-listen`); nil: off.
        public var mongo: MongoServer.Options?
        /// The listener of signed binary-download URLs (`ferry serve --download-listen`); nil: off.
        public var downloads: BinaryDownloadServer.Options?
        /// How often retention policies are enforced (`ferry serve --retention-interval`).
        public var retentionInterval: Duration = .seconds(3600)
        /// The time retention policies are enforced on (tests pass a manual clock).
        public var clock: any FerryClock = SystemClock()

        public init() {}
    }

    public let store: any DataStore
    let operators: MQLOperatorRegistry
    let configuration: Configuration
    let logger: Logger
    /// Set once the gRPC API has bound its port, for `notReady`.
    private let listening = ListeningFlag()
    /// The running scheduler, for `pipelineChanged()`.
    private let scheduler = SchedulerSlot()

    public init(
        store: any DataStore, operators: MQLOperatorRegistry, configuration: Configuration,
        logger: Logger = Logger(label: "ferry.serve")
    ) {
        self.store = store
        self.operators = operators
        self.configuration = configuration
        self.logger = logger
    }

    /// Serves until cancelled, or until a graceful shutdown (a service group's, on SIGTERM) has
    /// let the calls and pipeline runs in flight finish and the scheduler hand back its lease.
    /// `onListening` gets the bound gRPC port (useful with port 0).
    public func run(onListening: @escaping @Sendable (Int) -> Void = { _ in }) async throws {
        _ = try await store.removeOrphanedBinaries()
        let scheduler = PipelineScheduler(store: store, operators: operators, options: configuration.pipelines)
        self.scheduler.value.withLock { $0 = scheduler }
        var server = DataServer(
            store: store, operators: operators, options: configuration.server, logger: logger,
            pipelineChanged: { await scheduler.wake() })
        let downloadServer = configuration.downloads.map { options in
            let endpoint = DownloadEndpoint()
            server.downloads = endpoint
            return BinaryDownloadServer(store: store, options: options, endpoint: endpoint, logger: logger)
        }
        let dataServer = server
        // Chores that only serve the rest end when it has stopped.
        try await withThrowingDiscardingTaskGroup { chores in
            // Pipelines made by `ferry pipelines …` (another process) are seen at the scheduler's next
            // poll, or at once where the store reports changes (PostgreSQL: other replicas' too).
            chores.addTask { [store] in await store.followPipelineChanges { await scheduler.wake() } }
            chores.addTask { [store, logger, interval = configuration.hotStoragePruneInterval] in
                // Hot storage is a rolling window: drop what aged out, for as long as the server
                // serves; then measure what the store takes.
                while !Task.isCancelled {
                    do {
                        _ = try await store.pruneHotStorage(now: Date())
                    } catch {
                        logger.warning("pruning hot storage failed (will retry): \(error)")
                    }
                    if let bytes = try? await store.storageBytes() { ServerMetrics.storeSize(bytes) }
                    do { try await Task.sleep(for: interval) } catch { return }  // cancelled: the server stopped
                }
            }
            chores.addTask { [store, logger, configuration] in
                // Retention deletes what the uploads' policies no longer keep, for as long as the server serves.
                await RetentionEnforcer(store: store, clock: configuration.clock, interval: configuration.retentionInterval, logger: logger).run()
            }
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask { [listening] in
                    try await dataServer.run { port in
                        listening.value.store(true, ordering: .releasing)
                        onListening(port)
                    }
                }
                if let mongo = configuration.mongo {
                    group.addTask { [store, operators, logger] in
                        // MongoDB clients reconnect; its connections are closed rather than drained.
                        do {
                            try await cancelWhenGracefulShutdown {
                                try await ListenFailure.run(service: "the MongoDB endpoint", host: mongo.host, port: mongo.port) { listening in
                                    try await MongoServer(store: store, operators: operators, options: mongo, logger: logger).run { _ in listening() }
                                }
                            }
                        } catch where Task.isShuttingDownGracefully || Task.isCancelled {}
                    }
                }
                if let downloadServer {
                    group.addTask {
                        // A download is retried by its client; the listener stops at once.
                        do {
                            try await cancelWhenGracefulShutdown { try await downloadServer.run() }
                        } catch where Task.isShuttingDownGracefully || Task.isCancelled {}
                    }
                }
                group.addTask {
                    await withGracefulShutdownHandler { await scheduler.run() } onGracefulShutdown: { Task { await scheduler.stop() } }
                }
                group.addTask { [logger] in
                    guard (try? await gracefulShutdown()) != nil else { return }
                    logger.notice("stopping the data server: no new calls; the calls and pipeline runs in flight may finish")
                }
            }
            chores.cancelAll()
        }
        logger.info("data server stopped")
    }
}

extension DataServerStack {
    /// Wakes the pipeline scheduler after a pipeline changed outside the gRPC API (the web
    /// dashboard), so it plans at once instead of at its next poll. Nothing before `run()` started it.
    public func pipelineChanged() async {
        await scheduler.value.withLock { $0 }?.wake()
    }

    /// What keeps the server from serving now (for `/readyz`): the gRPC API not listening yet, or
    /// the store not answering. Empty when ready.
    public func notReady() async -> [String] {
        var problems: [String] = []
        if !listening.value.load(ordering: .acquiring) { problems.append("the gRPC API is not listening yet") }
        do {
            _ = try await store.organizations()
        } catch {
            problems.append("the store does not answer: \(error)")
        }
        return problems
    }
}

private final class ListeningFlag: Sendable {
    let value = Atomic(false)
}

private final class SchedulerSlot: Sendable {
    let value = Mutex<PipelineScheduler?>(nil)
}
