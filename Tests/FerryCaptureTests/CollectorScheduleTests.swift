import Dispatch
import FerryBSON
import FerryLoader
import FerryTestSupport
import Foundation
import Logging
import Synchronization
import Testing

@testable import FerryCapture
@testable import FerryCaptureFile

/// Records what a collector hands its sink.
final class RecordingSink: ReadingSink {
    struct Entry: Equatable {
        var value: CapturedValue
        var requested: Date
        var received: Date
    }
    let entries = Mutex<[Entry]>([])
    let closed = Mutex(false)
    func write(_ value: CapturedValue, timeRequested: Date, timeReceived: Date) {
        entries.withLock { $0.append(Entry(value: value, requested: timeRequested, received: timeReceived)) }
    }
    func close() { closed.withLock { $0 = true } }
}

@Suite struct CollectorScheduleTests {
    let clock = ManualClock(now: Date(timeIntervalSince1970: 1_767_225_601))
    let logger = Logger(label: "test")

    func collector(hz: Double, sink: RecordingSink, capture: @escaping Collector.CaptureFunction) -> Collector {
        Collector(
            key: .init(component: "s", method: "Readings", parameters: [:]), frequencyHz: hz, clock: clock, sink: sink,
            logger: logger, capture: capture)
    }

    @Test func capturesOncePerIntervalAtTheConfiguredRate() {
        let sink = RecordingSink()
        let c = collector(hz: 10, sink: sink) { .tabular(["v": 1]) }
        c.start()  // tick 0 fires at start
        for _ in 0..<99 { clock.advance(by: .milliseconds(100)) }
        #expect(c.stats.captures == 100)
        #expect(c.stats.skippedTicks == 0)
        // Advancing by less than an interval captures nothing more.
        clock.advance(by: .milliseconds(50))
        #expect(c.stats.captures == 100)
        c.stop()
        #expect(sink.closed.withLock { $0 })
        #expect(sink.entries.withLock { $0.count } == 100)
    }

    @Test func stampsRequestedBeforeAndReceivedAfterTheCall() {
        let sink = RecordingSink()
        let c = collector(hz: 1, sink: sink) { [clock] in
            clock.advance(by: .milliseconds(250))  // the call takes 250 ms
            return .tabular(["v": 1])
        }
        c.start()
        c.stop()
        let entry = sink.entries.withLock { $0[0] }
        #expect(entry.received.timeIntervalSince(entry.requested) == 0.25)
    }

    @Test func aSlowCallSkipsTicksAndCountsThemWithoutBacklog() {
        let sink = RecordingSink()
        let slow = Mutex(false)
        let c = collector(hz: 100, sink: sink) { [clock] in
            if slow.withLock({ $0 }) { clock.advance(by: .milliseconds(35)) }  // 3.5 intervals
            return .tabular(["v": 1])
        }
        c.start()
        clock.advance(by: .milliseconds(10))
        #expect(c.stats.captures == 2)
        slow.withLock { $0 = true }
        clock.advance(by: .milliseconds(10))  // tick 2 starts at 20 ms and runs to 55 ms
        #expect(c.stats.captures == 3)
        slow.withLock { $0 = false }
        clock.advance(by: .milliseconds(10))  // now 65 ms: the next tick is 6; 3, 4, 5 were skipped
        #expect(c.stats.captures == 4)
        #expect(c.stats.skippedTicks == 3)
        // No backlog: one more interval is one more capture.
        clock.advance(by: .milliseconds(10))
        #expect(c.stats.captures == 5)
        #expect(c.stats.skippedTicks == 3)
        c.stop()
    }

    @Test func pluginErrorsAreCountedAndNeverStopTheCollector() {
        let sink = RecordingSink()
        let failing = Mutex(true)
        let c = collector(hz: 1, sink: sink) { () throws(PluginCallError) in
            if failing.withLock({ $0 }) { throw PluginCallError(status: .retryLater, message: "bus NACK") }
            return .tabular(["v": 1])
        }
        c.start()
        for _ in 0..<9 { clock.advance(by: .seconds(1)) }
        #expect(c.stats.errors == 10)
        #expect(c.stats.lastError == "retry-later: bus NACK")
        failing.withLock { $0 = false }
        clock.advance(by: .seconds(1))
        #expect(c.stats.captures == 1)
        c.stop()
    }

    @Test func stopWaitsForTheSinkAndNoTickFiresAfter() {
        let sink = RecordingSink()
        let c = collector(hz: 10, sink: sink) { .tabular(["v": 1]) }
        c.start()
        c.stop()
        clock.advance(by: .seconds(5))
        #expect(c.stats.captures == 1)
        #expect(sink.closed.withLock { $0 })
    }
}
