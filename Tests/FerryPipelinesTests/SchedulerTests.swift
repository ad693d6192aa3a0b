import FerryBSON
import FerryClock
import FerryStore
import FerryTestSupport
import StoreTestSupport
import Synchronization
import Testing

@testable import FerryPipelines

@Suite struct SchedulerTests {
    @Test(arguments: StoreBackend.all) func eachTickRunsItsWindowAfterTheStartDelay(_ backend: StoreBackend) async throws {
        let f = try await PipelineFixture.make(backend, now: utc("2024-05-01T10:30"))
        defer { f.remove() }
        let p = try await f.create()
        #expect(p.scheduledThrough == utc("2024-05-01T10:00"))
        try await f.insert([utc("2024-05-01T09:59"), utc("2024-05-01T10:10"), utc("2024-05-01T10:40"), utc("2024-05-01T10:50"), utc("2024-05-01T11:00")])
        try await f.settle()
        #expect(try await f.runs(p).isEmpty)

        f.clock.set(utc("2024-05-01T11:00"))
        try await f.settle()
        var runs = try await f.runs(p)
        #expect(runs.count == 1)
        #expect(runs.first?.status == .scheduled)
        #expect(runs.first?.window == SinkWindow(start: utc("2024-05-01T10:00"), end: utc("2024-05-01T11:00")))
        #expect(runs.first?.notBefore == utc("2024-05-01T11:02"))

        f.clock.set(utc("2024-05-01T11:02"))
        try await f.settle()
        runs = try await f.runs(p)
        #expect(runs.map(\.status) == [.completed])
        #expect(runs.first?.outputCount == 1)
        let sink = try await f.sink(p)
        #expect(sink.count == 1)
        // Start inclusive, end exclusive: 10:00 ≤ t < 11:00 holds 10:10, 10:40 and 10:50.
        #expect(sink.first?.countField == 3)
        #expect(sink.first?["location"] == .string("lab"))
        #expect(sink.first?.runInterval == SinkWindow(start: utc("2024-05-01T10:00"), end: utc("2024-05-01T11:00")))
        if case .document(let meta)? = sink.first?["_viam_pipeline_run"] {
            #expect(meta["id"] == .string(runs[0].id))
            #expect(meta["organization_id"] == .string(f.org))
        } else {
            Issue.record("no _viam_pipeline_run in \(String(describing: sink.first))")
        }

        // Without backfill, late data never re-runs a window: each window runs exactly once.
        try await f.insert([utc("2024-05-01T10:20")])
        f.clock.set(utc("2024-05-01T12:02"))
        try await f.settle()
        runs = try await f.runs(p)
        #expect(runs.count == 2)
        #expect(runs.filter { $0.window.start == utc("2024-05-01T10:00") }.count == 1)
    }

    @Test(arguments: StoreBackend.all) func backfillRunsHistoryNewestFirstInThrottledBatchesOfTen(_ backend: StoreBackend) async throws {
        let f = try await PipelineFixture.make(backend, now: utc("2024-05-01T10:30"))
        defer { f.remove() }
        // One reading an hour from 2024-04-30 09:15 to 2024-05-01 09:15: 25 windows.
        try await f.insert((0..<25).map { utc("2024-04-30T09:15") + Int64($0) * hour })
        let p = try await f.create(backfill: true)

        // Hold every run at its start, so the batch is seen running at once: ten, not all 25.
        let gate = Gate()
        await f.scheduler.setBeforeRun { _ in await gate.pass() }
        try await f.scheduler.step()
        #expect(await f.scheduler.runningCount == 10)
        #expect(await eventuallyAsync { gate.waitingCount == 10 })
        gate.release()
        await f.scheduler.waitForRuns()
        await f.scheduler.setBeforeRun { _ in }
        var runs = try await f.runs(p)
        #expect(runs.count == 10)
        #expect(runs.allSatisfy { $0.kind == .backfill && $0.status == .completed })
        // Created newest first: the oldest-created run is the newest window.
        #expect(runs.last?.window.end == utc("2024-05-01T10:00"))
        #expect(runs.first?.window.start == utc("2024-05-01T00:00"))

        // Throttled: nothing more until two minutes after the batch finished.
        try await f.settle()
        #expect(try await f.runs(p).count == 10)
        f.clock.advance(2 * minute)
        try await f.settle()
        #expect(try await f.runs(p).count == 20)
        f.clock.advance(2 * minute)
        try await f.settle()
        runs = try await f.runs(p)
        #expect(runs.count == 25)
        #expect(runs.first?.window.start == utc("2024-04-30T09:00"))
        f.clock.advance(2 * minute)
        try await f.settle()
        #expect(try await f.runs(p).count == 25)
        #expect(try await f.store.pipeline(id: p.id)?.backfillCursor == nil)

        let sink = try await f.sink(p)
        #expect(sink.count == 25)
        #expect(sink.allSatisfy { $0.countField == 1 })
        #expect(Set(sink.compactMap(\.runInterval)).count == 25)
    }

