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

/// One (resource, method, additional_params): its scheduler calls the capture function at every
/// tick of its interval, stamps `time_requested` before and `time_received` after, and hands the
/// result to its sink (a capture file writer). A call slower than the interval skips ticks and
/// counts them; ticks never queue up behind a slow call.
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
    let scheduler: CaptureScheduler
    /// Where ticks run once the collector is marked slow, one at a time.
    let queue: DispatchQueue
    let capture: CaptureFunction
    let sink: any ReadingSink
    let logger: Logger
    /// At most one error log line per this long per collector.
    let errorLogInterval: Duration = .seconds(5)
    /// A slow collector returns to its lane after this many calls in a row within `fastCall`.
    let fastStreakToRecover = 1000
    let fastCall: Duration = .milliseconds(1)

    struct State {
        var start: Duration = .zero
        var started = false
        var stopped = false
        /// Ticks go to `queue` instead of running on the lane (the watchdog saw a call stall).
        var slow = false
        /// A tick is queued or running on `queue`.
        var queued = false
        var fastStreak = 0
        var lastTick: Int64?
        var lastErrorLog: Duration?
        var suppressedErrors = 0
        var stats = CollectorStats()
    }
    let state = Mutex(State())
    /// Held for a whole tick, and by `stop` around closing the sink: a lane thread and the
    /// collector's queue never run two ticks at once, and no tick writes after the close.
    let tickLock = Mutex(())

    /// `scheduler` nil: the host's shared scheduler on the system clock, a private one otherwise.
    package init(
        key: Key, frequencyHz: Double, clock: any FerryClock, sink: any ReadingSink, logger: Logger,
        scheduler: CaptureScheduler? = nil, capture: @escaping CaptureFunction
    ) {
        precondition(frequencyHz > 0, "a collector needs a positive frequency")
        self.key = key
        self.interval = .nanoseconds(max(1, Int64((1e9 / frequencyHz).rounded())))
        self.clock = clock
        self.scheduler = scheduler ?? (clock is SystemClock ? .shared : CaptureScheduler(clock: clock, lanes: 1))
        self.queue = DispatchQueue(label: "ferry.collector.\(key)", qos: .userInitiated)
        self.capture = capture
        self.sink = sink
        self.logger = logger
    }

    package var stats: CollectorStats { state.withLock { $0.stats } }

    /// Whether ticks currently run on the collector's own queue (after a stalled call).
    package var isSlow: Bool { state.withLock { $0.slow } }

    package func start() {
        let start = clock.uptime() + scheduler.phase(for: interval)
        let fresh = state.withLock { state -> Bool in
            guard !state.started else { return false }
            state.started = true
            state.start = start
            return true
        }
        if fresh {
            sink.prepare()
            scheduler.add(self, firstDeadline: start)
        }
    }

    /// Stops the ticks, waits for a capture in progress, then closes the sink, so every reading
    /// taken is written and its file promoted to `.capture`.
    package func stop() {
        state.withLock { $0.stopped = true }
        tickLock.withLock { _ in sink.close() }
    }

    /// Finishes the sink's open file (Viam flushes collectors before each sync, so recent
    /// readings go up without waiting for a file to fill). Does not wait for a capture in
    /// progress: the sink synchronizes itself, and that reading goes into the next file.
    package func finishFile() {
        sink.finishFile()
    }

    /// Called by the scheduler at a deadline: runs the tick in place, or hands it to the
    /// collector's queue when it is slow, unless a queued tick is still running (then this one is
    /// skipped, and counted by the next). Returns the next deadline, nil once stopped.
    func fire() -> Duration? {
        let (stopped, toQueue, start) = state.withLock { state -> (Bool, Bool?, Duration) in
            guard state.slow else { return (state.stopped, false, state.start) }
            if state.queued { return (state.stopped, nil, state.start) }
            state.queued = !state.stopped
            return (state.stopped, true, state.start)
        }
        if stopped { return nil }
        switch toQueue {
        case false?: runTick()
        case true?: queue.async { [self] in runQueuedTick() }
        case nil: break
        }
        return CaptureScheduler.nextDeadline(after: clock.uptime(), start: start, interval: interval)
    }

    /// The watchdog saw a call of this collector hold its lane: later ticks run on `queue`.
    func markSlow() {
        state.withLock { state in
            state.slow = true
            state.fastStreak = 0
        }
    }

    private func runQueuedTick() {
        let began = clock.uptime()
        runTick()
        let took = clock.uptime() - began
        state.withLock { state in
            state.queued = false
            state.fastStreak = took < fastCall ? state.fastStreak + 1 : 0
            if state.fastStreak >= fastStreakToRecover {
                state.slow = false
                state.fastStreak = 0
            }
        }
    }

    private func runTick() {
        tickLock.withLock { _ in tick() }
    }

    /// One tick (under `tickLock`).
    func tick() {
        let now = clock.uptime()
        let proceed = state.withLock { state -> Bool in
            guard !state.stopped else { return false }
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
    /// Called from the collector's ticks, one reading at a time.
    func write(_ value: CapturedValue, timeRequested: Date, timeReceived: Date)
    /// Flushes and closes; called after the last write.
    func close()
    /// Finishes the open file so it can be synced; the next reading starts a new one. Called from
    /// any thread, possibly during a write: the sink synchronizes itself.
    func finishFile()
    /// Called once as the collector starts, on the starting thread: what the first write would
    /// otherwise do on a capture lane (making directories), so that a thousand collectors started
    /// together do not hold up each other's first ticks.
    func prepare()
}

extension ReadingSink {
    package func finishFile() {}
    package func prepare() {}
}
