import FerryBSON
import FerryClock
import FerryMQL
import FerryStore
import FerryTestSupport
import Foundation
import StoreTestSupport
import Synchronization

@testable import FerryPipelines

/// The tests move the shared manual clock in the pipelines' own unit, milliseconds since the epoch.
extension ManualClock {
    convenience init(_ start: Int64) { self.init(now: Date(unixMilliseconds: start)) }
    /// Moves forward to `ms` (tests call `step()` themselves; the clock only wakes sleepers).
    func set(_ ms: Int64) { advance(to: Date(unixMilliseconds: ms)) }
    func advance(_ ms: Int64) { advance(by: .milliseconds(ms)) }
}

/// UTC "YYYY-MM-DDTHH:MM" to ms.
func utc(_ text: String) -> Int64 {
    let parts = text.split(whereSeparator: { "-T:".contains($0) }).map { Int($0)! }
    let day = CivilDate(year: Int64(parts[0]), month: parts[1], day: parts[2]).dayNumber
    return day * 86_400_000 + Int64(parts[3]) * 3_600_000 + Int64(parts[4]) * 60_000
}

func iso(_ ms: Int64?) -> String { ms.map(ISODate.string) ?? "nil" }

let minute: Int64 = 60_000
let hour: Int64 = 3_600_000

/// A fresh store of one backend with one organisation, a manual clock and a scheduler.
struct PipelineFixture {
    let testStore: TestStore
    let org: String
    let clock: ManualClock
    let manager: PipelineManager
    let scheduler: PipelineScheduler
    var store: any DataStore { testStore.store }

    static func make(_ backend: StoreBackend, now: Int64, options: PipelineScheduler.Options = .testing) async throws
        -> PipelineFixture
    {
        let testStore = try await TestStore.make(backend)
        let store = testStore.store
        let org = try await store.createOrganization(name: "Acme").id
        let clock = ManualClock(now)
        return PipelineFixture(
            testStore: testStore, org: org, clock: clock,
            manager: PipelineManager(store: store, operators: .builtin, clock: clock),
            scheduler: PipelineScheduler(store: store, operators: .builtin, clock: clock, options: options))
    }

    func remove() { testStore.remove() }

    /// One sensor reading at `time` with a temperature.
    func reading(at time: Int64, temperature: Double = 20, location: String = "lab", component: String = "sensor") -> Reading {
        Reading(
            organizationID: org, locationID: location, robotID: "robot", partID: "part", componentType: "rdk:component:sensor",
            componentName: component, methodName: "Readings", timeRequested: time - 1, timeReceived: time, tags: [],
            additionalParameters: [:], data: ["readings": ["temperature": .double(temperature)]])
    }

    func insert(_ times: [Int64], temperature: Double = 20) async throws {
        _ = try await store.insert(times.map { reading(at: $0, temperature: temperature) }, idempotencyKey: nil)
    }

    /// A step, then every run it started, finished.
    func settle() async throws {
        try await scheduler.step()
        await scheduler.waitForRuns()
    }

    func runs(_ pipeline: PipelineRecord) async throws -> [PipelineRunRecord] {
        try await store.runs(pipelineID: pipeline.id, before: nil, limit: 100_000)
    }

    func sink(_ pipeline: PipelineRecord) async throws -> [BSONDocument] {
        try await store.sinkDocuments(organizationID: org, pipelineID: pipeline.id, window: nil, limit: nil)
    }

    static let countStages: [BSONDocument] = [
        ["$match": ["component_name": "sensor"]],
        ["$group": ["_id": "$location_id", "count": ["$sum": 1], "avg": ["$avg": "$data.readings.temperature"]]],
        ["$project": ["location": "$_id", "count": 1, "avg": 1, "_id": 0]],
    ]

    func create(
        schedule: String = "0 * * * *", backfill: Bool = false, stages: [BSONDocument] = countStages, name: String = "counts",
        source: PipelineSource = .standard
    ) async throws -> PipelineRecord {
        try await manager.create(
            organizationID: org, name: name, schedule: schedule, stages: stages, enableBackfill: backfill, source: source)
    }
}

extension PipelineScheduler.Options {
    static var testing: PipelineScheduler.Options {
        var options = PipelineScheduler.Options()
        options.startDelay = .seconds(2 * 60)
        options.executionTimeout = .seconds(5 * 60)
        options.backfillThrottle = .seconds(2 * 60)
        options.runRetention = nil
        return options
    }
}

extension BSONDocument {
    var runInterval: SinkWindow? {
        guard case .document(let meta)? = self["_viam_pipeline_run"], case .document(let interval)? = meta["interval"],
            case .datetime(let start)? = interval["start"], case .datetime(let end)? = interval["end"]
        else { return nil }
        return SinkWindow(start: start, end: end)
    }

    var countField: Int? { self["count"]?.int64Value.map(Int.init) }
}
