import Dispatch
import FerryBSON
import FerryClock
import FerryLoader
import FerryTestSupport
import Foundation
import Logging
import Synchronization
import Testing

@testable import FerryCapture

/// The lanes' schedule under a manual clock: every tick runs at its deadline, deadline order,
/// before `advance` returns.
@Suite struct CaptureSchedulerTests {
    let clock = ManualClock(now: Date(timeIntervalSince1970: 1_767_225_601))
    let logger = Logger(label: "test")

    func collector(_ name: String, hz: Double, scheduler: CaptureScheduler, sink: RecordingSink = RecordingSink(), capture: @escaping Collector.CaptureFunction = { .tabular(["v": 1]) }) -> Collector {
        Collector(
            key: .init(component: name, method: "Readings", parameters: [:]), frequencyHz: hz, clock: clock, sink: sink,
            logger: logger, scheduler: scheduler, capture: capture)
    }

    @Test func collectorsOfManyRatesShareTwoLanesAndEachKeepsItsSchedule() {
        let scheduler = CaptureScheduler(clock: clock, lanes: 2)
        let rates: [Double] = [1000, 250, 10, 10, 7, 1]
        let collectors = rates.enumerated().map { collector("c\($0.offset)", hz: $0.element, scheduler: scheduler) }
        collectors.forEach { $0.start() }
        for _ in 0..<2000 { clock.advance(by: .milliseconds(1)) }
        // Tick 0 at the start, then one per interval over 2 s.
        #expect(collectors.map(\.stats.captures) == [2001, 501, 21, 21, 14, 3])
        #expect(collectors.allSatisfy { $0.stats.skippedTicks == 0 })
        // Ticks run at the first advance past their deadline: never more than a step late.
        #expect(collectors.allSatisfy { $0.stats.lateness.maximum < .milliseconds(1) })
        collectors.forEach { $0.stop() }
    }

    @Test func ticksRunInDeadlineOrderAcrossLanes() {
        let scheduler = CaptureScheduler(clock: clock, lanes: 3)
        let order = Mutex<[String]>([])
        let collectors = [("slow", 2.0), ("fast", 5.0), ("mid", 4.0)].map { name, hz in
            collector(name, hz: hz, scheduler: scheduler) {
                order.withLock { $0.append(name) }
                return .tabular(["v": 1])
            }
        }
        collectors.forEach { $0.start() }
        order.withLock { $0.removeAll() }
        // One jump across several deadlines: 200 ms (fast), 250 (mid), 400 (fast), 500 (all three).
        clock.advance(by: .milliseconds(500))
        // Each collector runs once per jump (missed ticks coalesce), earliest deadline first.
        #expect(order.withLock { $0 } == ["fast", "mid", "slow"])
        #expect(collectors[1].stats.skippedTicks == 1)
        collectors.forEach { $0.stop() }
    }

    @Test func aStoppedCollectorLeavesItsLaneAndTheOthersGoOn() {
        let scheduler = CaptureScheduler(clock: clock, lanes: 1)
        let a = collector("a", hz: 10, scheduler: scheduler)
        let b = collector("b", hz: 10, scheduler: scheduler)
        a.start()
        b.start()
        clock.advance(by: .milliseconds(100))
        a.stop()
        for _ in 0..<10 { clock.advance(by: .milliseconds(100)) }
        #expect(a.stats.captures == 2)
        #expect(b.stats.captures == 12)
        b.stop()
    }

    @Test func theNextDeadlineIsTheFirstGridPointAfterNow() {
        let start = Duration.seconds(10)
        let interval = Duration.milliseconds(100)
        #expect(CaptureScheduler.nextDeadline(after: .seconds(10), start: start, interval: interval) == .milliseconds(10_100))
        #expect(CaptureScheduler.nextDeadline(after: .milliseconds(10_099), start: start, interval: interval) == .milliseconds(10_100))
        #expect(CaptureScheduler.nextDeadline(after: .milliseconds(10_100), start: start, interval: interval) == .milliseconds(10_200))
        #expect(CaptureScheduler.nextDeadline(after: .milliseconds(10_350), start: start, interval: interval) == .milliseconds(10_400))
        // Leeway: 5% of the interval, never more than 1 ms.
        #expect(CaptureScheduler.leeway(.microseconds(100)) == .microseconds(5))
        #expect(CaptureScheduler.leeway(.seconds(1)) == .milliseconds(1))
    }
}

/// The same scheduler on real threads, for what only threads show: a stalled call on a shared
/// lane, and ticks that never queue behind a slow call. Nothing here measures time; the tests
/// wait for states.
@Suite(.ownThreads) struct CaptureSchedulerThreadTests {
    let logger = Logger(label: "test")

    /// A capture that blocks when told to, and remembers how many calls ever overlapped.
    final class Gate: Sendable {
        let blocking = Mutex(false)
        let entered = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let inFlight = Mutex(0)
        let maxInFlight = Mutex(0)
        let finishedCalls = Mutex(0)

