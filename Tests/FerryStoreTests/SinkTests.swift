import FerryBSON
import Foundation
import StoreTestSupport
import Testing

@testable import FerryStore

@Suite struct SinkTests {
    let w1 = SinkWindow(start: 0, end: 3_600_000)
    let w2 = SinkWindow(start: 3_600_000, end: 7_200_000)

    func docs(_ label: String, _ count: Int) -> [BSONDocument] {
        (0..<count).map { ["label": .string(label), "n": .int32(Int32($0))] }
    }

    @Test(arguments: StoreBackend.all) func replacingAWindowTwiceKeepsOnlyTheSecondSet(_ backend: StoreBackend) async throws {
        let f = try await StoreFixture.make(backend)
        defer { f.remove() }
        try await f.store.replaceWindow(organizationID: f.orgA, pipelineID: "p1", runID: "run-1", window: w1, documents: docs("first", 3))
        try await f.store.replaceWindow(organizationID: f.orgA, pipelineID: "p1", runID: "run-2", window: w2, documents: docs("other", 1))
        try await f.store.replaceWindow(organizationID: f.orgA, pipelineID: "p1", runID: "run-3", window: w1, documents: docs("second", 2))
        let all = try await f.store.sinkDocuments(organizationID: f.orgA, pipelineID: "p1", window: nil, limit: nil)
        #expect(all == docs("second", 2) + docs("other", 1), "window order, then document order")
        #expect(try await f.store.sinkDocuments(organizationID: f.orgA, pipelineID: "p1", window: w2, limit: nil) == docs("other", 1))
        #expect(try await f.store.sinkDocuments(organizationID: f.orgA, pipelineID: "p1", window: nil, limit: 1) == docs("second", 1))
        // A wider window supersedes the narrower ones it covers.
        try await f.store.replaceWindow(
            organizationID: f.orgA, pipelineID: "p1", runID: "run-4", window: SinkWindow(start: 0, end: 7_200_000), documents: docs("daily", 1))
        #expect(try await f.store.sinkDocuments(organizationID: f.orgA, pipelineID: "p1", window: nil, limit: nil) == docs("daily", 1))
        // An empty result replaces too.
        try await f.store.replaceWindow(organizationID: f.orgA, pipelineID: "p1", runID: "run-5", window: w1, documents: [])
        #expect(try await f.store.sinkDocuments(organizationID: f.orgA, pipelineID: "p1", window: nil, limit: nil).isEmpty)
    }

    @Test(arguments: StoreBackend.all) func aFailingReplaceLeavesThePreviousResults(_ backend: StoreBackend) async throws {
        let f = try await StoreFixture.make(backend)
        defer { f.remove() }
        try await f.store.replaceWindow(organizationID: f.orgA, pipelineID: "p1", runID: "run-1", window: w1, documents: docs("first", 3))
        // The third document cannot be encoded, after the delete and two inserts ran.
        let broken = docs("second", 2) + [["bad\u{0}key": 1]]
        let error = await storeError {
            try await f.store.replaceWindow(organizationID: f.orgA, pipelineID: "p1", runID: "run-2", window: w1, documents: broken)
        }
        #expect(error?.kind == .invalidArgument)
        #expect(error?.message.contains("document 2") == true)
        #expect(try await f.store.sinkDocuments(organizationID: f.orgA, pipelineID: "p1", window: nil, limit: nil) == docs("first", 3))
    }

    @Test(arguments: StoreBackend.all) func sinksAreOrganisationScopedAndDroppable(_ backend: StoreBackend) async throws {
        let f = try await StoreFixture.make(backend)
        defer { f.remove() }
        try await f.store.replaceWindow(organizationID: f.orgA, pipelineID: "p1", runID: "r", window: w1, documents: docs("a", 2))
        try await f.store.replaceWindow(organizationID: f.orgB, pipelineID: "p1", runID: "r", window: w1, documents: docs("b", 1))
        #expect(try await f.store.sinkDocuments(organizationID: f.orgB, pipelineID: "p1", window: nil, limit: nil) == docs("b", 1))
        #expect(try await f.store.dropSink(organizationID: f.orgB, pipelineID: "p1") == 1)
        #expect(try await f.store.sinkDocuments(organizationID: f.orgA, pipelineID: "p1", window: nil, limit: nil) == docs("a", 2))
        #expect(try await f.store.dropSink(organizationID: f.orgA, pipelineID: "p1") == 2)
        #expect(try await f.store.sinkDocuments(organizationID: f.orgA, pipelineID: "p1", window: nil, limit: nil).isEmpty)
        #expect(SinkWindow.collectionName(pipelineID: "p1") == "sink-p1")
    }

