import FerryBSON
import Foundation
import StoreTestSupport
import Testing

@testable import FerryStore

@Suite struct IngestTests {
    func indices(_ f: StoreFixture, _ org: String) async throws -> [Int] {
        try await f.store.readings(organizationID: org, source: .standard, filter: .all, sortByTimeDescending: false, limit: nil)
            .compactMap(\.recordIndex)
    }

    @Test(arguments: StoreBackend.all) func sameRangeTwiceIsStoredOnce(_ backend: StoreBackend) async throws {
        let f = try await StoreFixture.make(backend)
        defer { f.remove() }
        let batch = StoreFixture.readings(0..<10, org: f.orgA)
        let key = IdempotencyKey(fileID: "file-1", firstRecord: 0, lastRecord: 10)
        #expect(try await f.store.insert(batch, idempotencyKey: key).inserted == 10)
        let again = try await f.store.insert(batch, idempotencyKey: key)
        #expect(again.inserted == 0)
        #expect(try await indices(f, f.orgA) == Array(0..<10))
        // The bytes received count every reading, stored this time or not (the ingest metric).
        let bytes = batch.reduce(0) { $0 + $1.data.encode().count + $1.additionalParameters.encode().count }
        #expect(again.bytes == bytes && bytes > 10 * 5)
    }

    @Test(arguments: StoreBackend.all) func overlappingRangesStoreOnlyTheNewRecords(_ backend: StoreBackend) async throws {
        let f = try await StoreFixture.make(backend)
        defer { f.remove() }
        let all = StoreFixture.readings(0..<30, org: f.orgA)
        func upload(_ range: Range<Int>) async throws -> Int {
            try await f.store.insert(
                Array(all[range]), idempotencyKey: IdempotencyKey(fileID: "f", firstRecord: range.lowerBound, lastRecord: range.upperBound)
            ).inserted
        }
        #expect(try await upload(0..<10) == 10)
        #expect(try await upload(5..<15) == 5)
        #expect(try await upload(20..<30) == 10)
        #expect(try await upload(12..<25) == 5, "only 15..<20 is new")
        #expect(try await upload(0..<30) == 0)
        #expect(try await indices(f, f.orgA) == Array(0..<30))
    }

    @Test(arguments: StoreBackend.all) func outOfOrderUploadsAndRangeBookkeeping(_ backend: StoreBackend) async throws {
        let f = try await StoreFixture.make(backend)
        defer { f.remove() }
        let all = StoreFixture.readings(0..<20, org: f.orgA)
        let first = try await f.store.insert(Array(all[10..<20]), idempotencyKey: IdempotencyKey(fileID: "f", firstRecord: 10, lastRecord: 20))
        #expect(first.inserted == 10)
        #expect(try await f.store.insert(Array(all[0..<10]), idempotencyKey: IdempotencyKey(fileID: "f", firstRecord: 0, lastRecord: 10)).inserted == 10)
        #expect(try await f.store.insert(all, idempotencyKey: IdempotencyKey(fileID: "f", firstRecord: 0, lastRecord: 20)).inserted == 0)
        // Another file id is a different file.
        #expect(try await f.store.insert(Array(all[0..<5]), idempotencyKey: IdempotencyKey(fileID: "g", firstRecord: 0, lastRecord: 5)).inserted == 5)
        #expect(try await indices(f, f.orgA).count == 25)
    }

    @Test(arguments: StoreBackend.all) func theSameFileIdInAnotherOrganisationIsIndependent(_ backend: StoreBackend) async throws {
        let f = try await StoreFixture.make(backend)
        defer { f.remove() }
        let key = IdempotencyKey(fileID: "shared", firstRecord: 0, lastRecord: 3)
        #expect(try await f.store.insert(StoreFixture.readings(0..<3, org: f.orgA), idempotencyKey: key).inserted == 3)
        #expect(try await f.store.insert(StoreFixture.readings(0..<3, org: f.orgB), idempotencyKey: key).inserted == 3)
    }

