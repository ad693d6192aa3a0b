import FerryStore
import Foundation
import StoreTestSupport
import Testing

/// Datasets of binary data, alike on every backend: names unique per organisation, members added
/// and removed by id, the dataset filter, memberships gone with their dataset (payloads stay) or
/// with their payload, and nothing reaching across organisations.
@Suite struct DatasetTests {
    @Test(arguments: StoreBackend.all) func datasetsAreCreatedListedRenamedAndDeleted(_ backend: StoreBackend) async throws {
        let f = try await StoreFixture.make(backend)
        defer { f.remove() }
        let store = f.store
        let cats = try await store.createDataset(name: "cats", organizationID: f.orgA)
        let dogs = try await store.createDataset(name: "dogs-2_v1", organizationID: f.orgA)
        // The same name in another organisation is another dataset.
        let otherCats = try await store.createDataset(name: "cats", organizationID: f.orgB)
        #expect(cats.organizationID == f.orgA && cats.name == "cats" && cats.id != otherCats.id && cats.id != dogs.id)
        #expect(abs(cats.createdAt - Int64(Date().timeIntervalSince1970 * 1000)) < 600_000)

        #expect(try await store.datasets(organizationID: f.orgA).map(\.name) == ["cats", "dogs-2_v1"])
        #expect(try await store.datasets(organizationID: f.orgA) == [cats, dogs])
        #expect(try await store.datasets(organizationID: f.orgA, ids: [dogs.id, otherCats.id, cats.id, dogs.id]) == [dogs, cats])

        var error = await storeError { _ = try await store.createDataset(name: "cats", organizationID: f.orgA) }
        #expect(error?.kind == .alreadyExists && error?.message.contains("already has a dataset named \"cats\"") == true, "\(String(describing: error))")
        error = await storeError { _ = try await store.renameDataset(id: dogs.id, name: "cats", organizationID: f.orgA) }
        #expect(error?.kind == .alreadyExists)
        error = await storeError { _ = try await store.createDataset(name: "two words", organizationID: f.orgA) }
        #expect(error?.kind == .invalidArgument && error?.message.contains("\" \"") == true, "\(String(describing: error))")
        error = await storeError { _ = try await store.createDataset(name: "", organizationID: f.orgA) }
        #expect(error?.kind == .invalidArgument)
        error = await storeError { _ = try await store.createDataset(name: String(repeating: "a", count: 101), organizationID: f.orgA) }
        #expect(error?.kind == .invalidArgument && error?.message.contains("at most 100") == true)
        error = await storeError { _ = try await store.createDataset(name: "x", organizationID: "no-such-org") }
        #expect(error?.kind == .notFound)

        // Renaming to its own name is no clash; another organisation's id is unknown.
        #expect(try await store.renameDataset(id: cats.id, name: "cats", organizationID: f.orgA))
        #expect(try await store.renameDataset(id: cats.id, name: "kittens", organizationID: f.orgA))
        #expect(try await store.renameDataset(id: otherCats.id, name: "mine", organizationID: f.orgA) == false)
        #expect(try await store.datasets(organizationID: f.orgB, ids: [otherCats.id]).map(\.name) == ["cats"])
        // The old name is free again.
        _ = try await store.createDataset(name: "cats", organizationID: f.orgA)

        #expect(try await store.deleteDataset(id: otherCats.id, organizationID: f.orgA) == false)
        #expect(try await store.deleteDataset(id: cats.id, organizationID: f.orgA))
        #expect(try await store.deleteDataset(id: cats.id, organizationID: f.orgA) == false)
        #expect(try await store.datasets(organizationID: f.orgA).map(\.name) == ["dogs-2_v1", "cats"])
        #expect(try await store.datasets(organizationID: f.orgB).count == 1)
    }

