import FerryBSON
import FerryStore
import FerryTestSupport
import StoreTestSupport
import Synchronization
import Testing

@testable import FerryPipelines

/// Windows that follow each other and are due together run as one batch: one claim, one paged
/// read split at the window edges, one transaction that ends them all. Each test backfills the five
/// hourly windows [05:00, 10:00) of 2024-05-01, which one step starts as one batch.
@Suite struct BatchTests {
    static let now = utc("2024-05-01T10:30")

    /// Counts of the sink by window start.
    func counts(_ f: PipelineFixture, _ p: PipelineRecord) async throws -> [Int64: Int] {
        var counts: [Int64: Int] = [:]
        for document in try await f.sink(p) { counts[document.runInterval!.start, default: 0] += document.countField ?? 0 }
        return counts
    }

    func options(batchRows: Int = 100_000, maxOutput: Int = 10_000) -> PipelineScheduler.Options {
        var options = PipelineScheduler.Options.testing
        options.batchRows = batchRows
        options.maxOutputDocuments = maxOutput
        return options
    }

    /// The row count of every read the batches make.
    final class Reads: Sendable {
        private let sizes = Mutex<[Int]>([])
        var all: [Int] { sizes.withLock { $0 } }
        func append(_ rows: Int) { sizes.withLock { $0.append(rows) } }
    }

    func recordingReads(_ f: PipelineFixture) async -> Reads {
        let reads = Reads()
        await f.scheduler.setAfterRead { rows in reads.append(rows) }
        return reads
    }