    @Test(arguments: StoreBackend.all) func concurrentRetriesStoreEachRecordOnce(_ backend: StoreBackend) async throws {
        let f = try await StoreFixture.make(backend)
        defer { f.remove() }
        let batch = StoreFixture.readings(0..<50, org: f.orgA)
        let store = f.store
        let total = try await withThrowingTaskGroup(of: Int.self) { group in
            for start in stride(from: 0, to: 50, by: 10) {
                for _ in 0..<3 {
                    let slice = Array(batch[start..<min(50, start + 20)])
                    let key = IdempotencyKey(fileID: "f", firstRecord: start, lastRecord: start + slice.count)
                    group.addTask { try await store.insert(slice, idempotencyKey: key).inserted }
                }
            }
            return try await group.reduce(0, +)
        }
        #expect(total == 50)
        #expect(try await indices(f, f.orgA).sorted() == Array(0..<50))
    }

    @Test(arguments: StoreBackend.all) func withoutAKeyEveryInsertStores(_ backend: StoreBackend) async throws {
        let f = try await StoreFixture.make(backend)
        defer { f.remove() }
        let batch = StoreFixture.readings(0..<3, org: f.orgA) + StoreFixture.readings(3..<5, org: f.orgB)
        let result = try await f.store.insert(batch, idempotencyKey: nil)
        #expect(result.inserted == 5)
        #expect(try await indices(f, f.orgA).count == 3, "each row in its own organisation")
        #expect(try await indices(f, f.orgB).count == 2)
        #expect(try await f.store.insert(batch, idempotencyKey: nil).inserted == 5)
    }

    @Test(arguments: StoreBackend.all) func badBatchesAreRefusedWithReasonsAndStoreNothing(_ backend: StoreBackend) async throws {
        let f = try await StoreFixture.make(backend)
        defer { f.remove() }
        let three = StoreFixture.readings(0..<3, org: f.orgA)
        var error = await storeError { _ = try await f.store.insert(three, idempotencyKey: IdempotencyKey(fileID: "f", firstRecord: 0, lastRecord: 5)) }
        #expect(error?.kind == .invalidArgument)
        #expect(error?.message.contains("covers records [0, 5)") == true)
        error = await storeError { _ = try await f.store.insert(three, idempotencyKey: IdempotencyKey(fileID: "", firstRecord: 0, lastRecord: 3)) }
        #expect(error?.kind == .invalidArgument)
        error = await storeError { _ = try await f.store.insert(three, idempotencyKey: IdempotencyKey(fileID: "f", firstRecord: -1, lastRecord: 2)) }
        #expect(error?.kind == .invalidArgument)
        let mixed = [StoreFixture.reading(0, org: f.orgA), StoreFixture.reading(1, org: f.orgB)]
        error = await storeError { _ = try await f.store.insert(mixed, idempotencyKey: IdempotencyKey(fileID: "f", firstRecord: 0, lastRecord: 2)) }
        #expect(error?.message.contains("one organisation") == true)
        error = await storeError { _ = try await f.store.insert(StoreFixture.readings(0..<2, org: "ghost"), idempotencyKey: nil) }
        #expect(error?.kind == .notFound)
        // A NUL in a key cannot be BSON: the whole batch is refused, not half of it.
        var bad = StoreFixture.readings(0..<3, org: f.orgA)
        bad[2].data = ["bad\u{0}key": 1]
        error = await storeError { _ = try await f.store.insert(bad, idempotencyKey: nil) }
        #expect(error?.kind == .invalidArgument)
        #expect(try await indices(f, f.orgA).isEmpty)
    }

