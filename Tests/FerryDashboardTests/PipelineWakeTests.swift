import FerryClock
import FerryMQL
import FerryPipelines
import FerryStore
import FerryTestSupport
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@testable import FerryDashboard

/// A pipeline made on the dashboard is planned at once: the handler wakes the scheduler, as the
/// gRPC API does, instead of leaving it for the next poll.
@Suite struct PipelineWakeTests {
    @Test func aPipelineCreatedOnTheDashboardIsSeenByTheSchedulerWithoutWaitingForItsPoll() async throws {
        let f = try await DashboardTests.Fixture.make()
        defer { f.test.remove() }
        let now = f.clock.now().unixMilliseconds
        // Data three hours back, so a pipeline with backfill has windows to run at its first planning.
        _ = try await f.store.insert(
            (1...3).map { f.reading(at: now - Int64($0) * 3_600_000, data: ["readings": ["t": .double(Double($0))]]) }, idempotencyKey: nil)
        var options = PipelineScheduler.Options()
        options.pollInterval = .seconds(3600)  // the clock never moves: only a wake makes a second step
        options.backfillThrottle = .zero
        // Runs are planned (SCHEDULED) but none starts: what the test looks at is the planning alone.
        options.maxConcurrentRuns = 0
        let scheduler = PipelineScheduler(store: f.store, operators: MQLOperatorRegistry(), clock: f.clock, options: options)
        let dashboard = Dashboard(
            store: f.store, operators: MQLOperatorRegistry(), tokenSigningKey: try await f.store.tokenSigningKey(), clock: f.clock,
            pipelineChanged: { await scheduler.wake() })
        let manager = PipelineManager(store: f.store, operators: MQLOperatorRegistry(), clock: f.clock)
        let running = Task { await scheduler.run() }
        defer { running.cancel() }

        /// Waits (on real time, with a deadline) until the scheduler has planned runs for `id`.
        func runs(of id: String) async throws -> Int {
            let deadline = ContinuousClock.now + .seconds(30)
            while ContinuousClock.now < deadline {
                let count = try await f.store.runs(pipelineID: id, before: nil, limit: 100).count
                if count > 0 { return count }
                try await Task.sleep(for: .milliseconds(20))
            }
            return 0
        }
        // The scheduler's first step: it plans a pipeline that existed before it started.
        let first = try await manager.create(
            organizationID: f.org, name: "before", schedule: "0 * * * *", stages: [["$match": [:]]], enableBackfill: true, source: .standard)
        #expect(try await runs(of: first.id) > 0, "the first step ran")

        let start = f.clock.now()
        try await Application(router: dashboard.router()).test(.router) { client in
            var owner = DashboardTests.Browser()
            _ = try await owner.signIn(client, f.owner)
            let list = try await owner.get(client, "/pipelines")
            let created = try await owner.post(
                client, "/pipelines",
                [("csrf", DashboardTests.Browser.csrf(in: list)), ("name", "from the dashboard"), ("schedule", "0 * * * *"), ("mql", "[{\"$match\": {}}]"),
                 ("backfill", "on")])
            #expect(created.status == .seeOther)
        }
        let made = try #require(try await f.store.pipelines(organizationID: f.org).first { $0.name == "from the dashboard" })
        #expect(try await runs(of: made.id) > 0, "the scheduler planned the new pipeline's backfill at once")
        #expect(f.clock.now() == start, "with the clock standing still: no poll interval passed")
        // The loop ends in the background (the deferred cancel); what it does then is SchedulerShutdownTests' business.
        await scheduler.stop()
    }
}