    @Test(arguments: StoreBackend.all) func lateDataReRunsExactlyTheWindowsItTouched(_ backend: StoreBackend) async throws {
        let f = try await PipelineFixture.make(backend, now: utc("2024-05-01T10:30"))
        defer { f.remove() }
        try await f.insert((5...9).map { utc("2024-05-01T0\($0):30") })
        let p = try await f.create(backfill: true)
        try await f.settle()
        #expect(try await f.runs(p).count == 5)

        // Late readings in [06, 07) and [08, 09), one older than any window run so far ([03, 04)),
        // and one in the open window [10, 11) that will run on schedule anyway.
        try await f.insert([utc("2024-05-01T06:10"), utc("2024-05-01T08:45"), utc("2024-05-01T03:20"), utc("2024-05-01T10:40")])
        try await f.settle()
        let reruns = try await f.runs(p).filter { $0.kind == .rerun }
        #expect(Set(reruns.map(\.window.start)) == [utc("2024-05-01T03:00"), utc("2024-05-01T06:00"), utc("2024-05-01T08:00")])
        #expect(reruns.allSatisfy { $0.status == .completed })

        // Results replaced, never duplicated.
        let sink = try await f.sink(p)
        #expect(sink.count == 6)
        var counts: [Int64: Int] = [:]
        for document in sink { counts[document.runInterval!.start] = document.countField }
        #expect(counts[utc("2024-05-01T06:00")] == 2)
        #expect(counts[utc("2024-05-01T08:00")] == 2)
        #expect(counts[utc("2024-05-01T07:00")] == 1)
        #expect(counts[utc("2024-05-01T03:00")] == 1)

        // Nothing new: nothing re-runs.
        try await f.settle()
        #expect(try await f.runs(p).count == 8)
    }

    @Test(arguments: StoreBackend.all) func oldRunsLeaveTheHistoryButTheirResultsStayAndLateDataStillReRunsTheirWindows(_ backend: StoreBackend) async throws {
        var options = PipelineScheduler.Options.testing
        options.runRetention = .seconds(86_400)
        let f = try await PipelineFixture.make(backend, now: utc("2024-05-01T10:30"), options: options)
        defer { f.remove() }
        try await f.insert((5...9).map { utc("2024-05-01T0\($0):30") })
        let p = try await f.create(backfill: true)
        try await f.settle()
        #expect(try await f.runs(p).map(\.kind) == Array(repeating: .backfill, count: 5))

        // A day and a quarter of an hour later: the backfill runs ended more than a day ago.
        f.clock.set(utc("2024-05-02T10:45"))
        try await f.settle()
        let runs = try await f.runs(p)
        #expect(!runs.contains { $0.kind == .backfill }, "runs older than the retention are pruned: \(runs.map(\.kind))")
        #expect(runs.count == 24 && runs.allSatisfy { $0.kind == .scheduled && $0.status == .completed })
        var sink = try await f.sink(p)
        #expect(sink.count == 5, "results outlive their runs")

        // Late data in [06, 07), whose runs are gone: it re-runs, replacing the result.
        try await f.insert([utc("2024-05-01T06:10")])
        try await f.settle()
        let reruns = try await f.runs(p).filter { $0.kind == .rerun }
        #expect(reruns.map(\.window) == [SinkWindow(start: utc("2024-05-01T06:00"), end: utc("2024-05-01T07:00"))])
        #expect(reruns.first?.status == .completed)
        sink = try await f.sink(p)
        #expect(sink.count == 5)
        #expect(sink.first { $0.runInterval?.start == utc("2024-05-01T06:00") }?.countField == 2)
    }