    /// A batch large enough to be converted in slices (PostgreSQL) is stored as one batch sent in
    /// one piece: every reading once, in order, with its own tags and parameters (runs of equal
    /// tags and parameters are converted once, and each new value must still be its own).
    @Test(arguments: StoreBackend.all) func largeBatchesAreStoredInOrderWithTheirOwnTagsAndParameters(_ backend: StoreBackend) async throws {
        let f = try await StoreFixture.make(backend)
        defer { f.remove() }
        let count = 2_500
        var batch = StoreFixture.readings(0..<count, org: f.orgA)
        // Runs of equal values longer than one reading, too.
        for i in 1_000..<1_100 {
            batch[i].tags = ["run"]
            batch[i].additionalParameters = ["unit": "kelvin"]
        }
        // Equal parameters that are not the same bytes: each keeps its own.
        batch[2_000].additionalParameters = ["offset": .double(0.0)]
        batch[2_001].additionalParameters = ["offset": .double(-0.0)]
        let key = IdempotencyKey(fileID: "big", firstRecord: 0, lastRecord: count)
        let result = try await f.store.insert(batch, idempotencyKey: key)
        #expect(result.inserted == count)
        #expect(result.bytes == batch.reduce(0) { $0 + $1.data.encode().count + $1.additionalParameters.encode().count })
        let stored = try await f.store.readings(organizationID: f.orgA, source: .standard, filter: .all, sortByTimeDescending: false, limit: nil)
        #expect(stored.compactMap(\.recordIndex) == Array(0..<count))
        let mismatched = zip(stored, batch).filter { document, reading in
            document["data"] != .document(reading.data) || document["tags"] != .array(reading.tags.map(BSON.string))
                || document["additional_parameters"] != .document(reading.additionalParameters)
        }
        #expect(mismatched.isEmpty)
        for i in [2_000, 2_001] {
            #expect(stored[i]["additional_parameters"]?.documentValue?.encode() == batch[i].additionalParameters.encode(), "reading \(i)")
        }
        if backend == .postgres {
            // The jsonb columns SQL reads hold the same values as the BSON ones.
            let rows = try await f.store.tabularDataBySQL(
                organizationID: f.orgA, source: .standard,
                query: """
                    SELECT count(*) AS n FROM readings WHERE data->'readings'->>'label' = 'r' || (data->'readings'->>'i')
                    AND tags = CASE WHEN (data->'readings'->>'i')::int BETWEEN 1000 AND 1099 THEN '["run"]'::jsonb
                        WHEN (data->'readings'->>'i')::int % 2 = 0 THEN '["even", "lab"]'::jsonb ELSE '[]'::jsonb END
                    AND additional_parameters = CASE WHEN (data->'readings'->>'i')::int BETWEEN 1000 AND 1099 THEN '{"unit": "kelvin"}'::jsonb
                        WHEN (data->'readings'->>'i')::int IN (2000, 2001) THEN '{"offset": 0}'::jsonb
                        WHEN (data->'readings'->>'i')::int % 3 = 0 THEN '{"unit": "celsius"}'::jsonb ELSE '{}'::jsonb END
                    """)
            #expect(rows.first?["n"]?.int64Value == Int64(count))
        }
        #expect(try await f.store.insert(batch, idempotencyKey: key).inserted == 0)
    }

    /// A bad reading anywhere in a large batch refuses the whole batch, naming the first bad one
    /// (here in the first slice, and another in the last).
    @Test(arguments: StoreBackend.all) func aLargeBatchWithBadReadingsNamesTheFirst(_ backend: StoreBackend) async throws {
        let f = try await StoreFixture.make(backend)
        defer { f.remove() }
        var batch = StoreFixture.readings(0..<2_500, org: f.orgA)
        batch[2_400].componentName = "late\u{0}"
        batch[1_000].data = ["bad\u{0}key": 1]
        let error = await storeError { _ = try await f.store.insert(batch, idempotencyKey: nil) }
        #expect(error?.kind == .invalidArgument)
        #expect(error?.message.contains("at \(batch[1_000].timeReceived) ms") == true, "\(String(describing: error))")
        #expect(try await indices(f, f.orgA).isEmpty)
    }

    @Test(arguments: StoreBackend.all) func dataSurvivesReopening(_ backend: StoreBackend) async throws {
        let f = try await StoreFixture.make(backend)
        defer { f.remove() }
        _ = try await f.store.insert(StoreFixture.readings(0..<5, org: f.orgA), idempotencyKey: IdempotencyKey(fileID: "f", firstRecord: 0, lastRecord: 5))
        let reopened = try await f.testStore.reopen()
        #expect(try await reopened.readings(organizationID: f.orgA, source: .standard, filter: .all, sortByTimeDescending: false, limit: nil).count == 5)
        #expect(try await reopened.insert(StoreFixture.readings(0..<5, org: f.orgA), idempotencyKey: IdempotencyKey(fileID: "f", firstRecord: 0, lastRecord: 5)).inserted == 0)
    }

    @Test func ingestRangesCoalesce() {
        var ranges = IngestRanges()
        ranges.add(10..<20)
        ranges.add(0..<5)
        ranges.add(30..<40)
        #expect(ranges.ranges == [0..<5, 10..<20, 30..<40])
        ranges.add(5..<10)
        #expect(ranges.ranges == [0..<20, 30..<40])
        ranges.add(15..<35)
        #expect(ranges.ranges == [0..<40])
        #expect(ranges.contains(0) && ranges.contains(39) && !ranges.contains(40) && !ranges.contains(-1))
        ranges.add(50..<50)
        #expect(ranges.ranges == [0..<40])
    }
}
