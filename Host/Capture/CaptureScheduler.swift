import Dispatch
import FerryClock
import FerrySystem
import Foundation
import Synchronization

/// Runs the ticks of many collectors on a few lane threads. Each lane keeps a heap of its
/// collectors' next deadlines, sleeps on a monotonic condition until the earliest is due (plus a
/// leeway of 5% of the interval, at most 1 ms, so neighbouring deadlines share one wake-up), and
/// calls every due tick in place: one thread wake-up per batch of ticks, not a timer event plus a
/// hop into each collector's queue.
///
/// A slow plugin only delays its own collector: a watchdog thread gives a lane stuck in one call
/// for `stallLimit` a fresh thread that carries on with the lane's other collectors, and marks the
/// stuck collector slow. A slow collector's ticks run on its own serial queue, at most one at a
/// time (a tick that finds the previous call still running is skipped, never queued) until it has
/// answered quickly for a while. Under any clock but `SystemClock` (a test's `ManualClock`) there
/// are no threads: every tick due at the clock's time runs when the clock moves, deadline order.
package final class CaptureScheduler: Sendable {
    /// The host's scheduler: one lane per core (2 to 4) on the system clock.
    package static let shared = CaptureScheduler(clock: SystemClock())

    package let clock: any FerryClock
    /// How long a lane may be held by one call before its other collectors move to a new thread.
    package let stallLimit: Duration
    let lanes: [Lane]
    let nextLane = Mutex(0)
    /// Whether collectors' tick grids are spread across their interval (see `phase(for:)`).
    let spreadsPhases: Bool
    /// Collectors given a phase so far.
    let phasesGiven = Mutex(0)
    /// Real threads (system clock) or runs driven by the clock's own timers (a simulated clock).
    let mode: Mode

    enum Mode: Sendable {
        case threads(Watchdog)
        case simulated(SimulatedDriver)
    }

    /// `spreadsPhases` nil: spread on the system clock, not under a test's clock (where ticks
    /// stay on the start's grid unless a test asks).
    package init(clock: any FerryClock, lanes laneCount: Int? = nil, stallLimit: Duration = .milliseconds(20), spreadsPhases: Bool? = nil) {
        self.clock = clock
        self.stallLimit = stallLimit
        self.spreadsPhases = spreadsPhases ?? (clock is SystemClock)
        let count = max(1, laneCount ?? min(4, max(2, ProcessInfo.processInfo.activeProcessorCount)))
        lanes = (0..<count).map { Lane(index: $0) }
        if clock is SystemClock {
            let watchdog = Watchdog()
            mode = .threads(watchdog)
            for lane in lanes { lane.startThread(scheduler: self) }
            watchdog.start(scheduler: self)
        } else {
            mode = .simulated(SimulatedDriver())
            if case .simulated(let driver) = mode { driver.attach(self) }
        }
    }

    /// Starts calling `collector`'s ticks, the first at `firstDeadline`.
    func add(_ collector: Collector, firstDeadline: Duration) {
        let lane = lanes[nextLane.withLock { next in
            defer { next = (next + 1) % lanes.count }
            return next
        }]
        lane.condition.lock()
        let wasEarliest = lane.heap.insert(Lane.Entry(deadline: firstDeadline, collector: collector))
        if wasEarliest { lane.condition.signal() }
        lane.condition.unlock()
        switch mode {
        case .threads(let watchdog): watchdog.poke()
        case .simulated(let driver): driver.runDue()
        }
    }

    /// How far after its start a new collector's tick grid begins. Collectors started together
    /// (a machine's config) would otherwise share their deadlines, and a lane would run hundreds of
    /// ticks back to back, the last of them as late as the whole batch takes; spread over the
    /// interval by the golden ratio (the k-th collector at the fractional part of k × 0.618…),
    /// any number of them fall evenly, and a lane wakes for a few at a time. The first reading
    /// comes at most one interval after the start, as with Viam's ticker (a full interval there).
    func phase(for interval: Duration) -> Duration {
        guard spreadsPhases else { return .zero }
        let k = phasesGiven.withLock { given in
            defer { given += 1 }
            return given
        }
        return Self.phase(index: k, interval: interval)
    }

    static func phase(index: Int, interval: Duration) -> Duration {
        let fraction = (Double(index) * 0.618_033_988_749_894_9).truncatingRemainder(dividingBy: 1)
        return .nanoseconds(Int64(Double(interval.inNanoseconds) * fraction))
    }

    /// The first tick deadline after `now` on `collector`'s grid.
    static func nextDeadline(after now: Duration, start: Duration, interval: Duration) -> Duration {
        let elapsed = max(now - start, .zero).inNanoseconds
        let step = interval.inNanoseconds
        return start + .nanoseconds((elapsed / step + 1) * step)
    }

    /// How late a lane may wake for a tick so that nearby deadlines share one wake-up.
    static func leeway(_ interval: Duration) -> Duration { min(interval / 20, .milliseconds(1)) }
}

