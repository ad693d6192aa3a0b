import FerryBSON
import Foundation
import StoreTestSupport
import Testing

@testable import FerryStore

@Suite struct HotStorageTests {
    static let hour: Int64 = 3_600_000
    func date(_ ms: Int64) -> Date { Date(timeIntervalSince1970: Double(ms) / 1000) }

    func hot(_ f: StoreFixture, _ org: String) async throws -> [Int] {
        try await f.store.readings(organizationID: org, source: .hotStorage, filter: .all, sortByTimeDescending: false, limit: nil)
            .compactMap(\.recordIndex)
    }

    @Test(arguments: StoreBackend.all) func pruningFollowsTheInjectedClock(_ backend: StoreBackend) async throws {
        let f = try await StoreFixture.make(backend, hotStorageHours: 2)
        defer { f.remove() }
        let t0 = StoreFixture.t0
        let times: [Int64] = [t0 - 3 * Self.hour, t0 - 2 * Self.hour - 1, t0 - 2 * Self.hour, t0 - Self.hour, t0]
        let batch = times.enumerated().map { StoreFixture.reading($0.offset, org: f.orgA, time: $0.element) }
        _ = try await f.store.insert(batch, idempotencyKey: nil)
        #expect(try await hot(f, f.orgA) == [0, 1, 2, 3, 4], "hot storage starts with every new reading")
        #expect(try await f.store.pruneHotStorage(now: date(t0)) == 2)
        #expect(try await hot(f, f.orgA) == [2, 3, 4], "the window's start is inclusive")
        #expect(try await f.store.pruneHotStorage(now: date(t0)) == 0)
        // An earlier clock does not bring anything back, nor move the cutoff backwards.
        #expect(try await f.store.pruneHotStorage(now: date(t0 - 10 * Self.hour)) == 0)
        // A late reading older than the cutoff goes to standard storage only.
        _ = try await f.store.insert([StoreFixture.reading(9, org: f.orgA, time: t0 - 5 * Self.hour)], idempotencyKey: nil)
        _ = try await f.store.insert([StoreFixture.reading(8, org: f.orgA, time: t0 + 1)], idempotencyKey: nil)
        #expect(try await hot(f, f.orgA) == [2, 3, 4, 8])
        let standard = try await f.store.readings(organizationID: f.orgA, source: .standard, filter: .all, sortByTimeDescending: false, limit: nil)
        #expect(standard.count == 7, "standard storage keeps everything")
        #expect(try await f.store.pruneHotStorage(now: date(t0 + 3 * Self.hour)) == 4)
        #expect(try await hot(f, f.orgA) == [])
    }

    @Test(arguments: StoreBackend.all) func hotStorageCanBeTurnedOff(_ backend: StoreBackend) async throws {
        let f = try await StoreFixture.make(backend, hotStorageHours: nil)
        defer { f.remove() }
        _ = try await f.store.insert(StoreFixture.readings(0..<3, org: f.orgA), idempotencyKey: nil)
        #expect(try await hot(f, f.orgA).isEmpty)
        #expect(try await f.store.pruneHotStorage(now: Date()) == 0)
    }

    @Test(arguments: StoreBackend.all) func invalidWindowIsRefused(_ backend: StoreBackend) async throws {
        var options = StoreOptions.testing
        options.hotStorageHours = 0
        let error = await storeError { _ = try await TestStore.make(backend, options: options) }
        #expect(error?.kind == .invalidArgument)
        #expect(error?.message.contains("from 1 to 876000") == true)
    }
}
