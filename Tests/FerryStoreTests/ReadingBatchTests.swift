import FerryBSON
import Foundation
import StoreTestSupport
import Synchronization
import Testing

@testable import FerryStore

/// A batch made while it is stored (an upload converted slice by slice): the same rows as the
/// readings inserted whole, exactly once under an idempotency key, and nothing stored when a slice
/// cannot be made. 1,000 readings take SQLite's pipelined path (slices of 100 written while the
/// next are made); PostgreSQL makes the batch first.
@Suite struct ReadingBatchTests {
    struct Unmakeable: Error, Equatable { var index: Int }

    func batch(_ range: Range<Int>, org: String, failing: Set<Int> = []) -> ReadingBatch {
        ReadingBatch(count: range.count, organizationID: org) { slice in
            try slice.map { offset in
                let i = range.lowerBound + offset
                if failing.contains(i) { throw Unmakeable(index: i) }
                return StoreFixture.reading(i, org: org)
            }
        }
    }

    func stored(_ f: StoreFixture, _ source: ReadingSource = .standard) async throws -> [BSONDocument] {
        try await f.store.readings(organizationID: f.orgA, source: source, filter: .all, sortByTimeDescending: false, limit: nil)
    }

    @Test(arguments: StoreBackend.all) func aBatchIsStoredAsItsReadingsInsertedWholeAre(_ backend: StoreBackend) async throws {
        let made = try await StoreFixture.make(backend)
        let whole = try await StoreFixture.make(backend)
        defer { made.remove(); whole.remove() }
        let key = IdempotencyKey(fileID: "file-1", firstRecord: 0, lastRecord: 1_000)
        let result = try await made.store.insert(batch(0..<1_000, org: made.orgA), idempotencyKey: key)
        let expected = try await whole.store.insert(StoreFixture.readings(0..<1_000, org: whole.orgA), idempotencyKey: key)
        #expect(result == expected && result.inserted == 1_000)
        func comparable(_ documents: [BSONDocument]) -> [BSONDocument] {
            documents.map { document in
                var document = document
                for key in ["_id", "organization_id"] { document[key] = nil }
                return document
            }
        }
        #expect(comparable(try await stored(made)) == comparable(try await stored(whole)))
        #expect(try await stored(made, .hotStorage).compactMap(\.recordIndex) == Array(0..<1_000))
        // The same records again, then a batch overlapping them: each record stored once.
        #expect(try await made.store.insert(batch(0..<1_000, org: made.orgA), idempotencyKey: key).inserted == 0)
        let overlapping = IdempotencyKey(fileID: "file-1", firstRecord: 500, lastRecord: 1_500)
        #expect(try await made.store.insert(batch(500..<1_500, org: made.orgA), idempotencyKey: overlapping).inserted == 500)
        #expect(try await stored(made).compactMap(\.recordIndex) == Array(0..<1_500))
    }

    @Test(arguments: StoreBackend.all) func aSliceThatCannotBeMadeStoresNothingAndItsErrorIsTheFirstInOrder(_ backend: StoreBackend) async throws {
        let f = try await StoreFixture.make(backend)
        defer { f.remove() }
        let key = IdempotencyKey(fileID: "f", firstRecord: 0, lastRecord: 1_000)
        // The writer has written slices before the failing one when it meets it: they roll back.
        await #expect(throws: Unmakeable(index: 650)) {
            try await f.store.insert(batch(0..<1_000, org: f.orgA, failing: [650, 990]), idempotencyKey: key)
        }
        #expect(try await stored(f).isEmpty)
        // Nothing was applied under the key: the whole file goes in when it is sent again.
        #expect(try await f.store.insert(batch(0..<1_000, org: f.orgA), idempotencyKey: key).inserted == 1_000)
    }

    @Test(arguments: StoreBackend.all) func aReadingOfAnotherOrganisationIsRefused(_ backend: StoreBackend) async throws {
        let f = try await StoreFixture.make(backend)
        defer { f.remove() }
        let mixed = ReadingBatch(count: 1_000, organizationID: f.orgA) { slice in
            slice.map { StoreFixture.reading($0, org: $0 == 700 ? f.orgB : f.orgA) }
        }
        let error = await storeError { _ = try await f.store.insert(mixed, idempotencyKey: nil) }
        #expect(error?.kind == .invalidArgument && error?.message.contains("holds a reading of organisation \(f.orgB)") == true, "\(String(describing: error))")
        #expect(try await stored(f).isEmpty)
    }

    /// Batches stored at once (several uploaders) are each stored whole.
    @Test(arguments: StoreBackend.all) func batchesStoredAtOnceAreEachStored(_ backend: StoreBackend) async throws {
        let f = try await StoreFixture.make(backend)
        defer { f.remove() }
        try await withThrowingTaskGroup(of: Int.self) { group in
            for file in 0..<4 {
                let range = file * 600..<(file + 1) * 600
                let key = IdempotencyKey(fileID: "file-\(file)", firstRecord: 0, lastRecord: 600)
                group.addTask { try await f.store.insert(batch(range, org: f.orgA), idempotencyKey: key).inserted }
            }
            var inserted = 0
            for try await count in group { inserted += count }
            #expect(inserted == 2_400)
        }
        #expect(try await stored(f).compactMap(\.recordIndex) == Array(0..<2_400))
    }

    @Test func orderedSlicesGiveEveryPartInOrderAndStopWhenAbandoned() throws {
        let made = Atomic(0)
        let slices = OrderedSlices(count: 1_005, sliceSize: 100) { range in
            made.add(1, ordering: .relaxed)
            return Array(range)
        }
        #expect(slices.count == 11)
        var all: [Int] = []
        for index in 0..<slices.count {
            let (range, part) = try slices.take(index)
            #expect(part == Array(range))
            all += part
        }
        #expect(all == Array(0..<1_005))
        #expect(made.load(ordering: .relaxed) == 11)

        slices.waitForWorkers()

        // A consumer that stops after the first part: the parts not yet begun are never made. Parts
        // from the third on wait at the gate until it opens, after the consumer has stopped.
        let gate = DispatchSemaphore(value: 0)
        let begun = Atomic(0)
        let abandoned = OrderedSlices(count: 10_000, sliceSize: 10) { range in
            begun.add(1, ordering: .relaxed)
            if range.lowerBound >= 20 {
                gate.wait()
                gate.signal()
            }
            return range.count
        }
        #expect(try abandoned.take(0).part == 10)
        abandoned.abandon()
        gate.signal()
        abandoned.waitForWorkers()
        // The two parts before the gate, and at most one more per worker, waiting at it.
        #expect(begun.load(ordering: .relaxed) <= 2 + ProcessInfo.processInfo.activeProcessorCount)
    }
}