/// One lane: a heap of (deadline, collector), and the thread working through it.
final class Lane: @unchecked Sendable {
    // @unchecked: every var is guarded by `condition`'s lock.
    struct Entry {
        let deadline: Duration
        let wakeBy: Duration
        let collector: Collector
        init(deadline: Duration, collector: Collector) {
            self.deadline = deadline
            self.wakeBy = deadline + CaptureScheduler.leeway(collector.interval)
            self.collector = collector
        }
    }

    let index: Int
    let condition = MonotonicCondition()
    var heap = DeadlineHeap()
    /// Bumped when the watchdog gives the lane a new thread; an older thread exits when it sees it.
    var generation = 0
    /// When the current thread's call began, and whose it is (nil between calls).
    var busySince: Duration?
    var running: Collector?

    init(index: Int) { self.index = index }

    /// Below this a lane waits for its next deadline by spinning rather than sleeping.
    static let spinBelow = Duration.microseconds(150)

    func startThread(scheduler: CaptureScheduler) {
        let generation = self.generation
        OSThread.detach(name: "ferry.capture.lane\(index)", stackSize: 512 * 1024) { [self] in run(scheduler: scheduler, generation: generation) }
    }

    /// The lane thread: sleep to the next wake-up, run what is due, repeat.
    private func run(scheduler: CaptureScheduler, generation: Int) {
        ThreadTuning.setTimerSlack(nanoseconds: 1_000)
        let clock = scheduler.clock
        condition.lock()
        while self.generation == generation {
            guard let top = heap.first else {
                condition.wait()
                continue
            }
            let now = clock.uptime()
            if now < top.wakeBy {
                if top.wakeBy - now > Self.spinBelow {
                    condition.wait(for: top.wakeBy - now)
                } else {
                    // Sooner than a sleeping thread is reliably woken (tens of µs, more on a
                    // virtual machine): only collectors above a few kHz come here, and they get
                    // their ticks on time for the core they ask for. The lock is free meanwhile,
                    // so a collector added or a new thread given is seen on the next pass, at most
                    // `spinBelow` later.
                    condition.unlock()
                    while clock.uptime() < top.deadline {}
                    condition.lock()
                }
                continue
            }
            // Everything due, earliest first; the batch grows if ticks make more come due.
            while self.generation == generation, let entry = heap.first, entry.deadline <= clock.uptime() {
                heap.removeFirst()
                busySince = clock.uptime()
                running = entry.collector
                condition.unlock()
                let next = entry.collector.fire()
                condition.lock()
                if self.generation == generation {
                    busySince = nil
                    running = nil
                }
                if let next, heap.insert(Entry(deadline: next, collector: entry.collector)) { condition.signal() }
            }
        }
        condition.unlock()
    }
}

/// Watches the lanes: one held by a single call for `stallLimit` gets a new thread.
final class Watchdog: @unchecked Sendable {
    // @unchecked: `shutdown` is guarded by `condition`'s lock; lanes are read under their own locks.
    let condition = MonotonicCondition()

    func start(scheduler: CaptureScheduler) {
        OSThread.detach(name: "ferry.capture.watchdog", stackSize: 256 * 1024) { [self] in run(scheduler) }
    }

    /// A collector came: its deadline may be earlier than the next check.
    func poke() {
        condition.lock()
        condition.signal()
        condition.unlock()
    }