    @Test(arguments: StoreBackend.all) func badWindowsAreRefused(_ backend: StoreBackend) async throws {
        let f = try await StoreFixture.make(backend)
        defer { f.remove() }
        var error = await storeError {
            try await f.store.replaceWindow(organizationID: f.orgA, pipelineID: "p", runID: "r", window: SinkWindow(start: 5, end: 5), documents: [])
        }
        #expect(error?.kind == .invalidArgument)
        error = await storeError {
            try await f.store.replaceWindow(organizationID: "ghost", pipelineID: "p", runID: "r", window: w1, documents: [])
        }
        #expect(error?.kind == .notFound)
    }

    /// A batch's runs end in one transaction; a run whose results cannot be stored (a document
    /// that is not BSON, an `_id` taken twice) keeps its window's previous results and stays
    /// STARTED, and the others still complete.
    @Test(arguments: StoreBackend.all) func aBatchEndingKeepsTheResultsOfRunsItCannotStore(_ backend: StoreBackend) async throws {
        let f = try await StoreFixture.make(backend)
        defer { f.remove() }
        let store = f.store
        let pipeline = PipelineRecord(
            id: "p1", organizationID: f.orgA, name: "hourly", schedule: "0 * * * *", stages: [["$match": [:]]], enableBackfill: false,
            source: .standard, createdAt: 0, scheduledThrough: 0)
        try await store.createPipeline(pipeline)
        let w3 = SinkWindow(start: w2.end, end: w2.end + 3_600_000)
        for (index, window) in [w1, w2, w3].enumerated() {
            try await store.replaceWindow(organizationID: f.orgA, pipelineID: "p1", runID: "old-\(index)", window: window, documents: docs("old", 2))
        }
        let runs = [w1, w2, w3].enumerated().map { index, window in
            PipelineRunRecord(id: "run-\(index)", pipelineID: "p1", organizationID: f.orgA, window: window, kind: .backfill, notBefore: 0, createdAt: 0)
        }
        #expect(try await store.savePipeline(pipeline, expectedRevision: 0, newRuns: runs, dropSink: false))
        #expect(try await store.startRuns(ids: runs.map(\.id), now: 10) == Set(runs.map(\.id)))

        let notBSON = docs("new", 1) + [["bad\u{0}key": 1]]
        let twice: [BSONDocument] = [["_id": "k", "n": 1], ["_id": "k", "n": 2]]
        let finished = try await store.finishRuns(
            [
                PipelineRunEnding(run: runs[0], outcome: .completed(notBSON)),
                PipelineRunEnding(run: runs[1], outcome: .completed(docs("new", 3))),
                PipelineRunEnding(run: runs[2], outcome: .completed(twice)),
            ], now: 20)

        #expect(finished["run-1"] == .completed)
        guard case .unstorable(let encoding)? = finished["run-0"], case .unstorable(let clash)? = finished["run-2"] else {
            Issue.record("expected runs 0 and 2 to be unstorable: \(finished)")
            return
        }
        #expect(encoding.kind == .invalidArgument && encoding.message.contains("document 1"), "\(encoding)")
        #expect(clash.kind == .invalidArgument && clash.message.contains("duplicate _id"), "\(clash)")
        func sink(_ window: SinkWindow) async throws -> [BSONDocument] {
            try await store.sinkDocuments(organizationID: f.orgA, pipelineID: "p1", window: window, limit: nil)
        }
        #expect(try await sink(w1) == docs("old", 2))
        #expect(try await sink(w2) == docs("new", 3))
        #expect(try await sink(w3) == docs("old", 2))
        #expect(try await store.run(id: "run-0")?.status == .started)
        #expect(try await store.run(id: "run-1")?.status == .completed)
        #expect(try await store.run(id: "run-2")?.status == .started)
    }
}