    @Test(arguments: StoreBackend.all) func runsCutShortByARestartOrHungAreFailedAndReCreated(_ backend: StoreBackend) async throws {
        let f = try await PipelineFixture.make(backend, now: utc("2024-05-01T10:30"))
        defer { f.remove() }
        try await f.insert([utc("2024-05-01T10:10")])
        let p = try await f.create()
        f.clock.set(utc("2024-05-01T11:02"))
        // A previous server planned and started the run, then died.
        let previous = PipelineScheduler(store: f.store, operators: .builtin, clock: f.clock, options: .testing)
        try await previous.plan(try await f.store.pipeline(id: p.id)!, now: f.clock.now().unixMilliseconds, active: [])
        let planned = try await f.runs(p)
        #expect(planned.count == 1)
        #expect(try await f.store.startRun(id: planned[0].id, now: f.clock.now().unixMilliseconds))

        try await f.settle()
        var runs = try await f.runs(p)
        #expect(runs.count == 2)
        let cut = runs.first { $0.id == planned[0].id }
        #expect(cut?.status == .failed)
        #expect(cut?.errorMessage?.contains("server stopped") == true)
        #expect(runs.first { $0.kind == .retry }?.status == .completed)
        #expect(try await f.sink(p).first?.countField == 1)

        // A run STARTED by someone else and never finished: failed after twice the timeout, and re-created.
        f.clock.set(utc("2024-05-01T12:02"))
        let other = PipelineScheduler(store: f.store, operators: .builtin, clock: f.clock, options: .testing)
        try await other.plan(try await f.store.pipeline(id: p.id)!, now: f.clock.now().unixMilliseconds, active: [])
        let hung = try await f.runs(p).first { $0.status == .scheduled }!
        #expect(try await f.store.startRun(id: hung.id, now: f.clock.now().unixMilliseconds))
        f.clock.advance(5 * minute)
        try await f.settle()
        #expect(try await f.store.run(id: hung.id)?.status == .started)
        f.clock.advance(5 * minute)
        try await f.settle()
        let failed = try await f.store.run(id: hung.id)
        #expect(failed?.status == .failed)
        #expect(failed?.errorMessage?.contains("twice the execution timeout") == true)
        runs = try await f.runs(p)
        #expect(runs.filter { $0.window == hung.window && $0.kind == .retry }.map(\.status) == [.completed])
    }

    @Test(arguments: StoreBackend.all) func tooManyDocumentsAndDuplicateIDsFailWithAClearMessage(_ backend: StoreBackend) async throws {
        var options = PipelineScheduler.Options.testing
        options.maxOutputDocuments = 3
        let f = try await PipelineFixture.make(backend, now: utc("2024-05-01T10:30"), options: options)
        defer { f.remove() }
        try await f.insert((0..<5).map { utc("2024-05-01T10:40") + Int64($0) * minute })
        try await f.insert([utc("2024-05-01T11:40")])
        let tooMany = try await f.create(stages: [["$project": ["_id": 0, "t": "$time_received"]]], name: "raw")
        // $group's _id (the location) repeats in every window.
        let grouped = try await f.create(stages: [["$group": ["_id": "$location_id", "n": ["$sum": 1]]]], name: "grouped")
        f.clock.set(utc("2024-05-01T11:02"))
        try await f.settle()
        f.clock.set(utc("2024-05-01T12:02"))
        try await f.settle()

        let raw = try await f.runs(tooMany)
        #expect(raw.first { $0.window.start == utc("2024-05-01T10:00") }?.status == .failed)
        #expect(raw.first { $0.window.start == utc("2024-05-01T10:00") }?.errorMessage?.contains("more than 3 documents") == true)
        #expect(raw.first { $0.window.start == utc("2024-05-01T11:00") }?.status == .completed)

        let runs = try await f.runs(grouped).sorted { $0.window.start < $1.window.start }
        #expect(runs.map(\.status) == [.completed, .failed])
        #expect(runs.last?.errorMessage?.contains("duplicate _id \"lab\"") == true)
        #expect(runs.last?.errorMessage?.contains("_id must be unique across all windows") == true)
        #expect(try await f.sink(grouped).count == 1)
    }

