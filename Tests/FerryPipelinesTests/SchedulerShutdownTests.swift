import FerryBSON
import FerryStore
import FerryTestSupport
import StoreTestSupport
import Synchronization
import Testing

@testable import FerryPipelines

/// How a scheduler ends (`ferry serve` or `ferry run` stopping on SIGTERM): gracefully, the run in
/// flight finishes; cancelled (the grace period is over), it is cut and its window re-created. Either
/// way the lease is handed back, so another replica need not wait for it to expire.
@Suite struct SchedulerShutdownTests {
    /// A scheduler running its loop, holding the due run of a fresh pipeline at its start.
    func runningWithARunHeld(_ f: PipelineFixture) async throws -> (PipelineRecord, Gate, Task<Void, Never>) {
        try await f.insert([utc("2024-05-01T10:10")])
        let p = try await f.create()
        let gate = Gate()
        await f.scheduler.setBeforeRun { _ in await gate.pass() }
        f.clock.set(utc("2024-05-01T11:02"))
        let loop = Task { await f.scheduler.run() }
        #expect(await eventuallyAsync { gate.waitingCount == 1 })
        return (p, gate, loop)
    }

    func leaseIsFree(_ f: PipelineFixture) async throws -> Bool {
        try await f.store.acquireSchedulerLease(owner: "another replica", now: utc("2024-05-01T11:02"), duration: 60_000)
    }

    @Test(arguments: StoreBackend.all) func stopLetsTheRunInFlightFinishThenHandsBackTheLease(_ backend: StoreBackend) async throws {
        let f = try await PipelineFixture.make(backend, now: utc("2024-05-01T10:30"))
        defer { f.remove() }
        let (p, gate, loop) = try await runningWithARunHeld(f)
        #expect(try await !leaseIsFree(f))
        await f.scheduler.stop()
        // Stopped, but the run in flight holds the loop (and the lease) until it is done.
        #expect(await f.scheduler.runningCount == 1)
        #expect(try await f.runs(p).map(\.status) == [.started])
        gate.release()
        await loop.value
        let runs = try await f.runs(p)
        #expect(runs.map(\.status) == [.completed])
        #expect(try await f.sink(p).first?.countField == 1)
        #expect(try await leaseIsFree(f))
    }

    /// stop() and wake() that come while a step runs, when there is no sleep to cut short: the loop
    /// must not then sleep a whole poll interval (on the manual clock, which nothing advances here,
    /// that sleep would never end).
    @Test(arguments: StoreBackend.all) func aStopOrWakeDuringAStepIsNotLost(_ backend: StoreBackend) async throws {
        let f = try await PipelineFixture.make(backend, now: utc("2024-05-01T10:30"))
        defer { f.remove() }
        // The end of each of the first two steps is held until released.
        let stepEnds = [Gate(), Gate()]
        let steps = Mutex(0)
        await f.scheduler.setAfterStep {
            let step = steps.withLock { count in
                count += 1
                return count
            }
            if step <= stepEnds.count { await stepEnds[step - 1].pass() }
        }
        let ended = Mutex(false)
        let loop = Task {
            await f.scheduler.run()
            ended.withLock { $0 = true }
        }
        defer { loop.cancel() }  // ends it should a check below fail
        // A wake during the first step: the loop steps again at once instead of sleeping.
        #expect(await eventuallyAsync { stepEnds[0].waitingCount == 1 })
        await f.scheduler.wake()
        stepEnds[0].release()
        #expect(await eventuallyAsync { stepEnds[1].waitingCount == 1 }, "the wake was lost: \(steps.withLock { $0 }) steps")
        // A stop during the second: the loop ends at once.
        await f.scheduler.stop()
        stepEnds[1].release()
        #expect(await eventuallyAsync { ended.withLock { $0 } }, "the loop slept through the stop")
        #expect(steps.withLock { $0 } == 2)
    }

    @Test(arguments: StoreBackend.all) func cancellingCutsTheRunInFlightAndReCreatesItsWindow(_ backend: StoreBackend) async throws {
        let f = try await PipelineFixture.make(backend, now: utc("2024-05-01T10:30"))
        defer { f.remove() }
        let (p, gate, loop) = try await runningWithARunHeld(f)
        let flag = try #require(await f.scheduler.inFlight.values.first?.cancel)
        await f.scheduler.stop()
        loop.cancel()
        // The loop notices its cancellation on its own time; the run must not get ahead of it.
        #expect(await eventuallyAsync { flag.isCancelled })
        gate.release()
        await loop.value
        let runs = try await f.runs(p)
        let cut = runs.first { $0.status == .failed }
        let retry = runs.first { $0.status == .scheduled }
        #expect(runs.count == 2)
        #expect(cut?.errorMessage?.contains("the server stopped while this run was in progress") == true)
        #expect(retry?.kind == .retry)
        #expect(retry?.window == cut?.window)
        #expect(try await f.sink(p).isEmpty)
        #expect(try await leaseIsFree(f))
    }
}
