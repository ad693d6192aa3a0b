import Foundation
import Testing

@testable import FerrySync

@Suite struct BackoffTests {
    let backoff = Backoff()

    @Test func doublesFrom200msUpToOneHourWithoutJitterAtHalf() {
        // random 0.5 is the middle of the jitter band: the factor is exactly 1.
        var previous = 0.0
        for failures in 1...25 {
            let expected = min(3600, 0.2 * Double(1 << (failures - 1)))
            let delay = backoff.delay(afterFailures: failures, random: 0.5).inSeconds
            #expect(abs(delay - expected) < 1e-9, "failure \(failures): \(delay), expected \(expected)")
            #expect(delay >= previous)
            previous = delay
        }
        #expect(abs(backoff.delay(afterFailures: 1, random: 0.5).inSeconds - 0.2) < 1e-12)
        #expect(abs(backoff.delay(afterFailures: 2, random: 0.5).inSeconds - 0.4) < 1e-12)
        #expect(abs(backoff.delay(afterFailures: 3, random: 0.5).inSeconds - 0.8) < 1e-12)
        #expect(abs(backoff.delay(afterFailures: 15, random: 0.5).inSeconds - 3276.8) < 1e-9)
        #expect(backoff.delay(afterFailures: 16, random: 0.5).inSeconds == 3600)
        #expect(backoff.delay(afterFailures: 1000, random: 0.5).inSeconds == 3600)
        #expect(backoff.delay(afterFailures: Int.max, random: 0.5).inSeconds == 3600)
    }

    @Test func jitterStaysWithinTwentyPercentAndTheBounds() {
        for failures in 1...25 {
            let base = min(3600, 0.2 * Double(1 << (failures - 1)))
            for random in [0, 0.25, 0.5, 0.75, 0.999] {
                let delay = backoff.delay(afterFailures: failures, random: random).inSeconds
                #expect(delay >= 0.2 && delay <= 3600, "failure \(failures) random \(random): \(delay)")
                #expect(delay >= base * 0.8 - 1e-9 && delay <= base * 1.2 + 1e-9, "failure \(failures) random \(random): \(delay)")
            }
        }
        // The jitter really spreads the waits (below the cap), and never below the first wait.
        #expect(abs(backoff.delay(afterFailures: 5, random: 0).inSeconds - 3.2 * 0.8) < 1e-9)
        #expect(abs(backoff.delay(afterFailures: 5, random: 0.999).inSeconds - 3.2 * (0.8 + 0.4 * 0.999)) < 1e-9)
        #expect(backoff.delay(afterFailures: 1, random: 0).inSeconds == 0.2)
        #expect(abs(backoff.delay(afterFailures: 14, random: 0).inSeconds - 1638.4 * 0.8) < 1e-9)
        #expect(backoff.delay(afterFailures: 14, random: 0.999).inSeconds > 1638.4 * 1.19)
        #expect(abs(backoff.delay(afterFailures: 25, random: 0).inSeconds - 3600 * 0.8) < 1e-9)
        #expect(backoff.delay(afterFailures: 25, random: 0.999).inSeconds == 3600)
    }
}

@Suite struct SyncScheduleTests {
    let t0 = Date(timeIntervalSince1970: 1_000_000)
    func at(_ seconds: Double) -> Date { t0.addingTimeInterval(seconds) }

    @Test func takesTheOldestFileAcrossEveryCollectorsDirectory() {
        var schedule = SyncSchedule()
        let sensor = "/c/rdk_component_sensor/temp/Readings/"
        let arm = "/c/rdk_component_arm/arm/JointPositions/"
        schedule.add(
            [sensor + "2024-01-01T00:00:03.000Z-a.capture", sensor + "2024-01-01T00:00:01.000Z-b.capture", arm + "2024-01-01T00:00:02.000Z-c.capture"],
            now: t0)
        #expect(schedule.take(now: t0) == sensor + "2024-01-01T00:00:01.000Z-b.capture")
        #expect(schedule.take(now: t0) == arm + "2024-01-01T00:00:02.000Z-c.capture", "not all of one directory first")
        #expect(schedule.take(now: t0) == sensor + "2024-01-01T00:00:03.000Z-a.capture")
    }

