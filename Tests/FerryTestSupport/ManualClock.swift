import Dispatch
import FerryClock
import Foundation
import Synchronization

/// A clock that only moves when told to. `advance` fires every due timer once (coalescing missed
/// fires, as Dispatch does), synchronously on the timer's queue, so a test observes each tick's
/// effect as soon as `advance` returns; it also wakes every `sleep` that came due. A capture that
/// advances the clock from inside a tick simulates a slow call: the time moves, and the next
/// `advance` sees the ticks it skipped.
public final class ManualClock: FerryClock, @unchecked Sendable {
    // @unchecked: all mutable state is behind `state`; handlers and continuations run outside the lock.
    struct Timer {
        let queue: DispatchQueue
        let interval: Duration
        var nextFire: Duration
        let handler: @Sendable () -> Void
    }
    struct Sleeper {
        let deadline: Duration
        let continuation: CheckedContinuation<Void, Never>
    }
    struct State {
        var uptime: Duration
        var wallOrigin: Date
        var timers: [Int: Timer] = [:]
        var sleepers: [Int: Sleeper] = [:]
        var nextID = 0
        var firing = false
    }
    private let state: Mutex<State>

    /// Starts at `now` on the wall clock (2026-01-01T00:00:01Z unless told) with `uptime` on the monotonic one.
    public init(now: Date = Date(timeIntervalSince1970: 1_767_225_601), uptime: Duration = .seconds(1)) {
        state = Mutex(State(uptime: uptime, wallOrigin: now.adding(.zero - uptime)))
    }

    public func now() -> Date { state.withLock { $0.wallOrigin.adding($0.uptime) } }

    public func uptime() -> Duration { state.withLock { $0.uptime } }

    public func sleep(for duration: Duration) async {
        guard duration > .zero else { return await Task.yield() }
        let id = state.withLock { state in
            defer { state.nextID += 1 }
            return state.nextID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let resumeNow = state.withLock { state -> Bool in
                    if Task.isCancelled { return true }
                    state.sleepers[id] = Sleeper(deadline: state.uptime + duration, continuation: continuation)
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.sleepers.removeValue(forKey: id) }?.continuation.resume()
        }
    }

    public func repeatingTimer(queue: DispatchQueue, every interval: Duration, handler: @escaping @Sendable () -> Void) -> any RepeatingTimer {
        let id = state.withLock { state in
            defer { state.nextID += 1 }
            state.timers[state.nextID] = Timer(queue: queue, interval: max(interval, .nanoseconds(1)), nextFire: state.uptime, handler: handler)
            return state.nextID
        }
        fireDue()
        return ManualTimer(clock: self, id: id)
    }

    /// Moves time forward and fires what became due (unless called from inside a firing handler).
    public func advance(by duration: Duration) {
        precondition(duration >= .zero, "a manual clock only moves forward")
        let nested = state.withLock { state in
            state.uptime += duration
            return state.firing
        }
        if !nested { fireDue() }
    }

    /// Moves time forward to `date` on the wall clock.
    public func advance(to date: Date) {
        let now = now()
        precondition(date >= now, "a manual clock only moves forward (asked to go from \(now) to \(date))")
        advance(by: .nanoseconds(Int64((date.timeIntervalSince(now) * 1e9).rounded())))
    }

    func cancel(id: Int) { state.withLock { _ = $0.timers.removeValue(forKey: id) } }

    private func fireDue() {
        let (due, woken, owner): ([Timer], [Sleeper], Bool) = state.withLock { state in
            let wokenIDs = state.sleepers.filter { $0.value.deadline <= state.uptime }.map(\.key)
            let woken = wokenIDs.compactMap { state.sleepers.removeValue(forKey: $0) }
            guard !state.firing else { return ([], woken, false) }
            state.firing = true
            var due: [(Int, Timer)] = []
            for (id, var timer) in state.timers where timer.nextFire <= state.uptime {
                due.append((id, timer))
                // Coalesce: the next fire is the first multiple of the interval after now.
                let behind = (state.uptime - timer.nextFire).inNanoseconds / timer.interval.inNanoseconds + 1
                timer.nextFire += timer.interval * behind
                state.timers[id] = timer
            }
            return (due.sorted { $0.0 < $1.0 }.map(\.1), woken, true)
        }
        for sleeper in woken { sleeper.continuation.resume() }
        guard owner else { return }
        for timer in due { timer.queue.sync(execute: timer.handler) }
        state.withLock { $0.firing = false }
    }

    struct ManualTimer: RepeatingTimer {
        let clock: ManualClock
        let id: Int
        func cancel() { clock.cancel(id: id) }
    }
}
