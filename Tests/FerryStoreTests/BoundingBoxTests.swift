import FerryBSON
import FerryStore
import Foundation
import StoreTestSupport
import Testing

/// Labelling images with bounding boxes, alike on every backend: boxes go into the payload's
/// annotations, where browsing returns them and the label filter and listing see them.
@Suite struct BoundingBoxTests {
    static func boxes(_ record: BinaryRecord?) -> [BoundingBox] {
        (record?.metadata.annotations?["bboxes"]?.arrayValue ?? []).compactMap { $0.documentValue.flatMap(BoundingBox.init(document:)) }
    }

    @Test(arguments: StoreBackend.all) func boxesAreAddedUpdatedAndRemoved(_ backend: StoreBackend) async throws {
        let f = try await StoreFixture.make(backend)
        defer { f.remove() }
        var labelled = BinaryQueryTests.metadata(0, org: f.orgA)
        labelled.annotations = ["bboxes": [], "classifications": [["label": "scene", "confidence": 0.5]]]
        let image = try await f.store.storeBinary(labelled, bytes: [1, 2])
        let bare = try await f.store.storeBinary(BinaryQueryTests.metadata(1, org: f.orgA), bytes: [3])
        let store = f.store

        let ball = try #require(
            try await store.addBoundingBox(
                BoundingBox(label: "ball", xMin: 0.1, yMin: 0.2, xMax: 0.5, yMax: 0.6, confidence: 0.9), organizationID: f.orgA, binaryID: image.id))
        let cup = try #require(
            try await store.addBoundingBox(BoundingBox(label: "cup", xMin: 0, yMin: 0, xMax: 1, yMax: 1), organizationID: f.orgA, binaryID: image.id))
        // A payload stored without annotations gets some.
        let dog = try #require(
            try await store.addBoundingBox(BoundingBox(label: "dog", xMin: 0.3, yMin: 0.3, xMax: 0.4, yMax: 0.4), organizationID: f.orgA, binaryID: bare.id))
        #expect(Set([ball, cup, dog]).count == 3 && !ball.isEmpty)

        var stored = try await store.binaries(organizationID: f.orgA, ids: [image.id, bare.id])
        #expect(Self.boxes(stored[0]) == [
            BoundingBox(id: ball, label: "ball", xMin: 0.1, yMin: 0.2, xMax: 0.5, yMax: 0.6, confidence: 0.9),
            BoundingBox(id: cup, label: "cup", xMin: 0, yMin: 0, xMax: 1, yMax: 1),
        ])
        // Classifications already there are kept.
        #expect(stored[0].metadata.annotations?["classifications"]?.arrayValue?.count == 1)
        #expect(Self.boxes(stored[1]).map(\.label) == ["dog"])
        #expect(try await store.boundingBoxLabels(organizationID: f.orgA, filter: .all) == ["ball", "cup", "dog"])
        var cups = BinaryFilter()
        cups.boundingBoxLabels = ["cup"]
        #expect(try await store.binaryCount(organizationID: f.orgA, filter: cups).count == 1)

        // An update changes only what it names, and is checked as a whole box.
        #expect(try await store.updateBoundingBox(BoundingBoxChange(label: "mug", xMax: 0.8), boxID: cup, organizationID: f.orgA, binaryID: image.id))
        stored = try await store.binaries(organizationID: f.orgA, ids: [image.id])
        #expect(Self.boxes(stored[0])[1] == BoundingBox(id: cup, label: "mug", xMin: 0, yMin: 0, xMax: 0.8, yMax: 1))
        #expect(try await store.binaryCount(organizationID: f.orgA, filter: cups).count == 0)
        var error = await storeError {
            _ = try await store.updateBoundingBox(BoundingBoxChange(xMin: 0.9), boxID: cup, organizationID: f.orgA, binaryID: image.id)
        }
        #expect(error?.kind == .invalidArgument && error?.message.contains("x_min_normalized (0.9) must be less than x_max_normalized (0.8)") == true)
        error = await storeError {
            _ = try await store.updateBoundingBox(BoundingBoxChange(label: "x"), boxID: dog, organizationID: f.orgA, binaryID: image.id)
        }
        #expect(error?.kind == .notFound && error?.message.contains(dog) == true)

        #expect(try await store.removeBoundingBox(boxID: ball, organizationID: f.orgA, binaryID: image.id))
        error = await storeError { _ = try await store.removeBoundingBox(boxID: ball, organizationID: f.orgA, binaryID: image.id) }
        #expect(error?.kind == .notFound)
        stored = try await store.binaries(organizationID: f.orgA, ids: [image.id])
        #expect(Self.boxes(stored[0]).map(\.id) == [cup])
        #expect(try await store.boundingBoxLabels(organizationID: f.orgA, filter: .all) == ["dog", "mug"])
    }

    @Test(arguments: StoreBackend.all) func anotherOrganisationsImageIsUnknown(_ backend: StoreBackend) async throws {
        let f = try await StoreFixture.make(backend)
        defer { f.remove() }
        let theirs = try await f.store.storeBinary(BinaryQueryTests.metadata(0, org: f.orgB), bytes: [1])
        let box = BoundingBox(label: "ball", xMin: 0.1, yMin: 0.1, xMax: 0.2, yMax: 0.2)
        #expect(try await f.store.addBoundingBox(box, organizationID: f.orgA, binaryID: theirs.id) == nil)
        #expect(try await f.store.addBoundingBox(box, organizationID: f.orgA, binaryID: "no-such-id") == nil)
        let boxID = try #require(try await f.store.addBoundingBox(box, organizationID: f.orgB, binaryID: theirs.id))
        #expect(try await f.store.updateBoundingBox(BoundingBoxChange(label: "x"), boxID: boxID, organizationID: f.orgA, binaryID: theirs.id) == false)
        #expect(try await f.store.removeBoundingBox(boxID: boxID, organizationID: f.orgA, binaryID: theirs.id) == false)
        #expect(Self.boxes(try await f.store.binaries(organizationID: f.orgB, ids: [theirs.id]).first).map(\.label) == ["ball"])
    }

    @Test(arguments: StoreBackend.all) func invalidBoxesAreRefusedSayingWhichValue(_ backend: StoreBackend) async throws {
        let f = try await StoreFixture.make(backend)
        defer { f.remove() }
        let image = try await f.store.storeBinary(BinaryQueryTests.metadata(0, org: f.orgA), bytes: [1])
        let cases: [(BoundingBox, String)] = [
            (BoundingBox(label: "a", xMin: -0.1, yMin: 0, xMax: 0.5, yMax: 0.5), "x_min_normalized is -0.1"),
            (BoundingBox(label: "a", xMin: 0, yMin: 0, xMax: 0.5, yMax: 1.5), "y_max_normalized is 1.5"),
            (BoundingBox(label: "a", xMin: 0, yMin: .nan, xMax: 0.5, yMax: 0.5), "y_min_normalized is nan"),
            (BoundingBox(label: "a", xMin: 0.5, yMin: 0, xMax: 0.5, yMax: 0.5), "x_min_normalized (0.5) must be less than x_max_normalized (0.5)"),
            (BoundingBox(label: "a", xMin: 0, yMin: 0.7, xMax: 0.5, yMax: 0.2), "y_min_normalized (0.7) must be less than y_max_normalized (0.2)"),
            (BoundingBox(label: "", xMin: 0, yMin: 0, xMax: 0.5, yMax: 0.5), "label must not be empty"),
            (BoundingBox(label: "a", xMin: 0, yMin: 0, xMax: 0.5, yMax: 0.5, confidence: 2), "confidence is 2.0"),
        ]
        for (box, message) in cases {
            let error = await storeError { _ = try await f.store.addBoundingBox(box, organizationID: f.orgA, binaryID: image.id) }
            #expect(error?.kind == .invalidArgument && error?.message.contains(message) == true, "\(message): \(String(describing: error))")
        }
        #expect(BoundingBoxTests.boxes(try await f.store.binaries(organizationID: f.orgA, ids: [image.id]).first).isEmpty)
    }
}
