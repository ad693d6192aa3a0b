import FerryBSON
import FerryStore
import Foundation
import StoreTestSupport
import Testing

/// Retention policies per resource and their enforcement, alike on every backend: the days limit
/// cuts at midnight UTC, size limits delete the oldest first, and nothing outside the resource
/// (another method, another organisation) is touched.
@Suite struct RetentionTests {
    static let day: Int64 = 86_400_000
    /// 2026-03-10T00:00:00Z: a UTC midnight.
    static let midnight: Int64 = 1_773_100_800_000

    static func resource(_ org: String, method: String = "Readings") -> RetentionResource {
        RetentionResource(organizationID: org, partID: "part-1", componentName: "sensor", methodName: method)
    }

    static func reading(_ resource: RetentionResource, at time: Int64, i: Int) -> Reading {
        Reading(
            organizationID: resource.organizationID, locationID: "loc", robotID: "robot", partID: resource.partID,
            componentType: "rdk:component:sensor", componentName: resource.componentName, methodName: resource.methodName,
            timeRequested: time, timeReceived: time + 100, data: ["readings": ["i": .int32(Int32(i))]])
    }

    static func payload(_ resource: RetentionResource, at time: Int64, i: Int) -> BinaryMetadata {
        BinaryMetadata(
            organizationID: resource.organizationID, locationID: "loc", robotID: "robot", partID: resource.partID,
            componentType: "rdk:component:camera", componentName: resource.componentName, methodName: resource.methodName,
            fileName: "f\(i)", fileExtension: ".jpeg", mimeType: "image/jpeg", timeRequested: time, timeReceived: time + 100, tags: [],
            fileID: "\(resource.organizationID)-\(resource.methodName)-\(i)")
    }

    /// The `i`s of the resource's readings, in capture order.
    static func kept(_ f: StoreFixture, _ resource: RetentionResource) async throws -> [Int] {
        let filter = resource.filter
        let documents = try await f.store.readings(
            organizationID: resource.organizationID, source: .standard, filter: filter, sortByTimeDescending: false, limit: nil)
        return documents.compactMap(\.recordIndex)
    }

    static func keptPayloads(_ f: StoreFixture, _ resource: RetentionResource) async throws -> [String] {
        var filter = BinaryFilter()
        filter.columns = resource.filter
        let page = try await f.store.binaryPage(organizationID: resource.organizationID, filter: filter, descending: false, after: nil, limit: 1000)
        return page.records.map(\.metadata.fileName)
    }