    @Test(arguments: StoreBackend.all, [100_000, 2, 1])
    func aReadingOnAWindowEdgeGoesToExactlyOneWindow(_ backend: StoreBackend, batchRows: Int) async throws {
        let f = try await PipelineFixture.make(backend, now: Self.now, options: options(batchRows: batchRows))
        defer { f.remove() }
        // On the edges (start inclusive, end exclusive) and a millisecond before one.
        try await f.insert([
            utc("2024-05-01T05:00"), utc("2024-05-01T06:00"), utc("2024-05-01T07:00") - 1, utc("2024-05-01T07:00"),
            utc("2024-05-01T08:00"), utc("2024-05-01T09:30"),
        ])
        let p = try await f.create(backfill: true)
        let reads = await recordingReads(f)
        try await f.settle()
        let runs = try await f.runs(p)
        #expect(runs.count == 5)
        #expect(runs.allSatisfy { $0.kind == .backfill && $0.status == .completed && $0.startedAt == Self.now })
        #expect(
            try await counts(f, p) == [
                utc("2024-05-01T05:00"): 1, utc("2024-05-01T06:00"): 2, utc("2024-05-01T07:00"): 1, utc("2024-05-01T08:00"): 1,
                utc("2024-05-01T09:00"): 1,
            ])
        // Windows without readings have no result, but their runs completed too.
        #expect(try await f.sink(p).count == 5)
        if batchRows == 100_000 {
            #expect(reads.all == [6], "the whole batch in one read")
        } else {
            #expect(reads.all.allSatisfy { $0 <= batchRows + 1 })
        }
    }

    @Test(arguments: StoreBackend.all)
    func theRowBoundPagesTheBatchAndAWindowOverItRunsAlone(_ backend: StoreBackend) async throws {
        let f = try await PipelineFixture.make(backend, now: Self.now, options: options(batchRows: 3))
        defer { f.remove() }
        let perWindow = [5: 2, 6: 5, 7: 1, 8: 3, 9: 1]
        try await f.insert(perWindow.flatMap { hourOfDay, n in (0..<n).map { utc("2024-05-01T0\(hourOfDay):10") + Int64($0) * minute } })
        let p = try await f.create(backfill: true)
        let reads = await recordingReads(f)
        try await f.settle()
        #expect(try await f.runs(p).map(\.status) == Array(repeating: .completed, count: 5))
        #expect(try await counts(f, p) == Dictionary(uniqueKeysWithValues: perWindow.map { (utc("2024-05-01T0\($0.key):00"), $0.value) }))
        let sizes = reads.all
        // Never more than the bound plus the one row that says more follows; so several reads.
        #expect(sizes.count > 1)
        #expect(sizes.allSatisfy { $0 <= 4 }, "\(sizes)")
    }

    @Test(arguments: StoreBackend.all)
    func aWindowThatFailsIsFailedWithItsErrorWhileTheRestOfTheBatchCompletes(_ backend: StoreBackend) async throws {
        let f = try await PipelineFixture.make(backend, now: Self.now, options: options(maxOutput: 1))
        defer { f.remove() }
        try await f.insert((5...9).map { utc("2024-05-01T0\($0):30") })
        // Two locations in [07, 08): two result documents, over the limit of one.
        _ = try await f.store.insert([f.reading(at: utc("2024-05-01T07:40"), location: "yard")], idempotencyKey: nil)
        let p = try await f.create(backfill: true)
        // $group's _id (the location) repeats in every window: only one window's result can be stored.
        let keyed = try await f.create(
            backfill: true, stages: [["$match": ["location_id": "lab"]], ["$group": ["_id": "$location_id", "n": ["$sum": 1]]]],
            name: "keyed")
        try await f.settle()

        let runs = try await f.runs(p)
        let failed = runs.filter { $0.status == .failed }
        #expect(failed.map(\.window.start) == [utc("2024-05-01T07:00")])
        #expect(failed.first?.errorMessage?.contains("more than 1 documents") == true)
        #expect(runs.filter { $0.status == .completed }.count == 4)
        #expect(try await counts(f, p).keys.sorted() == [5, 6, 8, 9].map { utc("2024-05-01T0\($0):00") })

        let keyedRuns = try await f.runs(keyed)
        #expect(keyedRuns.filter { $0.status == .completed }.count == 1)
        let clashes = keyedRuns.filter { $0.status == .failed }
        #expect(clashes.count == 4)
        #expect(clashes.allSatisfy { $0.errorMessage?.contains("duplicate _id \"lab\"") == true }, "\(clashes.map(\.errorMessage))")
        #expect(try await f.sink(keyed).count == 1)
        #expect(try await f.store.activeRuns().isEmpty)
    }

    @Test(arguments: StoreBackend.all)
    func aBatchCutShortByAStopLosesNoWindowAndResumes(_ backend: StoreBackend) async throws {
        let f = try await PipelineFixture.make(backend, now: Self.now)
        defer { f.remove() }
        try await f.insert((5...9).flatMap { [utc("2024-05-01T0\($0):15"), utc("2024-05-01T0\($0):45")] })
        let p = try await f.create(backfill: true)
        let gate = Gate()
        await f.scheduler.setBeforeRun { _ in await gate.pass() }
        let loop = Task { await f.scheduler.run() }
        #expect(await eventuallyAsync { gate.waitingCount == 5 })
        #expect(await f.scheduler.runningCount == 5)
        #expect(await f.scheduler.executions == 1, "one batch")
        await f.scheduler.stop()
        loop.cancel()
        gate.release()
        await loop.value

        var runs = try await f.runs(p)
        let cut = runs.filter { $0.status == .failed }
        #expect(cut.count == 5)
        #expect(cut.allSatisfy { $0.errorMessage?.contains("the server stopped while this run was in progress") == true })
        #expect(Set(runs.filter { $0.kind == .retry && $0.status == .scheduled }.map(\.window)) == Set(cut.map(\.window)))
        #expect(try await f.sink(p).isEmpty)

        // The restarted server runs the re-created windows, again as one batch.
        let restarted = PipelineScheduler(store: f.store, operators: .builtin, clock: f.clock, options: .testing)
        try await restarted.step()
        await restarted.waitForRuns()
        runs = try await f.runs(p)
        #expect(runs.filter { $0.kind == .retry }.map(\.status) == Array(repeating: .completed, count: 5))
        #expect(try await counts(f, p) == Dictionary(uniqueKeysWithValues: (5...9).map { (utc("2024-05-01T0\($0):00"), 2) }))
    }

    @Test(arguments: StoreBackend.all)
    func aBatchHasTheExecutionTimeoutOncePerWindow(_ backend: StoreBackend) async throws {
        let f = try await PipelineFixture.make(backend, now: Self.now)
        defer { f.remove() }
        try await f.insert((5...9).map { utc("2024-05-01T0\($0):30") })
        let p = try await f.create(backfill: true)
        let gate = Gate()
        await f.scheduler.setBeforeRun { _ in await gate.pass() }
        try await f.scheduler.step()
        #expect(await eventuallyAsync { gate.waitingCount == 5 })

        // Five windows of five minutes each: still going after one timeout is not late.
        f.clock.advance(24 * minute)
        try await f.scheduler.step()
        #expect(try await f.runs(p).map(\.status) == Array(repeating: .started, count: 5))
        f.clock.advance(1 * minute)
        try await f.scheduler.step()
        let runs = try await f.runs(p)
        #expect(runs.map(\.status) == Array(repeating: .failed, count: 5))
        #expect(runs.allSatisfy { $0.errorMessage?.contains("timed out") == true && $0.errorMessage?.contains("5 windows ran together") == true })
        gate.release()
        await f.scheduler.waitForRuns()
        #expect(try await f.runs(p).map(\.status) == Array(repeating: .failed, count: 5), "results after the timeout are not written")
        #expect(try await f.sink(p).isEmpty)
    }
}