    @Test func takesOldestNamesFirstAndNeverAFileInFlight() {
        var schedule = SyncSchedule()
        schedule.add(["/c/2024-03.capture", "/c/2024-01.capture", "/c/2024-02.capture"], now: t0)
        #expect(schedule.pendingCount == 3)
        #expect(schedule.take(now: t0) == "/c/2024-01.capture")
        #expect(schedule.take(now: t0) == "/c/2024-02.capture")
        #expect(schedule.take(now: t0) == "/c/2024-03.capture")
        #expect(schedule.take(now: at(100)) == nil)
        #expect(schedule.entries.values.allSatisfy { $0.inFlight })
        schedule.finished("/c/2024-01.capture")
        #expect(schedule.pendingCount == 2)
        #expect(schedule.take(now: at(100)) == nil)
    }

    @Test func filesAddedLaterAreNotDueBeforeTheyWereAdded() {
        var schedule = SyncSchedule()
        schedule.add(["/c/b"], now: at(10))
        #expect(schedule.take(now: at(9)) == nil)
        #expect(schedule.take(now: at(10)) == "/c/b")
    }

    @Test func aRetryFailureBacksOffOnlyThatFile() {
        var schedule = SyncSchedule()
        schedule.add(["/c/a", "/c/b", "/c/c"], now: t0)
        #expect(schedule.take(now: t0) == "/c/a")
        let retry = schedule.failed("/c/a", .retry("store busy"), now: t0, random: 0.5)
        #expect(retry == at(0.2))
        #expect(!schedule.isOffline)
        #expect(schedule.lastError == "store busy")
        #expect(schedule.lastErrorAt == t0)
        #expect(schedule.entries["/c/a"]?.failures == 1)
        #expect(schedule.entries["/c/a"]?.lastError == "store busy")
        #expect(schedule.entries["/c/a"]?.inFlight == false)
        // The others go on at once; the failed file waits for its own backoff.
        #expect(schedule.take(now: t0) == "/c/b")
        #expect(schedule.take(now: t0) == "/c/c")
        #expect(schedule.take(now: at(0.1)) == nil)
        #expect(schedule.nextRetry(now: at(0.1)) == at(0.2))
        #expect(schedule.take(now: at(0.2)) == "/c/a")
        // A second failure doubles the file's wait.
        let second = at(0.2).addingTimeInterval(0.4)
        #expect(schedule.failed("/c/a", .retry("store busy"), now: at(0.2), random: 0.5) == second)
        #expect(schedule.entries["/c/a"]?.failures == 2)
        // A rescan does not reset the backoff of a known file.
        schedule.add(["/c/a"], now: at(0.3))
        #expect(schedule.take(now: at(0.3)) == nil)
        #expect(schedule.take(now: second) == "/c/a")
    }

    @Test func nextRetryIsNilWithoutFailures() {
        var schedule = SyncSchedule()
        schedule.add(["/c/a"], now: t0)
        #expect(schedule.nextRetry(now: t0) == nil)
        _ = schedule.take(now: t0)
        #expect(schedule.nextRetry(now: t0) == nil)
    }