    @Test(arguments: StoreBackend.all) func policiesAreSetReplacedAndRemovedPerResource(_ backend: StoreBackend) async throws {
        let f = try await StoreFixture.make(backend)
        defer { f.remove() }
        let a = Self.resource(f.orgA), position = Self.resource(f.orgA, method: "Position"), b = Self.resource(f.orgB)
        #expect(try await f.store.retentionPolicies().isEmpty)
        try await f.store.setRetentionPolicy(RetentionPolicy(days: 5), for: a)
        try await f.store.setRetentionPolicy(RetentionPolicy(binaryLimitBytes: 10, tabularLimitBytes: 20), for: position)
        try await f.store.setRetentionPolicy(RetentionPolicy(days: 1), for: b)
        // The latest wins, whole: a policy without days has none.
        try await f.store.setRetentionPolicy(RetentionPolicy(tabularLimitBytes: 7), for: a)
        #expect(
            try await f.store.retentionPolicies() == [
                a: RetentionPolicy(tabularLimitBytes: 7), position: RetentionPolicy(binaryLimitBytes: 10, tabularLimitBytes: 20),
                b: RetentionPolicy(days: 1),
            ])
        try await f.store.setRetentionPolicy(nil, for: a)
        try await f.store.setRetentionPolicy(RetentionPolicy(), for: b)
        #expect(try await f.store.retentionPolicies() == [position: RetentionPolicy(binaryLimitBytes: 10, tabularLimitBytes: 20)])
        let error = await storeError { try await f.store.setRetentionPolicy(RetentionPolicy(days: 0), for: a) }
        #expect(error?.kind == .invalidArgument && error?.message.contains("at least 1 day") == true, "\(String(describing: error))")
    }

    /// `days: 2` keeps today and yesterday (UTC): at any time on day D+1, what was captured before
    /// day D's midnight goes, and what was captured at that midnight stays until D+2 begins.
    @Test(arguments: StoreBackend.all) func daysCutAtMidnightUTC(_ backend: StoreBackend) async throws {
        let f = try await StoreFixture.make(backend)
        defer { f.remove() }
        let a = Self.resource(f.orgA), other = Self.resource(f.orgA, method: "Position"), b = Self.resource(f.orgB)
        let times = [Self.midnight - Self.day, Self.midnight - 1, Self.midnight, Self.midnight + Self.day - 1, Self.midnight + Self.day]
        for resource in [a, other, b] {
            _ = try await f.store.insert(times.enumerated().map { Self.reading(resource, at: $1, i: $0) }, idempotencyKey: nil)
            for (i, time) in times.enumerated() { _ = try await f.store.storeBinary(Self.payload(resource, at: time, i: i), bytes: [UInt8(i)]) }
        }
        let payloads = try await f.store.binaryPage(organizationID: f.orgA, filter: .all, descending: false, after: nil, limit: 100).records
        let policy = RetentionPolicy(days: 2)
        // Day D+1 from its first to its last millisecond: the same cut.
        #expect(policy.cutoff(now: Self.midnight + Self.day) == Self.midnight)
        #expect(policy.cutoff(now: Self.midnight + 2 * Self.day - 1) == Self.midnight)
        #expect(try await f.store.enforceRetention(policy, for: a, now: Self.midnight + Self.day) == RetentionDeletion(readings: 2, binaries: 2))
        #expect(try await Self.kept(f, a) == [2, 3, 4])
        #expect(try await Self.keptPayloads(f, a) == ["f2", "f3", "f4"])
        #expect(try await f.store.enforceRetention(policy, for: a, now: Self.midnight + 2 * Self.day - 1) == RetentionDeletion())
        #expect(try await f.store.enforceRetention(policy, for: a, now: Self.midnight + 2 * Self.day) == RetentionDeletion(readings: 2, binaries: 2))
        #expect(try await Self.kept(f, a) == [4])
        #expect(try await Self.keptPayloads(f, a) == ["f4"])
        // Another method of the same component, and the same resource in another organisation, keep everything.
        #expect(try await Self.kept(f, other) == [0, 1, 2, 3, 4])
        #expect(try await Self.keptPayloads(f, other).count == 5)
        #expect(try await Self.kept(f, b) == [0, 1, 2, 3, 4])
        #expect(try await Self.keptPayloads(f, b).count == 5)
        if backend == .sqlite {
            let gone = payloads.filter { $0.metadata.methodName == "Readings" && $0.metadata.fileName != "f4" }
            #expect(gone.count == 4)
            for record in gone { #expect(!FileManager.default.fileExists(atPath: record.path!), "the payload file goes with its row") }
            #expect(try await f.store.removeOrphanedBinaries() == 0)
        }
    }

    @Test(arguments: StoreBackend.all) func sizeLimitsDeleteTheOldestFirst(_ backend: StoreBackend) async throws {
        let f = try await StoreFixture.make(backend)
        defer { f.remove() }
        let a = Self.resource(f.orgA), other = Self.resource(f.orgA, method: "Position"), b = Self.resource(f.orgB)
        // Inserted out of order: age is capture time, not arrival.
        let order = [3, 0, 4, 1, 2, 5]
        for resource in [a, other, b] {
            _ = try await f.store.insert(order.map { Self.reading(resource, at: Self.midnight + Int64($0) * 1000, i: $0) }, idempotencyKey: nil)
            for i in order {
                _ = try await f.store.storeBinary(Self.payload(resource, at: Self.midnight + Int64(i) * 1000, i: i), bytes: [UInt8](repeating: 1, count: 10))
            }
        }
        let readingBytes = Int64(Self.reading(a, at: 0, i: 0).data.encode().count)
        // Room for two readings and a half, and for three payloads exactly.
        let policy = RetentionPolicy(binaryLimitBytes: 30, tabularLimitBytes: readingBytes * 5 / 2)
        #expect(try await f.store.enforceRetention(policy, for: a, now: Self.midnight) == RetentionDeletion(readings: 4, binaries: 3))
        #expect(try await Self.kept(f, a) == [4, 5])
        #expect(try await Self.keptPayloads(f, a) == ["f3", "f4", "f5"])
        #expect(try await f.store.enforceRetention(policy, for: a, now: Self.midnight) == RetentionDeletion(), "within its limits now")
        // A limit of 0 keeps nothing; the other resources keep everything.
        #expect(try await f.store.enforceRetention(RetentionPolicy(binaryLimitBytes: 0), for: a, now: Self.midnight) == RetentionDeletion(binaries: 3))
        #expect(try await Self.kept(f, a) == [4, 5], "a binary limit leaves readings alone")
        #expect(try await Self.kept(f, other) == [0, 1, 2, 3, 4, 5])
        #expect(try await Self.keptPayloads(f, other).count == 6)
        #expect(try await Self.kept(f, b) == [0, 1, 2, 3, 4, 5])
        #expect(try await Self.keptPayloads(f, b).count == 6)
    }

    /// A pipeline with backfill re-runs the windows whose readings retention deleted, as for late data.
    @Test(arguments: StoreBackend.all) func deletedReadingsInvalidateTheirPipelineWindows(_ backend: StoreBackend) async throws {
        let f = try await StoreFixture.make(backend)
        defer { f.remove() }
        let pipeline = PipelineRecord(
            id: "p1", organizationID: f.orgA, name: "counts", schedule: "0 * * * *", stages: [["$count": "n"]], enableBackfill: true,
            source: .standard, createdAt: 0, scheduledThrough: 0)
        try await f.store.createPipeline(pipeline)
        let a = Self.resource(f.orgA)
        // Three readings a minute apart, received 100 ms after capture, on the day before `midnight`.
        let start = Self.midnight - Self.day
        _ = try await f.store.insert((0..<3).map { Self.reading(a, at: start + Int64($0) * 60_000, i: $0) }, idempotencyKey: nil)
        let before = try await f.store.latestInvalidationID()
        #expect(try await f.store.enforceRetention(RetentionPolicy(days: 1), for: a, now: Self.midnight) == RetentionDeletion(readings: 3))
        let logged = try await f.store.invalidations(organizationID: f.orgA, source: "readings", after: before, limit: 100)
        #expect(logged.map(\.range) == [SinkWindow(start: start, end: start + 3 * 60_000)])
    }
}
