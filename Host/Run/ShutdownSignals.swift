import ArgumentParser
import CFerrySignals
import FerrySystem
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// SIGTERM and SIGINT for `ferry run` and `ferry serve`: the first asks the service group to stop
/// gracefully (within the grace period, then its services are cancelled), a second exits at once.
/// Made first thing in a command, so a signal during start-up is not lost: the group stops as soon
/// as it runs.
///
/// The signals arrive as bytes on a pipe (`ferry_signals_route_to_pipe`: a handler on whichever
/// thread takes them) that a thread of its own reads, so a stop request depends on no queue,
/// pool or event loop of the process being free.
package final class ShutdownSignals: Sendable {
    private let state = Mutex<(signals: Int, group: ServiceGroup?)>((0, nil))
    private let logger: Logger
    private static let names: [Int32: String] = [SIGTERM: "SIGTERM", SIGINT: "SIGINT"]

    package init(logger: Logger) {
        self.logger = logger
        let numbers = Array(Self.names.keys)
        let readEnd = ferry_signals_route_to_pipe(numbers, Int32(numbers.count))
        guard readEnd >= 0 else {
            // The signals keep their default action: the process ends at once, and the next
            // start recovers its capture files.
            logger.error("cannot catch SIGTERM/SIGINT (\(String(cString: strerror(errno)))): they end the process at once")
            return
        }
        OSThread.detach(name: "ferry.signals") { [self] in
            // This thread takes the signals when every other one blocks them (dispatch's do).
            var mask = sigset_t()
            sigemptyset(&mask)
            for number in numbers { sigaddset(&mask, number) }
            pthread_sigmask(SIG_UNBLOCK, &mask, nil)
            var byte: UInt8 = 0
            while true {
                let count = read(readEnd, &byte, 1)
                if count == 1 {
                    received(Int32(byte))
                } else if count < 0, errno == EINTR {
                    continue
                } else {
                    logger.error("reading signals stopped (\(String(cString: strerror(errno)))); SIGTERM/SIGINT are no longer seen")
                    return
                }
            }
        }
    }

    /// True once a signal asked to stop: `/readyz` then says so, and load balancers move away.
    package var isStopping: Bool { state.withLock { $0.signals > 0 } }

    private func received(_ number: Int32) {
        let name = Self.names[number] ?? "signal \(number)"
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
    package func run(_ services: [any Service], grace: Duration, logger: Logger) async throws {
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
package struct ShutdownOptions: ParsableArguments {
    @Option(
        name: .customLong("shutdown-grace"),
        help: "Seconds a SIGTERM/SIGINT gives uploads, API calls and pipeline runs in flight to finish before they are cut.")
    package var shutdownGrace: Double = 20

    package init() {}

    package func validate() throws {
        guard shutdownGrace >= 0, shutdownGrace <= 3600 else {
            throw ValidationError("--shutdown-grace takes seconds from 0 to 3600, not \(shutdownGrace)")
        }
    }

    package var grace: Duration { .milliseconds(Int64(shutdownGrace * 1000)) }
}