    private func run(_ scheduler: CaptureScheduler) {
        let clock = scheduler.clock
        let limit = scheduler.stallLimit
        condition.lock()
        while true {
            let now = clock.uptime()
            var nextCheck: Duration?
            func check(at time: Duration) { nextCheck = min(nextCheck ?? time, time) }
            for lane in scheduler.lanes {
                lane.condition.lock()
                if let since = lane.busySince {
                    if now - since >= limit {
                        // The stuck thread finishes its call on its own; the lane goes on without it.
                        lane.running?.markSlow()
                        lane.generation += 1
                        lane.busySince = nil
                        lane.running = nil
                        lane.startThread(scheduler: scheduler)
                    } else {
                        check(at: since + limit)
                    }
                } else if let top = lane.heap.first {
                    // A call can begin at the next wake-up at the earliest.
                    check(at: max(top.wakeBy, now) + limit)
                }
                lane.condition.unlock()
            }
            if let nextCheck {
                condition.wait(for: max(nextCheck - clock.uptime(), .microseconds(100)))
            } else {
                condition.wait()
            }
        }
    }
}

/// Under a simulated clock: the clock's own timer (an interval of 1 ns fires once each time the
/// clock moves) runs every due tick of every lane, earliest first, before `advance` returns.
/// A tick that moves the clock itself (a test simulating a slow call) does not run ticks from
/// inside itself: the run in progress picks up what came due once the tick returns.
final class SimulatedDriver: @unchecked Sendable {
    // @unchecked: `scheduler`, `timer` and `running` are guarded by `lock` (recursive, so a tick
    // that advances the clock re-enters on its own thread and finds `running` set).
    let lock = Lock(recursive: true)
    weak var scheduler: CaptureScheduler?
    var timer: (any RepeatingTimer)?
    var running = false

    func attach(_ scheduler: CaptureScheduler) {
        lock.withLock { self.scheduler = scheduler }
        let queue = DispatchQueue(label: "ferry.capture.simulated")
        let timer = scheduler.clock.repeatingTimer(queue: queue, every: .nanoseconds(1)) { [weak self] in self?.runDue() }
        lock.withLock { self.timer = timer }
    }

    /// Runs every tick that is due now, unless this thread is already doing so.
    func runDue() {
        lock.lock()
        defer { lock.unlock() }
        guard !running, let scheduler else { return }
        running = true
        defer { running = false }
        while true {
            let now = scheduler.clock.uptime()
            var best: (lane: Lane, deadline: Duration)?
            for lane in scheduler.lanes {
                lane.condition.lock()
                if let top = lane.heap.first, top.deadline <= now, best == nil || top.deadline < best!.deadline { best = (lane, top.deadline) }
                lane.condition.unlock()
            }
            guard let (lane, _) = best else { return }
            lane.condition.lock()
            let entry = lane.heap.removeFirst()
            lane.condition.unlock()
            if let next = entry.collector.fire() {
                lane.condition.lock()
                _ = lane.heap.insert(Lane.Entry(deadline: next, collector: entry.collector))
                lane.condition.unlock()
            }
        }
    }
}

/// A binary min-heap of lane entries by wake-up time (ties by deadline).
struct DeadlineHeap {
    private var entries: [Lane.Entry] = []

    var first: Lane.Entry? { entries.first }
    var count: Int { entries.count }

    private static func earlier(_ a: Lane.Entry, _ b: Lane.Entry) -> Bool {
        let wa = a.wakeBy, wb = b.wakeBy
        return wa != wb ? wa < wb : a.deadline < b.deadline
    }

    /// Inserts; true when the entry became the earliest (a sleeping lane must re-arm).
    @discardableResult
    mutating func insert(_ entry: Lane.Entry) -> Bool {
        entries.append(entry)
        var child = entries.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard Self.earlier(entries[child], entries[parent]) else { break }
            entries.swapAt(child, parent)
            child = parent
        }
        return child == 0
    }

    @discardableResult
    mutating func removeFirst() -> Lane.Entry {
        let top = entries[0]
        let last = entries.removeLast()
        guard !entries.isEmpty else { return top }
        entries[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var smallest = parent
            if left < entries.count, Self.earlier(entries[left], entries[smallest]) { smallest = left }
            if right < entries.count, Self.earlier(entries[right], entries[smallest]) { smallest = right }
            if smallest == parent { break }
            entries.swapAt(parent, smallest)
            parent = smallest
        }
        return top
    }
}