    @Test(arguments: StoreBackend.all) func disableStopsNewRunsAndEnableSkipsOrBackfillsMissedWindows(_ backend: StoreBackend) async throws {
        let f = try await PipelineFixture.make(backend, now: utc("2024-05-01T10:30"))
        defer { f.remove() }
        try await f.insert((10...13).map { utc("2024-05-01T\($0):15") })
        let skip = try await f.create(name: "skip")
        let fill = try await f.create(name: "fill")
        _ = try await f.manager.setEnabled(organizationID: f.org, id: skip.id, enabled: false)
        _ = try await f.manager.setEnabled(organizationID: f.org, id: fill.id, enabled: false)
        f.clock.set(utc("2024-05-01T13:30"))
        try await f.settle()
        #expect(try await f.runs(skip).isEmpty)

        _ = try await f.manager.setEnabled(organizationID: f.org, id: skip.id, enabled: true)
        _ = try await f.manager.setEnabled(organizationID: f.org, id: fill.id, enabled: true, backfillMissed: true)
        f.clock.set(utc("2024-05-01T14:02"))
        try await f.settle()
        #expect(try await f.runs(skip).map(\.window.start) == [utc("2024-05-01T13:00")])
        #expect(
            Set(try await f.runs(fill).map(\.window.start))
                == [utc("2024-05-01T10:00"), utc("2024-05-01T11:00"), utc("2024-05-01T12:00"), utc("2024-05-01T13:00")])
    }

    @Test(arguments: StoreBackend.all) func updateWithRecomputeReplacesHistoryAndChainedPipelinesFollow(_ backend: StoreBackend) async throws {
        let f = try await PipelineFixture.make(backend, now: utc("2024-05-01T10:30"))
        defer { f.remove() }
        try await f.insert((6...9).flatMap { [utc("2024-05-01T0\($0):15"), utc("2024-05-01T0\($0):45")] })
        let hourly = try await f.create(backfill: true)
        let daily = try await f.create(
            schedule: "0 0 * * *", backfill: true,
            stages: [["$group": ["_id": nil, "total": ["$sum": "$count"]]], ["$project": ["_id": 0, "total": 1]]],
            name: "daily", source: .pipelineSink(hourly.id))
        try await f.settle()
        #expect(try await f.sink(hourly).map(\.countField) == [2, 2, 2, 2])

        let updated = try await f.manager.update(
            organizationID: f.org, id: hourly.id, schedule: nil,
            stages: [["$group": ["_id": "$location_id", "count": ["$sum": 10]]], ["$project": ["_id": 0, "count": 1]]], recompute: true)
        #expect(updated.backfillCursor == utc("2024-05-01T10:00"))
        #expect(try await f.sink(hourly).isEmpty)
        try await f.settle()
        #expect(try await f.sink(hourly).map(\.countField) == [20, 20, 20, 20])

        // The daily summary of the hourly sink, at midnight, covers yesterday's windows of the sink.
        f.clock.set(utc("2024-05-02T00:02"))
        try await f.settle()
        let days = try await f.sink(daily)
        #expect(days.last?["total"]?.int64Value == 80)
        #expect(days.last?.runInterval == SinkWindow(start: utc("2024-05-01T00:00"), end: utc("2024-05-02T00:00")))
    }

    @Test(arguments: StoreBackend.all) func deleteRemovesSinkAndRuns(_ backend: StoreBackend) async throws {
        let f = try await PipelineFixture.make(backend, now: utc("2024-05-01T10:30"))
        defer { f.remove() }
        try await f.insert([utc("2024-05-01T09:15")])
        let p = try await f.create(backfill: true)
        try await f.settle()
        #expect(try await f.sink(p).count == 1)
        try await f.manager.delete(organizationID: f.org, id: p.id)
        #expect(try await f.sink(p).isEmpty)
        #expect(try await f.runs(p).isEmpty)
        await #expect(throws: PipelineError.self) { try await f.manager.get(organizationID: f.org, id: p.id) }
    }

    @Test(arguments: StoreBackend.all) func creationValidatesNameScheduleAndStages(_ backend: StoreBackend) async throws {
        let f = try await PipelineFixture.make(backend, now: utc("2024-05-01T10:30"))
        defer { f.remove() }
        _ = try await f.create()
        let duplicate = await #expect(throws: (any Error).self) { try await f.create() }
        #expect("\(duplicate!)".contains("already has a pipeline named \"counts\""))
        let cron = await #expect(throws: (any Error).self) { try await f.create(schedule: "0 * * *", name: "x") }
        #expect("\(cron!)".contains("5 fields"))
        let stage = await #expect(throws: (any Error).self) {
            try await f.create(stages: [["$match": [:]], ["$group": ["count": ["$sum": 1]]]], name: "y")
        }
        #expect("\(stage!)".contains("stage 1"))
        // Another organisation may reuse the name.
        let other = try await f.store.createOrganization(name: "Bolt").id
        _ = try await f.manager.create(
            organizationID: other, name: "counts", schedule: "0 * * * *", stages: PipelineFixture.countStages, enableBackfill: false,
            source: .standard)
    }
}

