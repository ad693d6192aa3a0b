import Dispatch
import Foundation

/// The one time seam of the host and the data server. Capture, sync and pipelines read time and
/// wait only through this, so tests drive them with `ManualClock` instead of sleeping. Instants on
/// the wall clock are `Date`; every interval is a `Duration`.
public protocol FerryClock: Sendable {
    /// Wall-clock time: reading timestamps, file names, cron ticks, retry deadlines.
    func now() -> Date
    /// Monotonic time since an arbitrary origin, for schedules: it never jumps when the wall clock is set.
    func uptime() -> Duration
    /// Waits `duration` of this clock's time; returns early when the calling task is cancelled.
    func sleep(for duration: Duration) async
    /// Calls `handler` on `queue` every `interval`, starting now. If a call runs long, missed fires
    /// coalesce into one (a collector counts what it skipped).
    func repeatingTimer(queue: DispatchQueue, every interval: Duration, handler: @escaping @Sendable () -> Void) -> any RepeatingTimer
}

public protocol RepeatingTimer: Sendable {
    func cancel()
}

/// Real time: Dispatch timers with strict scheduling, so kHz collectors hold their rate.
public struct SystemClock: FerryClock {
    public init() {}

    public func now() -> Date { Date() }

    public func uptime() -> Duration { .nanoseconds(DispatchTime.now().uptimeNanoseconds) }

    public func sleep(for duration: Duration) async {
        try? await Task.sleep(for: max(duration, .zero))
    }

    public func repeatingTimer(queue: DispatchQueue, every interval: Duration, handler: @escaping @Sendable () -> Void) -> any RepeatingTimer {
        let nanos = max(interval.inNanoseconds, 1)
        let timer = DispatchSource.makeTimerSource(flags: .strict, queue: queue)
        // Leeway of 1% of the interval lets the kernel batch wake-ups without moving ticks much.
        timer.schedule(deadline: .now(), repeating: .nanoseconds(Int(nanos)), leeway: .nanoseconds(Int(max(nanos / 100, 1000))))
        timer.setEventHandler(handler: handler)
        timer.resume()
        return DispatchRepeatingTimer(source: timer)
    }
}

struct DispatchRepeatingTimer: RepeatingTimer, @unchecked Sendable {
    // @unchecked: DispatchSource is thread-safe; cancel may be called from any thread.
    let source: DispatchSourceTimer
    func cancel() { source.cancel() }
}

extension Duration {
    /// Whole nanoseconds (saturating far beyond any interval Ferry uses: ±292 years).
    public var inNanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        return scaled.addingReportingOverflow(attoseconds / 1_000_000_000).overflow ? .max : scaled + attoseconds / 1_000_000_000
    }

    /// Whole milliseconds, rounded toward zero.
    public var inMilliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }

    public var inSeconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}

extension Date {
    /// Milliseconds since the Unix epoch, rounded down: the resolution of BSON dates, stored readings and pipeline windows.
    public var unixMilliseconds: Int64 { Int64((timeIntervalSince1970 * 1000).rounded(.down)) }

    public init(unixMilliseconds: Int64) { self.init(timeIntervalSince1970: Double(unixMilliseconds) / 1000) }

    public func adding(_ duration: Duration) -> Date { addingTimeInterval(duration.inSeconds) }
}
