import Dispatch
import FerryBSON
import FerryLoader
import Foundation
import Logging
import Synchronization

/// What a collector knows about its own run, for status pages, tests and metrics.
public struct CollectorStats: Sendable, Equatable {
    public var captures = 0
    /// Ticks that passed while a slow capture call ran; skipped, never queued.
    public var skippedTicks = 0
    public var errors = 0
    public var lastError: String?
    /// How late each tick ran after its scheduled time.
    public var lateness = LatencyHistogram()
}

/// One (resource, method, additional_params): a timer on its own serial queue calls the capture
/// function, stamps `time_requested` before and `time_received` after, and hands the result to
/// its sink (a capture file writer). A call slower than the interval skips ticks and counts them.
public final class Collector: Sendable {
    public struct Key: Hashable, Sendable, CustomStringConvertible {
        public var component: String
        public var method: String
        /// Canonical Extended JSON of additional_params, so equal params give equal keys.
        public var parameters: String
        public init(component: String, method: String, parameters: BSONDocument) {
            self.component = component
            self.method = method
            self.parameters = parameters.isEmpty ? "" : parameters.extendedJSON(.canonical)
        }
        public var description: String { parameters.isEmpty ? "\(component)/\(method)" : "\(component)/\(method) \(parameters)" }
    }

    public typealias CaptureFunction = @Sendable () throws(PluginCallError) -> CapturedValue

    public let key: Key
    public let intervalNanos: UInt64
    let clock: any CaptureClock
    let queue: DispatchQueue
    let capture: CaptureFunction
    let sink: any ReadingSink
    let logger: Logger
    /// At most one error log line per this many nanoseconds per collector.
    let errorLogIntervalNanos: UInt64 = 5_000_000_000

    struct State {
        var timer: (any CaptureTimer)?
        var startNanos: UInt64 = 0
        var lastTick: UInt64?
        var lastErrorLog: UInt64?
        var suppressedErrors = 0
        var stats = CollectorStats()
    }
    let state = Mutex(State())

    public init(
        key: Key, frequencyHz: Double, clock: any CaptureClock, sink: any ReadingSink, logger: Logger,
        capture: @escaping CaptureFunction
    ) {
        precondition(frequencyHz > 0, "a collector needs a positive frequency")
        self.key = key
        self.intervalNanos = max(1, UInt64((1e9 / frequencyHz).rounded()))
        self.clock = clock
        self.queue = DispatchQueue(label: "ferry.collector.\(key)", qos: .userInitiated)
        self.capture = capture
        self.sink = sink
        self.logger = logger
    }

    public var stats: CollectorStats { state.withLock { $0.stats } }

    public func start() {
        state.withLock { $0.startNanos = clock.monotonicNanos() }
        let timer = clock.repeatingTimer(queue: queue, intervalNanos: intervalNanos) { [self] in tick() }
        state.withLock { $0.timer = timer }
    }

    /// Stops the timer, waits for a capture in progress, then closes the sink, so every reading
    /// taken is written and its file promoted to `.capture`.
    public func stop() {
        let timer = state.withLock { state in
            defer { state.timer = nil }
            return state.timer
        }
        timer?.cancel()
        queue.sync { sink.close() }
    }

    /// Finishes the sink's open file (Viam flushes collectors before each sync, so recent
    /// readings go up without waiting for a file to fill). Waits for a capture in progress.
    public func finishFile() {
        queue.sync { sink.finishFile() }
    }

    /// One timer fire, on `queue`.
    func tick() {
        let now = clock.monotonicNanos()
        let proceed = state.withLock { state -> Bool in
            let due = (now &- state.startNanos) / intervalNanos
            if let last = state.lastTick {
                guard due > last else { return false }  // an early or duplicate fire
                state.stats.skippedTicks += Int(due - last - 1)
            }
            state.lastTick = due
            state.stats.lateness.record(now &- (state.startNanos &+ due &* intervalNanos))
            return true
        }
        guard proceed else { return }
        let requested = clock.wallTime()
        let result = Result { () throws(PluginCallError) in try capture() }
        let received = clock.wallTime()
        switch result {
        case .success(let value):
            sink.write(value, timeRequested: requested, timeReceived: received)
            state.withLock { $0.stats.captures += 1 }
        case .failure(let error):
            recordError(error, now: now)
        }
    }

    private func recordError(_ error: PluginCallError, now: UInt64) {
        let suppressed = state.withLock { state -> Int? in
            state.stats.errors += 1
            state.stats.lastError = error.description
            if let last = state.lastErrorLog, now &- last < errorLogIntervalNanos {
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
public protocol ReadingSink: Sendable {
    /// Called on the collector's queue, one reading at a time.
    func write(_ value: CapturedValue, timeRequested: Date, timeReceived: Date)
    /// Flushes and closes; called on the collector's queue after the last write.
    func close()
    /// Finishes the open file so it can be synced; the next reading starts a new one. Called on
    /// the collector's queue.
    func finishFile()
}

extension ReadingSink {
    public func finishFile() {}
}