    @Test func unreachableTakesTheWholeScheduleOfflineWithOneProbeAtATime() {
        var schedule = SyncSchedule()
        schedule.add(["/c/a", "/c/b", "/c/c", "/c/d"], now: t0)
        // Two workers are uploading when the server goes away; both fail.
        #expect(schedule.take(now: t0) == "/c/a")
        #expect(schedule.take(now: t0) == "/c/b")
        let until = schedule.failed("/c/a", .unreachable("connection refused"), now: t0, random: 0.5)
        #expect(until == at(0.2))
        #expect(schedule.isOffline)
        #expect(schedule.offlineUntil == at(0.2))
        #expect(schedule.offlineFailures == 1)
        #expect(schedule.lastError == UploadFailure.unreachable("connection refused").description)
        // The second worker's failure does not lengthen the wait.
        #expect(schedule.failed("/c/b", .unreachable("connection refused"), now: at(0.05), random: 0.5) == at(0.2))
        #expect(schedule.offlineUntil == at(0.2))
        #expect(schedule.offlineFailures == 1)
        // The files themselves are not to blame.
        #expect(schedule.entries["/c/a"]?.failures == 0)
        #expect(schedule.entries["/c/b"]?.failures == 0)
        #expect(schedule.entries.values.allSatisfy { !$0.inFlight })
        #expect(schedule.nextRetry(now: at(0.1)) == at(0.2))
        #expect(schedule.nextRetry(now: at(0.3)) == at(0.3))

        // Nothing is taken before the wait ends, though every file is due.
        #expect(schedule.take(now: at(0.1)) == nil)
        #expect(schedule.take(now: at(0.199)) == nil)
        // Exactly one probe at or after it; a second worker gets nothing while it is out.
        let probe = schedule.take(now: at(0.2))
        #expect(probe != nil)
        #expect(schedule.take(now: at(0.2)) == nil)
        #expect(schedule.take(now: at(100)) == nil)

        // The probe fails: the wait doubles, from the probe's failure.
        let probePath = probe ?? "/c/a"
        let longer = at(0.3).addingTimeInterval(0.4)
        #expect(schedule.failed(probePath, .unreachable("connection refused"), now: at(0.3), random: 0.5) == longer)
        #expect(schedule.offlineUntil == longer)
        #expect(schedule.offlineFailures == 2)
        #expect(schedule.take(now: at(0.69)) == nil)
        let secondProbe = schedule.take(now: longer)
        #expect(secondProbe != nil)
        #expect(schedule.take(now: longer) == nil)

        // It succeeds: online again, the error cleared, every due file takeable at once.
        schedule.finished(secondProbe ?? "/c/a")
        #expect(!schedule.isOffline)
        #expect(schedule.offlineUntil == nil)
        #expect(schedule.offlineFailures == 0)
        #expect(schedule.lastError == nil)
        #expect(schedule.nextRetry(now: longer) == nil)
        var taken: Set<String> = []
        while let next = schedule.take(now: longer) { taken.insert(next) }
        #expect(taken.count == 3)
        #expect(!taken.contains(secondProbe ?? ""))
    }

    @Test func unauthorizedIsTreatedLikeUnreachable() {
        var schedule = SyncSchedule()
        schedule.add(["/c/a", "/c/b"], now: t0)
        _ = schedule.take(now: t0)
        #expect(schedule.failed("/c/a", .unauthorized("bad key"), now: t0, random: 0.5) == at(0.2))
        #expect(schedule.isOffline)
        #expect(schedule.lastError?.contains("bad key") == true)
        #expect(schedule.take(now: at(0.1)) == nil)
        #expect(schedule.take(now: at(0.2)) != nil)
        #expect(schedule.take(now: at(0.2)) == nil)
    }

    @Test func aProbeThatFailsWithRetryLetsTheNextProbeGo() {
        var schedule = SyncSchedule()
        schedule.add(["/c/a", "/c/b"], now: t0)
        _ = schedule.take(now: t0)
        schedule.failed("/c/a", .unreachable("down"), now: t0, random: 0.5)
        let probe = schedule.take(now: at(1))
        #expect(probe != nil)
        schedule.failed(probe ?? "", .retry("store busy"), now: at(1), random: 0.5)
        // The probe's own file backs off; another file may probe.
        let next = schedule.take(now: at(1))
        #expect(next != nil)
        #expect(next != probe)
    }

    /// SyncSchedule.failed says of an unreachable failure: "The file itself is not to blame: it
    /// goes first when the server is back." And take() promises oldest names first.
    @Test func theFileThatFoundTheServerGoneGoesFirstWhenItIsBack() {
        var schedule = SyncSchedule()
        schedule.add(["/c/2024-01", "/c/2024-02", "/c/2024-03"], now: t0)
        #expect(schedule.take(now: t0) == "/c/2024-01")
        schedule.failed("/c/2024-01", .unreachable("down"), now: at(5), random: 0.5)
        #expect(schedule.take(now: at(5).addingTimeInterval(0.2)) == "/c/2024-01")
    }

    /// A file can vanish while it is the probe (removed by hand; an additional-path file the
    /// user deleted). The engine then calls remove(); the schedule must not stay stuck waiting
    /// for a probe that will never report.
    @Test func removingTheProbeLetsAnotherFileProbe() {
        var schedule = SyncSchedule()
        schedule.add(["/c/a", "/c/b"], now: t0)
        _ = schedule.take(now: t0)
        schedule.failed("/c/a", .unreachable("down"), now: t0, random: 0.5)
        let probe = schedule.take(now: at(1))
        #expect(probe != nil)
        schedule.remove(probe ?? "")
        #expect(schedule.pendingCount == 1)
        let next = schedule.take(now: at(3600))
        #expect(next != nil, "the schedule is stuck offline: its probe was removed but is still counted as out")
        #expect(next != probe)
    }
}
