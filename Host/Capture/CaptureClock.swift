import Dispatch
import Foundation
import Synchronization

/// The time seam of capture: schedules and timestamps come from here, so tests drive collectors
/// with a manual clock instead of sleeping.
public protocol CaptureClock: Sendable {
    /// Monotonic nanoseconds, for schedules.
    func monotonicNanos() -> UInt64
    /// Wall-clock time, for `time_requested` / `time_received` and file names.
    func wallTime() -> Date
    /// Calls `handler` on `queue` every `intervalNanos`, starting now. If a call runs long, missed
    /// fires coalesce into one (the collector counts what it skipped).
    func repeatingTimer(queue: DispatchQueue, intervalNanos: UInt64, handler: @escaping @Sendable () -> Void) -> any CaptureTimer
}

public protocol CaptureTimer: Sendable {
    func cancel()
}

/// Real time: Dispatch timers with strict scheduling, so kHz collectors hold their rate.
public struct SystemCaptureClock: CaptureClock {
    public init() {}
    public func monotonicNanos() -> UInt64 { DispatchTime.now().uptimeNanoseconds }
    public func wallTime() -> Date { Date() }

    public func repeatingTimer(queue: DispatchQueue, intervalNanos: UInt64, handler: @escaping @Sendable () -> Void) -> any CaptureTimer {
        let timer = DispatchSource.makeTimerSource(flags: .strict, queue: queue)
        // Leeway of 1% of the interval lets the kernel batch wake-ups without moving ticks much.
        timer.schedule(
            deadline: .now(), repeating: .nanoseconds(Int(intervalNanos)),
            leeway: .nanoseconds(Int(max(intervalNanos / 100, 1000))))
        timer.setEventHandler(handler: handler)
        timer.resume()
        return DispatchCaptureTimer(source: timer)
    }
}

struct DispatchCaptureTimer: CaptureTimer, @unchecked Sendable {
    // @unchecked: DispatchSource is thread-safe; cancel may be called from any thread.
    let source: DispatchSourceTimer
    func cancel() { source.cancel() }
}

/// A clock that only moves when told to. `advance` fires every due timer once (coalescing missed
/// fires, as Dispatch does), synchronously on the timer's queue, so a test observes each tick's
/// effect as soon as `advance` returns. A capture that advances the clock from inside a tick
/// simulates a slow call: the time moves, and the next `advance` sees the ticks it skipped.
public final class ManualCaptureClock: CaptureClock, @unchecked Sendable {
    // @unchecked: all mutable state is behind `state`; handlers run outside the lock.
    struct Timer {
        let id: Int
        let queue: DispatchQueue
        let interval: UInt64
        var nextFire: UInt64
        let handler: @Sendable () -> Void
    }
    struct State {
        var now: UInt64
        var wallOrigin: Date
        var timers: [Int: Timer] = [:]
        var nextID = 0
        var firing = false
    }
    private let state: Mutex<State>

    public init(startNanos: UInt64 = 1_000_000_000, wallOrigin: Date = Date(timeIntervalSince1970: 1_767_225_600)) {
        state = Mutex(State(now: startNanos, wallOrigin: wallOrigin))
    }

    public func monotonicNanos() -> UInt64 { state.withLock { $0.now } }

    public func wallTime() -> Date {
        state.withLock { $0.wallOrigin.addingTimeInterval(Double($0.now) / 1e9) }
    }

    public func repeatingTimer(queue: DispatchQueue, intervalNanos: UInt64, handler: @escaping @Sendable () -> Void) -> any CaptureTimer {
        let id = state.withLock { state in
            let id = state.nextID
            state.nextID += 1
            state.timers[id] = Timer(id: id, queue: queue, interval: intervalNanos, nextFire: state.now, handler: handler)
            return id
        }
        fireDueTimers()
        return ManualTimer(clock: self, id: id)
    }

    /// Moves time forward and fires what became due (unless called from inside a firing handler).
    public func advance(byNanos nanos: UInt64) {
        let nested = state.withLock { state in
            state.now += nanos
            return state.firing
        }
        if !nested { fireDueTimers() }
    }

    public func advance(bySeconds seconds: Double) { advance(byNanos: UInt64(seconds * 1e9)) }

    func cancel(id: Int) { state.withLock { _ = $0.timers.removeValue(forKey: id) } }

    private func fireDueTimers() {
        let due: [Timer] = state.withLock { state in
            guard !state.firing else { return [] }
            state.firing = true
            var due: [Timer] = []
            for (id, var timer) in state.timers where timer.nextFire <= state.now {
                due.append(timer)
                // Coalesce: the next fire is the first multiple of the interval after now.
                let behind = (state.now - timer.nextFire) / timer.interval + 1
                timer.nextFire += behind * timer.interval
                state.timers[id] = timer
            }
            return due.sorted { $0.id < $1.id }
        }
        for timer in due { timer.queue.sync(execute: timer.handler) }
        state.withLock { $0.firing = false }
    }

    struct ManualTimer: CaptureTimer {
        let clock: ManualCaptureClock
        let id: Int
        func cancel() { clock.cancel(id: id) }
    }
}
