import Dispatch
import FerryBSON
import FerryClock
import FerryLoader
import Foundation
import Logging
import Synchronization

/// What a collector knows about its own run, for status pages, tests and metrics.
package struct CollectorStats: Sendable, Equatable {
    package var captures = 0
    /// Ticks that passed while a slow capture call ran; skipped, never queued.
    package var skippedTicks = 0
    package var errors = 0
    package var lastError: String?
    /// How late each tick ran after its scheduled time.
    package var lateness = LatencyHistogram()
}

/// One (resource, method, additional_params): a timer on its own serial queue calls the capture
/// function, stamps `time_requested` before and `time_received` after, and hands the result to
/// its sink (a capture file writer). A call slower than the interval skips ticks and counts them.
package final class Collector: Sendable {
    package struct Key: Hashable, Sendable, CustomStringConvertible {
        package var component: String
        package var method: String
        /// Canonical Extended JSON of additional_params, so equal params give equal keys.
        package var parameters: String
        package init(component: String, method: String, parameters: BSONDocument) {
            self.component = component
            self.method = method
            self.parameters = parameters.isEmpty ? "" : parameters.extendedJSON(.canonical)
        }
        package var description: String { parameters.isEmpty ? "\(component)/\(method)" : "\(component)/\(method) \(parameters)" }
    }

    package typealias CaptureFunction = @Sendable () throws(PluginCallError) -> CapturedValue

    package let key: Key
    package let interval: Duration
    let clock: any FerryClock
    let queue: DispatchQueue
    let capture: CaptureFunction
    let sink: any ReadingSink
    let logger: Logger
    /// At most one error log line per this long per collector.
    let errorLogInterval: Duration = .seconds(5)

    struct State {
        var timer: (any RepeatingTimer)?
        var start: Duration = .zero
        var lastTick: Int64?
        var lastErrorLog: Duration?
        var suppressedErrors = 0
        var stats = CollectorStats()
    }
    let state = Mutex(State())

    package init(
        key: Key, frequencyHz: Double, clock: any FerryClock, sink: any ReadingSink, logger: Logger,
        capture: @escaping CaptureFunction
    ) {
        precondition(frequencyHz > 0, "a collector needs a positive frequency")
        self.key = key
        self.interval = .nanoseconds(max(1, Int64((1e9 / frequencyHz).rounded())))
        self.clock = clock
        self.queue = DispatchQueue(label: "ferry.collector.\(key)", qos: .userInitiated)
        self.capture = capture
        self.sink = sink
        self.logger = logger
    }

    package var stats: CollectorStats { state.withLock { $0.stats } }

    package func start() {
        state.withLock { $0.start = clock.uptime() }
        let timer = clock.repeatingTimer(queue: queue, every: interval) { [self] in tick() }
        state.withLock { $0.timer = timer }
    }

    /// Stops the timer, waits for a capture in progress, then closes the sink, so every reading
    /// taken is written and its file promoted to `.capture`.
    package func stop() {
        let timer = state.withLock { state in
            defer { state.timer = nil }
            return state.timer
        }
        timer?.cancel()
        queue.sync { sink.close() }
    }

    /// Finishes the sink's open file (Viam flushes collectors before each sync, so recent
    /// readings go up without waiting for a file to fill). Waits for a capture in progress.
    package func finishFile() {
        queue.sync { sink.finishFile() }
    }

    /// One timer fire, on `queue`.
    func tick() {
        let now = clock.uptime()
        let proceed = state.withLock { state -> Bool in
            let due = (now - state.start).inNanoseconds / interval.inNanoseconds
            if let last = state.lastTick {
                guard due > last else { return false }  // an early or duplicate fire
                state.stats.skippedTicks += Int(due - last - 1)
            }
            state.lastTick = due
            state.stats.lateness.record(now - (state.start + interval * due))
            return true
        }
        guard proceed else { return }
        let requested = clock.now()
        let result = Result { () throws(PluginCallError) in try capture() }
        let received = clock.now()
        switch result {
        case .success(let value):
            sink.write(value, timeRequested: requested, timeReceived: received)
            state.withLock { $0.stats.captures += 1 }
        case .failure(let error):
            recordError(error, now: now)
        }
    }

    private func recordError(_ error: PluginCallError, now: Duration) {
        let suppressed = state.withLock { state -> Int? in
            state.stats.errors += 1
            state.stats.lastError = error.description
            if let last = state.lastErrorLog, now - last < errorLogInterval {
                state.suppressedErrors += 1
                return nil
            }
            state.lastErrorLog = now
            defer { state.suppressedErrors = 0 }
            return state.suppressedErrors
        }
        guard let suppressed else { return }
        let more = suppressed > 0 ? " (\(suppressed) more errors since the last report)" : ""
        logger.warning("collector \(key): \(error)\(more)")
    }
}

/// Where a collector's readings go: a capture file writer, or a test's recorder.
package protocol ReadingSink: Sendable {
    /// Called on the collector's queue, one reading at a time.
    func write(_ value: CapturedValue, timeRequested: Date, timeReceived: Date)
    /// Flushes and closes; called on the collector's queue after the last write.
    func close()
    /// Finishes the open file so it can be synced; the next reading starts a new one. Called on
    /// the collector's queue.
    func finishFile()
}

extension ReadingSink {
    package func finishFile() {}
}
