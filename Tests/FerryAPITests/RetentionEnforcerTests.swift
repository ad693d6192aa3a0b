import FerryBSON
import FerryStore
import FerryTestSupport
import Foundation
import GRPCCore
import Logging
import StoreTestSupport
import Synchronization
import Testing

@testable import FerryAPI

/// The data server's retention enforcer on a real store of each backend, on a manual clock, and
/// the request-metadata entry that carries a policy.
@Suite struct RetentionEnforcerTests {
    static let day: Int64 = 86_400_000
    /// 2026-03-10T00:00:00Z.
    static let midnight: Int64 = 1_773_100_800_000

    final class Passes: Sendable {
        let passes = Mutex<[(at: Int64, deleted: RetentionDeletion)]>([])
        var all: [(at: Int64, deleted: RetentionDeletion)] { passes.withLock { $0 } }
    }

    @Test(arguments: StoreBackend.all) func passesRunOnTheClockAndDeleteWhatAgedOut(_ backend: StoreBackend) async throws {
        let testStore = try await TestStore.make(backend)
        defer { testStore.remove() }
        let store = testStore.store
        let org = try await store.createOrganization(name: "Acme").id
        let resource = RetentionResource(organizationID: org, partID: "part", componentName: "temp", methodName: "Readings")
        func reading(at time: Int64) -> Reading {
            Reading(
                organizationID: org, partID: "part", componentName: "temp", methodName: "Readings", timeRequested: time, timeReceived: time,
                data: ["readings": ["t": .int64(time)]])
        }
        // Yesterday noon and today 06:00; another method without a policy keeps everything.
        _ = try await store.insert([reading(at: Self.midnight - Self.day / 2), reading(at: Self.midnight + Self.day / 4)], idempotencyKey: nil)
        var untouched = reading(at: Self.midnight - Self.day)
        untouched.methodName = "Position"
        _ = try await store.insert([untouched], idempotencyKey: nil)
        try await store.setRetentionPolicy(RetentionPolicy(days: 1), for: resource)

        let clock = ManualClock(now: Date(unixMilliseconds: Self.midnight + Self.day / 2))
        let passes = Passes()
        let enforcer = RetentionEnforcer(store: store, clock: clock, interval: .seconds(3600), logger: Logger(label: "test"))
        let running = Task { await enforcer.run { date, deleted in passes.passes.withLock { $0.append((date.unixMilliseconds, deleted)) } } }
        // The first pass runs at once: yesterday's reading goes. (The bound is generous: with the
        // whole suite in parallel on 2 cores, a task can wait half a minute for a thread.)
        #expect(await Self.until(timeout: 120) { passes.all.count == 1 })
        #expect(passes.all.first?.at == Self.midnight + Self.day / 2)
        #expect(passes.all.first?.deleted == RetentionDeletion(readings: 1))
        // Hour by hour to past midnight: only the first pass from midnight on deletes today's reading.
        let tomorrow = Self.midnight + Self.day
        for _ in 0..<48 where !passes.all.contains(where: { $0.at >= tomorrow }) {
            let seen = passes.all.count
            clock.advance(by: .seconds(3600))
            _ = await Self.until(timeout: 0.5) { passes.all.count > seen }
        }
        let all = passes.all
        #expect(all.dropFirst().filter { $0.at < tomorrow }.allSatisfy { $0.deleted.isEmpty }, "\(all)")
        #expect(all.first { $0.at >= tomorrow }?.deleted == RetentionDeletion(readings: 1), "\(all)")
        running.cancel()
        await running.value
        let left = try await store.readings(organizationID: org, source: .standard, filter: .all, sortByTimeDescending: false, limit: nil)
        #expect(left.map { $0["method_name"]?.stringValue } == ["Position"])
    }

    @Test func theHeaderCarriesViamsKeys() throws {
        func policy(_ value: String?) throws -> RetentionPolicy? {
            var metadata = Metadata()
            if let value { metadata.addString(value, forKey: "ferry-retention-policy") }
            return try RetentionHeader.policy(from: metadata)
        }
        #expect(try policy(nil) == nil, "an upload without it leaves the policy alone")
        #expect(try policy("{}") == RetentionPolicy())
        #expect(
            try policy(#"{"days": 5, "binary_limit_gb": 2.0, "tabular_limit_gb": 0.000001}"#)
                == RetentionPolicy(days: 5, binaryLimitBytes: 2_000_000_000, tabularLimitBytes: 1000))
        for (bad, message) in [
            ("5", "is not a JSON object"), (#"{"days": 0}"#, "days must be a whole number from 1"),
            (#"{"binary_limit_gb": -1}"#, "binary_limit_gb must be gigabytes more than 0"), (#"{"weeks": 1}"#, #"unknown key "weeks""#),
        ] {
            let error = #expect(throws: RPCError.self) { try policy(bad) }
            #expect(error?.code == .invalidArgument && error?.message.contains(message) == true, "\(String(describing: error))")
        }
    }

    /// Polls `condition` (a pass reported, say) until it holds or `timeout` seconds of wall time pass.
    static func until(timeout: Double = 30, _ condition: () -> Bool) async -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return condition()
    }
}