    @Test(arguments: StoreBackend.all) func membersAreAddedRemovedFilteredAndListed(_ backend: StoreBackend) async throws {
        let f = try await StoreFixture.make(backend)
        defer { f.remove() }
        let store = f.store
        let records = try await BinaryQueryTests.stored(f, count: 6)
        let foreign = try await BinaryQueryTests.stored(f, count: 1, org: f.orgB)[0]
        let a = try await store.createDataset(name: "a", organizationID: f.orgA)
        let b = try await store.createDataset(name: "b", organizationID: f.orgA)
        let theirs = try await store.createDataset(name: "theirs", organizationID: f.orgB)
        let ids = records.map(\.id)

        #expect(try await store.addToDataset(id: a.id, organizationID: f.orgA, binaryIDs: [ids[0], ids[1], ids[2]]) == 3)
        // Adding again changes nothing; another organisation's payload is never added.
        #expect(try await store.addToDataset(id: a.id, organizationID: f.orgA, binaryIDs: [ids[1], ids[3], foreign.id]) == 1)
        #expect(try await store.addToDataset(id: b.id, organizationID: f.orgA, binaryIDs: [ids[3], ids[4]]) == 2)
        // Another organisation's dataset is unknown.
        #expect(try await store.addToDataset(id: theirs.id, organizationID: f.orgA, binaryIDs: [ids[0]]) == nil)
        #expect(try await store.removeFromDataset(id: theirs.id, organizationID: f.orgA, binaryIDs: [ids[0]]) == nil)

        var inA = BinaryFilter()
        inA.datasetID = a.id
        let page = try await store.binaryPage(organizationID: f.orgA, filter: inA, descending: false, after: nil, limit: 10)
        #expect(page.records.map(\.id) == [ids[0], ids[1], ids[2], ids[3]])
        #expect(page.records.allSatisfy { inA.matches($0) })
        let fetched = try await store.binaries(organizationID: f.orgA, ids: [ids[3], ids[5]])
        #expect(fetched[0].metadata.datasetIDs == [a.id, b.id].sorted() && fetched[1].metadata.datasetIDs.isEmpty)
        #expect(try await store.binaryCount(organizationID: f.orgA, filter: inA).count == 4)
        // The filter combines with the others, and tags/deletion by filter honour it too.
        inA.columns.restrict(.locationID, to: ["loc-0"])
        #expect(try await store.binaryCount(organizationID: f.orgA, filter: inA).count == 2)
        #expect(try await store.addBinaryTags(["picked"], organizationID: f.orgA, filter: inA) == 2)
        #expect(try await store.binaryTags(organizationID: f.orgA, filter: inA).contains("picked"))
        var theirFilter = BinaryFilter()
        theirFilter.datasetID = theirs.id
        #expect(try await store.binaryCount(organizationID: f.orgA, filter: theirFilter).count == 0)

        #expect(try await store.removeFromDataset(id: a.id, organizationID: f.orgA, binaryIDs: [ids[0], ids[5]]) == 1)
        inA.columns = ReadingFilter()
        #expect(try await store.binaryCount(organizationID: f.orgA, filter: inA).count == 3)

        // Deleting a payload takes it out of its datasets; deleting a dataset keeps its payloads.
        #expect(try await store.deleteBinaries(organizationID: f.orgA, ids: [ids[1]]) == 1)
        #expect(try await store.binaryCount(organizationID: f.orgA, filter: inA).count == 2)
        #expect(try await store.deleteDataset(id: a.id, organizationID: f.orgA))
        #expect(try await store.binaryCount(organizationID: f.orgA, filter: .all).count == 5)
        #expect(try await store.binaries(organizationID: f.orgA, ids: [ids[3]])[0].metadata.datasetIDs == [b.id])
        #expect(try await store.binaryCount(organizationID: f.orgA, filter: inA).count == 0)
        // Deleting by the dataset filter deletes its payloads (and so their memberships).
        var inB = BinaryFilter()
        inB.datasetID = b.id
        #expect(try await store.deleteBinaries(organizationID: f.orgA, filter: inB) == 2)
        #expect(try await store.binaryCount(organizationID: f.orgA, filter: .all).count == 3)
        #expect(try await store.datasets(organizationID: f.orgA, ids: [b.id]).count == 1)
    }

    @Test(arguments: StoreBackend.all) func uploadsJoinTheirOrganisationsDatasets(_ backend: StoreBackend) async throws {
        let f = try await StoreFixture.make(backend)
        defer { f.remove() }
        let store = f.store
        let a = try await store.createDataset(name: "a", organizationID: f.orgA)
        let b = try await store.createDataset(name: "b", organizationID: f.orgA)
        let theirs = try await store.createDataset(name: "theirs", organizationID: f.orgB)
        var metadata = BinaryQueryTests.metadata(0, org: f.orgA)
        metadata.datasetIDs = [b.id, a.id, theirs.id, "no-such-dataset"]
        let stored = try await store.storeBinary(metadata, bytes: [1, 2, 3])
        // Only the organisation's own datasets are joined; unknown ids are ignored.
        #expect(stored.metadata.datasetIDs == [a.id, b.id].sorted())
        #expect(try await store.binaries(organizationID: f.orgA, ids: [stored.id])[0].metadata.datasetIDs == [a.id, b.id].sorted())
        // A repeated upload of the same file id stores nothing and changes no membership.
        var again = metadata
        again.datasetIDs = []
        let repeated = try await store.storeBinary(again, bytes: [1, 2, 3])
        #expect(repeated.id == stored.id && !repeated.isNew && repeated.metadata.datasetIDs == [a.id, b.id].sorted())
        var inTheirs = BinaryFilter()
        inTheirs.datasetID = theirs.id
        #expect(try await store.binaryCount(organizationID: f.orgB, filter: inTheirs).count == 0)
    }

    @Test(arguments: StoreBackend.all) func mergingMakesANewDatasetOfTheUnion(_ backend: StoreBackend) async throws {
        let f = try await StoreFixture.make(backend)
        defer { f.remove() }
        let store = f.store
        let ids = try await BinaryQueryTests.stored(f, count: 4).map(\.id)
        let a = try await store.createDataset(name: "a", organizationID: f.orgA)
        let b = try await store.createDataset(name: "b", organizationID: f.orgA)
        let theirs = try await store.createDataset(name: "theirs", organizationID: f.orgB)
        _ = try await store.addToDataset(id: a.id, organizationID: f.orgA, binaryIDs: [ids[0], ids[1]])
        _ = try await store.addToDataset(id: b.id, organizationID: f.orgA, binaryIDs: [ids[1], ids[2]])

        let merged = try await store.mergeDatasets(ids: [a.id, b.id], name: "ab", organizationID: f.orgA)
        var inMerged = BinaryFilter()
        inMerged.datasetID = merged.id
        let page = try await store.binaryPage(organizationID: f.orgA, filter: inMerged, descending: false, after: nil, limit: 10)
        #expect(page.records.map(\.id) == [ids[0], ids[1], ids[2]])
        // The sources stay as they were.
        #expect(try await store.datasets(organizationID: f.orgA).map(\.name) == ["a", "b", "ab"])

        var error = await storeError { _ = try await store.mergeDatasets(ids: [a.id, theirs.id], name: "x", organizationID: f.orgA) }
        #expect(error?.kind == .notFound && error?.message.contains(theirs.id) == true)
        error = await storeError { _ = try await store.mergeDatasets(ids: [a.id, b.id], name: "ab", organizationID: f.orgA) }
        #expect(error?.kind == .alreadyExists)
        // Nothing was left behind by the refused merges.
        #expect(try await store.datasets(organizationID: f.orgA).count == 3)
    }
}