/// Holds chosen runs "in progress" until released.
final class Gate: Sendable {
    private let released = Mutex(false)
    private let waiting = Mutex(0)

    var waitingCount: Int { waiting.withLock { $0 } }
    func release() { released.withLock { $0 = true } }

    func pass() async {
        waiting.withLock { $0 += 1 }
        while !released.withLock({ $0 }) { try? await Task.sleep(for: .milliseconds(5)) }
    }
}

@Suite struct TimeoutTests {
    @Test(arguments: StoreBackend.all) func aSlowRunTimesOutWithoutBlockingOthersAndItsLateResultIsDiscarded(_ backend: StoreBackend) async throws {
        let f = try await PipelineFixture.make(backend, now: utc("2024-05-01T10:30"))
        defer { f.remove() }
        try await f.insert([utc("2024-05-01T10:10")])
        let slow = try await f.create(name: "slow")
        let quick = try await f.create(name: "quick")
        let gate = Gate()
        await f.scheduler.setBeforeRun { run in
            if run.pipelineID == slow.id { await gate.pass() }
        }
        f.clock.set(utc("2024-05-01T11:02"))
        try await f.scheduler.step()
        // The quick pipeline completes while the slow one is held (waiting for states, not durations).
        var quickDone = false
        for _ in 0..<24_000 where !quickDone {
            quickDone = try await f.runs(quick).first?.status == .completed
            if !quickDone { try await Task.sleep(for: .milliseconds(5)) }
        }
        #expect(quickDone)
        #expect(try await f.runs(slow).first?.status == .started)
        #expect(gate.waitingCount == 1)

        f.clock.advance(5 * minute)
        try await f.scheduler.step()
        let failed = try await f.runs(slow).first
        #expect(failed?.status == .failed)
        #expect(failed?.errorMessage?.contains("timed out") == true)

        gate.release()
        await f.scheduler.waitForRuns()
        #expect(try await f.store.run(id: failed!.id)?.status == .failed, "a result after the timeout is not written")
        #expect(try await f.sink(slow).isEmpty)
        #expect(try await f.sink(quick).first?.countField == 1)
    }

    @Test(arguments: StoreBackend.all) func lateDataUpstreamReRunsTheChainedDownstreamWindow(_ backend: StoreBackend) async throws {
        let f = try await PipelineFixture.make(backend, now: utc("2024-05-01T10:30"))
        defer { f.remove() }
        try await f.insert([utc("2024-05-01T07:15"), utc("2024-05-01T08:15")])
        let hourly = try await f.create(backfill: true)
        let daily = try await f.create(
            schedule: "0 0 * * *", backfill: true,
            stages: [["$group": ["_id": nil, "total": ["$sum": "$count"]]], ["$project": ["_id": 0, "total": 1]]],
            name: "daily", source: .pipelineSink(hourly.id))
        f.clock.set(utc("2024-05-02T00:02"))
        // The daily run may read the hourly sink while hourly runs still complete; their new results
        // re-run it on the next step, so two steps settle it.
        try await f.settle()
        try await f.settle()
        #expect(try await f.sink(daily).last?["total"]?.int64Value == 2)
        let rerunsBefore = try await f.runs(daily).filter { $0.kind == .rerun }.count

        // A late reading re-runs the hourly window [07, 08), whose new result re-runs the daily window.
        try await f.insert([utc("2024-05-01T07:45")])
        try await f.settle()
        try await f.settle()
        let days = try await f.sink(daily)
        #expect(days.count == 1)
        #expect(days.last?["total"]?.int64Value == 3)
        #expect(try await f.runs(daily).filter { $0.kind == .rerun }.count == rerunsBefore + 1)
    }
}

