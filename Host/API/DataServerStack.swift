import FerryMQL
import FerryMongoServer
import FerryPipelines
import FerryStore
import Foundation
import Logging

/// The data server with everything that runs beside it, assembled once for `ferry serve` and for
/// the server `ferry run` embeds: start-up cleanup of the store, the gRPC API, the pipeline
/// scheduler (woken when a pipeline changes over gRPC), hot-storage pruning, and the MongoDB
/// endpoint when asked for. `run` serves until its task is cancelled, so the stack can be one
/// service of a service group.
public struct DataServerStack: Sendable {
    public struct Configuration: Sendable {
        public var server = DataServer.Options()
        public var pipelines = PipelineScheduler.Options()
        /// How often hot storage drops what aged out of its window.
        public var hotStoragePruneInterval: Duration = .seconds(60)
        /// The MongoDB wire-protocol endpoint (`ferry serve --mongo-listen`); nil: off.
        public var mongo: MongoServer.Options?

        public init() {}
    }

    public let store: any DataStore
    let operators: MQLOperatorRegistry
    let configuration: Configuration
    let logger: Logger

    public init(
        store: any DataStore, operators: MQLOperatorRegistry, configuration: Configuration,
        logger: Logger = Logger(label: "ferry.serve")
    ) {
        self.store = store
        self.operators = operators
        self.configuration = configuration
        self.logger = logger
    }

    /// Serves until cancelled. `onListening` gets the bound gRPC port (useful with port 0).
    public func run(onListening: @escaping @Sendable (Int) -> Void = { _ in }) async throws {
        _ = try await store.removeOrphanedBinaries()
        let scheduler = PipelineScheduler(store: store, operators: operators, options: configuration.pipelines)
        let server = DataServer(
            store: store, operators: operators, options: configuration.server, logger: logger,
            pipelineChanged: { await scheduler.wake() })
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { try await server.run(onListening: onListening) }
            if let mongo = configuration.mongo {
                group.addTask { [store, operators, logger] in
                    try await MongoServer(store: store, operators: operators, options: mongo, logger: logger).run()
                }
            }
            // Pipelines made by `ferry pipelines …` (another process) are seen at the scheduler's next
            // poll, or at once where the store reports changes (PostgreSQL: other replicas' too).
            group.addTask { await scheduler.run() }
            group.addTask { [store] in await store.followPipelineChanges { await scheduler.wake() } }
            group.addTask { [store, logger, interval = configuration.hotStoragePruneInterval] in
                // Hot storage is a rolling window: drop what aged out, for as long as the server serves.
                while !Task.isCancelled {
                    do {
                        _ = try await store.pruneHotStorage(now: Date())
                    } catch {
                        logger.warning("pruning hot storage failed (will retry): \(error)")
                    }
                    try await Task.sleep(for: interval)
                }
            }
        }
    }
}
