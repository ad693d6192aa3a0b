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
}