@Suite struct LoadTests {
    /// Many pipelines and many windows: after a server was down for an hour, every minute window
    /// of every pipeline runs exactly once, and none is lost.
    @Test(arguments: StoreBackend.all) func manyPipelinesCatchUpEveryMissedWindowExactlyOnce(_ backend: StoreBackend) async throws {
        var options = PipelineScheduler.Options.testing
        options.maxConcurrentRuns = 8
        options.startDelay = .zero
        let f = try await PipelineFixture.make(backend, now: utc("2024-05-01T10:00"), options: options)
        defer { f.remove() }
        try await f.insert((0..<60).map { utc("2024-05-01T10:00") + Int64($0) * minute + 30_000 })
        var pipelines: [PipelineRecord] = []
        for i in 0..<20 {
            pipelines.append(try await f.create(schedule: "* * * * *", name: "p\(i)"))
        }
        f.clock.set(utc("2024-05-01T11:00"))
        for _ in 0..<400 {
            try await f.settle()
            if try await f.store.activeRuns().isEmpty { break }
        }
        for p in pipelines {
            let runs = try await f.runs(p)
            #expect(runs.count == 60, "[10:00, 11:00) in minute windows")
            #expect(runs.allSatisfy { $0.status == .completed })
            #expect(Set(runs.map(\.window)).count == runs.count)
            let sink = try await f.sink(p)
            #expect(sink.count == 60)
            #expect(sink.allSatisfy { $0.countField == 1 })
        }
    }
}

@Suite struct LeaseTests {
    @Test(arguments: StoreBackend.all) func aSecondSchedulerOnTheSameDataDirectoryStandsByUntilTheFirstStops(_ backend: StoreBackend) async throws {
        var options = PipelineScheduler.Options.testing
        options.leaseDuration = .milliseconds(2 * hour)
        let f = try await PipelineFixture.make(backend, now: utc("2024-05-01T10:30"), options: options)
        defer { f.remove() }
        try await f.insert([utc("2024-05-01T10:10")])
        let p = try await f.create()
        let second = PipelineScheduler(store: f.store, operators: .builtin, clock: f.clock, options: options)
        try await f.settle()
        f.clock.set(utc("2024-05-01T11:02"))
        try await second.step()
        await second.waitForRuns()
        #expect(try await f.runs(p).isEmpty, "the standby neither plans nor runs")
        try await f.settle()
        #expect(try await f.runs(p).map(\.status) == [.completed])

        // The first stops renewing (its lease ran from 11:02 to 13:02): the second takes over.
        f.clock.set(utc("2024-05-01T13:03"))
        try await second.step()
        await second.waitForRuns()
        #expect(try await f.runs(p).map(\.status) == [.completed, .completed, .completed])
    }

    /// Renewing is a durable write: a step less than a tenth of the lease after the last renewal
    /// keeps the lease as it is, and the first step after that goes to the store again.
    @Test(arguments: StoreBackend.all) func stepsInQuickSuccessionRenewTheLeaseOncePerTenthOfIt(_ backend: StoreBackend) async throws {
        var options = PipelineScheduler.Options.testing
        options.leaseDuration = .seconds(100)
        let start = utc("2024-05-01T10:00")
        let f = try await PipelineFixture.make(backend, now: start, options: options)
        defer { f.remove() }
        try await f.settle()
        f.clock.set(start + 9_000)
        try await f.settle()
        // Still the lease of the first step, to start + 100 s: not renewed to start + 109 s.
        #expect(try await !f.store.acquireSchedulerLease(owner: "probe", now: start + 99_999, duration: 0))
        #expect(try await f.store.acquireSchedulerLease(owner: "probe", now: start + 100_001, duration: 0))
        #expect(await f.scheduler.holdsLease == true)
        // The probe's entry runs to start + 100.001 s; ten seconds in, the scheduler asks the store and finds it.
        f.clock.set(start + 10_000)
        try await f.settle()
        #expect(await f.scheduler.holdsLease == false)
    }
}
