import Dispatch
import FerryBSON
import FerryClock
import FerryMQL
import FerryPipelines
import FerryStore
import Foundation
import Logging

/// A year of readings and the README's example pipeline over it, backfilled window by window by the
/// real scheduler: what the pipeline benchmarks run on either backend.
public enum YearBackfill {
    public static let year0: Int64 = 1_672_531_200_000  // 2023-01-01T00:00:00Z
    public static let hourMillis: Int64 = 3_600_000
    public static let hours: Int64 = 8_760
    public static let stages: [BSONDocument] = [
        ["$match": ["component_name": "sensor"]],
        ["$group": ["_id": "$location_id", "avg_temp": ["$avg": "$data.readings.temperature"], "count": ["$sum": 1]]],
        ["$project": ["location": "$_id", "avg_temp": 1, "count": 1, "_id": 0]],
    ]

    /// Reading `i` of `count` spread evenly over 2023: 90% from component `sensor`, 3 locations.
    public static func reading(_ i: Int, of count: Int, organization: String) -> Reading {
        let t = year0 + Int64(Double(i) * Double(hours * hourMillis) / Double(count))
        return Reading(
            organizationID: organization, locationID: "loc-\(i % 3)", robotID: "robot", partID: "part",
            componentType: "rdk:component:sensor", componentName: i % 10 == 9 ? "other" : "sensor", methodName: "Readings",
            timeRequested: t - 2, timeReceived: t,
            data: ["readings": ["temperature": .double(15 + Double(i % 200) / 10), "humidity": .double(40 + Double(i % 7))]])
    }

    /// Inserts the year in batches of 20,000, handing each batch to `alsoInsert` (a peer's copy).
    public static func load(
        _ count: Int, into store: any ReadingIngest, organization: String, alsoInsert: ([Reading]) async throws -> Void = { _ in }
    ) async throws {
        let batch = 20_000
        for first in stride(from: 0, to: count, by: batch) {
            let rows = (first..<min(count, first + batch)).map { reading($0, of: count, organization: organization) }
            _ = try await store.insert(rows, idempotencyKey: nil)
            try await alsoInsert(rows)
        }
    }

    public struct Result {
        public var seconds: Double
        /// This process's CPU time over the backfill (the store's own, for PostgreSQL, not included).
        public var cpuSeconds: Double
        public var steps: Int
        public var windows: Int
        public var runs: String
        public var sink: [BSONDocument]
    }

    /// Windows per backfill batch: `PIPELINE_BENCH_BATCH`, default the scheduler's own (10).
    public static var batchSize: Int {
        Int(ProcessInfo.processInfo.environment["PIPELINE_BENCH_BATCH"] ?? "") ?? PipelineScheduler.Options().backfillBatchSize
    }

    /// Creates the pipeline with backfill at the end of the year and lets the scheduler run every
    /// window (`batchSize` at once, no throttle), newest first, until none is left.
    /// `readsOnlyNeededFields` off reads whole readings (as before projection pushdown); each
    /// call makes its own pipeline (`name`), so both can run over the same store.
    public static func run(
        store: any (PipelineStore & ReadingQueries), organization: String, name: String = "hourly", readsOnlyNeededFields: Bool = true
    ) async throws -> Result {
        var options = PipelineScheduler.Options()
        options.backfillBatchSize = batchSize
        options.maxBatchWindows = max(options.maxBatchWindows, batchSize)
        options.backfillThrottle = .zero
        options.startDelay = .zero
        options.maxOutputDocuments = 10_000
        options.readsOnlyNeededFields = readsOnlyNeededFields
        let clock = FixedClock(millis: year0 + hours * hourMillis + 30 * 60_000)
        let manager = PipelineManager(store: store, operators: .builtin, clock: clock)
        let pipeline = try await manager.create(
            organizationID: organization, name: name, schedule: "0 * * * *", stages: stages, enableBackfill: true, source: .standard)
        var logger = Logger(label: "ferry.pipelines")
        logger.logLevel = .warning
        let scheduler = PipelineScheduler(store: store, operators: .builtin, clock: clock, options: options, logger: logger)
        let started = ContinuousClock.now
        let cpuStarted = Bench.processCPUSeconds()
        var steps = 0
        while true {
            try await scheduler.step()
            await scheduler.waitForRuns()
            steps += 1
            let current = try await store.pipeline(id: pipeline.id)
            if current?.backfillCursor == nil, try await store.activeRuns().isEmpty { break }
        }
        let seconds = Bench.seconds(ContinuousClock.now - started)
        let cpuSeconds = Bench.processCPUSeconds() - cpuStarted
        // Hand the store's scheduler lease back (run() after stop() only does that), so that a
        // next call's scheduler is not kept standing by on the fixed clock.
        await scheduler.stop()
        await scheduler.run()
        let counts = try await store.runCounts(pipelineID: pipeline.id)
        let sink = try await store.sinkDocuments(organizationID: organization, pipelineID: pipeline.id, window: nil, limit: nil)
        return Result(
            seconds: seconds, cpuSeconds: cpuSeconds, steps: steps, windows: counts.values.reduce(0, +),
            runs: counts.map { "\($0.value) \($0.key.rawValue.lowercased())" }.sorted().joined(separator: ", "), sink: sink)
    }

    /// Sink rows whose count differs from the peer's `"HOUR_MILLIS/LOCATION" → count`, plus rows either side lacks.
    public static func mismatches(_ sink: [BSONDocument], peer: [String: Int]) -> Int {
        var mismatches = 0
        for document in sink {
            guard case .document(let meta)? = document["_viam_pipeline_run"], case .document(let interval)? = meta["interval"],
                case .datetime(let start)? = interval["start"], let location = document["location"]?.stringValue
            else {
                mismatches += 1
                continue
            }
            if peer["\(start)/\(location)"] != document["count"]?.int64Value.map(Int.init) { mismatches += 1 }
        }
        return mismatches + abs(sink.count - peer.count)
    }
}

/// Holds "now" at the end of the benchmark year, so every window is history to backfill.
public struct FixedClock: FerryClock {
    let millis: Int64
    public init(millis: Int64) { self.millis = millis }
    public func now() -> Date { Date(unixMilliseconds: millis) }
    public func uptime() -> Duration { SystemClock().uptime() }
    public func sleep(for duration: Duration) async { await Task.yield() }
    public func repeatingTimer(queue: DispatchQueue, every interval: Duration, handler: @escaping @Sendable () -> Void) -> any RepeatingTimer {
        SystemClock().repeatingTimer(queue: queue, every: interval, handler: handler)
    }
}