        func call() -> CapturedValue {
            let now = inFlight.withLock { n in
                n += 1
                return n
            }
            maxInFlight.withLock { $0 = max($0, now) }
            if blocking.withLock({ $0 }) {
                blocking.withLock { $0 = false }
                entered.signal()
                release.wait()
            }
            inFlight.withLock { $0 -= 1 }
            finishedCalls.withLock { $0 += 1 }
            return .tabular(["v": 1])
        }
    }

    func collector(_ name: String, hz: Double, scheduler: CaptureScheduler, sink: any ReadingSink = RecordingSink(), capture: @escaping Collector.CaptureFunction) -> Collector {
        Collector(
            key: .init(component: name, method: "Readings", parameters: [:]), frequencyHz: hz, clock: SystemClock(), sink: sink,
            logger: logger, scheduler: scheduler, capture: capture)
    }

    @Test(.timeLimit(.minutes(2))) func aStalledCallHoldsUpOnlyItsOwnCollector() throws {
        let scheduler = CaptureScheduler(clock: SystemClock(), lanes: 1, stallLimit: .milliseconds(20))
        let gate = Gate()
        let stuck = collector("stuck", hz: 200, scheduler: scheduler) { gate.call() }
        let others = (0..<3).map { i in collector("other\(i)", hz: 200, scheduler: scheduler) { .tabular(["v": 1]) } }
        stuck.start()
        others.forEach { $0.start() }
        try #require(eventually { stuck.stats.captures >= 5 })
        gate.blocking.withLock { $0 = true }
        gate.entered.wait()  // the stuck collector's call now holds the only lane thread
        let before = others.map(\.stats.captures)
        // The lane moves to a new thread and its other collectors carry on...
        try #require(eventually { zip(others, before).allSatisfy { $0.stats.captures >= $1 + 50 } })
        // ...while the stuck one runs no second call and is marked slow.
        #expect(stuck.isSlow)
        #expect(gate.inFlight.withLock { $0 } == 1)
        let stuckCaptures = stuck.stats.captures
        gate.release.signal()
        try #require(eventually { stuck.stats.captures > stuckCaptures + 5 })
        // The ticks that passed during the stall were skipped and counted, never queued.
        #expect(stuck.stats.skippedTicks > 0)
        #expect(gate.maxInFlight.withLock { $0 } == 1)
        stuck.stop()
        others.forEach { $0.stop() }
    }

    @Test(.timeLimit(.minutes(2))) func aSlowCollectorsTicksNeverQueue() throws {
        let scheduler = CaptureScheduler(clock: SystemClock(), lanes: 1, stallLimit: .milliseconds(20))
        let gate = Gate()
        let slowCalls = Mutex(false)
        let c = collector("slow", hz: 500, scheduler: scheduler) {
            if slowCalls.withLock({ $0 }) { usleep(30_000) }  // 15 intervals per call
            return gate.call()
        }
        c.start()
        slowCalls.withLock { $0 = true }
        try #require(eventually { c.isSlow && gate.finishedCalls.withLock { $0 } >= 10 })
        let skipped = c.stats.skippedTicks
        try #require(eventually { c.stats.skippedTicks > skipped + 20 })
        // On its own queue, one call at a time: the missed ticks were skipped.
        #expect(gate.maxInFlight.withLock { $0 } == 1)
        c.stop()
        let calls = gate.finishedCalls.withLock { $0 }
        Thread.sleep(forTimeInterval: 0.1)
        #expect(gate.finishedCalls.withLock { $0 } == calls)  // nothing runs after stop
    }

    @Test(.timeLimit(.minutes(2))) func stopWaitsForTheCallInProgressBeforeClosingTheSink() throws {
        let scheduler = CaptureScheduler(clock: SystemClock(), lanes: 1)
        let gate = Gate()
        let sink = OrderCheckingSink(gate: gate)
        let c = collector("c", hz: 100, scheduler: scheduler, sink: sink) { gate.call() }
        c.start()
        try #require(eventually { gate.finishedCalls.withLock { $0 } >= 2 })
        gate.blocking.withLock { $0 = true }
        gate.entered.wait()
        let stopped = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            c.stop()
            stopped.signal()
        }
        Thread.sleep(forTimeInterval: 0.05)  // let stop reach the lock (it must wait there)
        gate.release.signal()
        stopped.wait()
        #expect(sink.closedWhileACallRan.withLock { $0 } == false)
        #expect(sink.closed.withLock { $0 })
    }
}

/// A sink that notes whether it was closed while a capture call was still running.
final class OrderCheckingSink: ReadingSink {
    let gate: CaptureSchedulerThreadTests.Gate
    let closed = Mutex(false)
    let closedWhileACallRan = Mutex(false)
    init(gate: CaptureSchedulerThreadTests.Gate) { self.gate = gate }
    func write(_ value: CapturedValue, timeRequested: Date, timeReceived: Date) {}
    func close() {
        if gate.inFlight.withLock({ $0 }) > 0 { closedWhileACallRan.withLock { $0 = true } }
        closed.withLock { $0 = true }
    }
}
