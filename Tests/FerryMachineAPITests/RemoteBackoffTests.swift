import Foundation
import Testing

@testable import FerryRemoteParts

/// When a remote part is down, its collectors wait with exponential backoff: every decision is
/// made on explicit dates, so this runs on no clock at all.
@Suite struct RemoteBackoffTests {
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func aReachableRemoteIsCalledEveryTime() {
        var backoff = RemoteBackoff()
        #expect(backoff.decide(now: t0) == .call(probe: false))
        backoff.succeeded()
        #expect(backoff.decide(now: t0) == .call(probe: false))
    }

    @Test func waitsDoubleFromTheFirstToTheLongest() {
        var backoff = RemoteBackoff()
        var now = t0
        var waits: [Double] = []
        for _ in 0..<12 {
            backoff.failed(now: now, error: "connection refused", random: 0.5)  // 0.5: no jitter
            let next = backoff.nextAttempt!
            waits.append(next.timeIntervalSince(now))
            #expect(backoff.decide(now: next.addingTimeInterval(-0.001)) == .wait(until: next), "no call before the wait is over")
            now = next
            #expect(backoff.decide(now: now) == .call(probe: true))
        }
        #expect(waits.prefix(5).map { ($0 * 1000).rounded() / 1000 } == [0.2, 0.4, 0.8, 1.6, 3.2])
        #expect(waits.last == 30, "capped at 30 s")
        #expect(backoff.lastError == "connection refused")
    }

    @Test func oneProbeAtATimeTheOthersFailFast() {
        var backoff = RemoteBackoff()
        backoff.failed(now: t0, error: "refused", random: 0.5)
        let due = backoff.nextAttempt!
        #expect(backoff.decide(now: due) == .call(probe: true))
        // Other collectors of the same remote, while the probe is out:
        #expect(backoff.decide(now: due.addingTimeInterval(1)) == .wait(until: due.addingTimeInterval(1)))
        backoff.succeeded()
        #expect(backoff.decide(now: due.addingTimeInterval(1)) == .call(probe: false), "back: everyone calls again")
        #expect(backoff.failures == 0 && backoff.lastError == nil)
    }

    @Test func jitterSpreadsTheWaitByAFifthEitherWay() {
        var low = RemoteBackoff(), high = RemoteBackoff()
        low.failed(now: t0, error: "x", random: 0)
        high.failed(now: t0, error: "x", random: 0.999_999)
        #expect(abs(low.nextAttempt!.timeIntervalSince(t0) - 0.16) < 1e-6)
        #expect(abs(high.nextAttempt!.timeIntervalSince(t0) - 0.24) < 1e-6)
    }
}
