import ArgumentParser
import Dispatch
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// SIGTERM and SIGINT for `ferry run` and `ferry serve`: the first asks the service group to stop
/// gracefully (within the grace period, then its services are cancelled), a second exits at once.
/// Made first thing in a command, so a signal during start-up is not lost: the group stops as soon
/// as it runs.
final class ShutdownSignals: @unchecked Sendable {
    // @unchecked: `state` is behind its mutex; `sources` is written in init and then only kept alive.
    private let state = Mutex<(signals: Int, group: ServiceGroup?)>((0, nil))
    private var sources: [any DispatchSourceSignal] = []
    private let logger: Logger

    init(logger: Logger) {
        self.logger = logger
        let queue = DispatchQueue(label: "ferry.signals")
        for (number, name) in [(SIGTERM, "SIGTERM"), (SIGINT, "SIGINT")] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler { [self] in received(number, name) }
            source.resume()
            sources.append(source)
        }
    }

    /// True once a signal asked to stop: `/readyz` then says so, and load balancers move away.
    var isStopping: Bool { state.withLock { $0.signals > 0 } }

    private func received(_ number: Int32, _ name: String) {
        let (count, group) = state.withLock { state in
            state.signals += 1
            return (state.signals, state.group)
        }
        guard count == 1 else {
            logger.warning("\(name) again: exiting at once")
            _exit(128 + number)
        }
        logger.notice("\(name): stopping gracefully; send it again to exit at once")
        if let group { Task { await group.triggerGracefulShutdown() } }
    }

    /// Runs `services` until they end or a signal stops them: in order they start, in reverse they
    /// stop, each given the rest of `grace` to finish what it has in flight before it is cancelled.
    func run(_ services: [any Service], grace: Duration, logger: Logger) async throws {
        var configuration = ServiceGroupConfiguration(services: services.map { .init(service: $0) }, logger: logger)
        configuration.maximumGracefulShutdownDuration = grace
        // A service that ignores cancellation too: ServiceLifecycle ends the process after this.
        configuration.maximumCancellationDuration = .seconds(10)
        let group = ServiceGroup(configuration: configuration)
        let signalled = state.withLock { state in
            state.group = group
            return state.signals > 0
        }
        if signalled { await group.triggerGracefulShutdown() }
        try await group.run()
    }
}

/// `--shutdown-grace SECONDS`, shared by `ferry run` and `ferry serve`.
struct ShutdownOptions: ParsableArguments {
    @Option(
        name: .customLong("shutdown-grace"),
        help: "Seconds a SIGTERM/SIGINT gives uploads, API calls and pipeline runs in flight to finish before they are cut.")
    var shutdownGrace: Double = 20

    func validate() throws {
        guard shutdownGrace >= 0, shutdownGrace <= 3600 else {
            throw ValidationError("--shutdown-grace takes seconds from 0 to 3600, not \(shutdownGrace)")
        }
    }

    var grace: Duration { .milliseconds(Int64(shutdownGrace * 1000)) }
}
