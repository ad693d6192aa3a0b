import FerryBSON
import FerryStore
import Foundation
import FerryTestSupport
import StoreTestSupport
import Testing

/// Browsing, tagging and deleting binary data, alike on every backend.
@Suite struct BinaryQueryTests {
    /// Payload `i` of a varied set: two locations, three robots and parts, two cameras and a lidar,
    /// JPEG and PNG and PCD, tags on some, capture times a minute apart (two share a time).
    static func metadata(_ i: Int, org: String) -> BinaryMetadata {
        let lidar = i % 5 == 4
        return BinaryMetadata(
            organizationID: org, locationID: "loc-\(i % 2)", robotID: "robot-\(i % 3)", partID: "part-\(i % 3)",
            componentType: lidar ? "rdk:component:camera3d" : "rdk:component:camera", componentName: lidar ? "lidar" : "cam-\(i % 2)",
            methodName: lidar ? "NextPointCloud" : "GetImages", fileName: "f\(i)", fileExtension: lidar ? ".pcd" : i % 2 == 0 ? ".jpeg" : ".png",
            mimeType: lidar ? "pointcloud/pcd" : i % 2 == 0 ? "image/jpeg" : "image/png",
            timeRequested: StoreFixture.t0 + Int64(min(i, 8)) * 60_000, timeReceived: StoreFixture.t0 + Int64(i) * 60_000 + 500,
            tags: i % 3 == 0 ? ["lab", "t\(i)"] : i % 3 == 1 ? ["field"] : [], fileID: "file-\(i)")
    }

    /// Stores payloads 0..<count in `org` (payload i is i+1 bytes) and returns their records.
    static func stored(_ f: StoreFixture, count: Int = 10, org: String? = nil) async throws -> [BinaryRecord] {
        var records: [BinaryRecord] = []
        for i in 0..<count {
            records.append(try await f.store.storeBinary(metadata(i, org: org ?? f.orgA), bytes: [UInt8](repeating: UInt8(i), count: i + 1)))
        }
        return records.map { var r = $0; r.isNew = false; return r }
    }

    /// Every record `filter` selects, paging `limit` at a time, and the number of pages it took.
    static func allPages(_ f: StoreFixture, _ filter: BinaryFilter, descending: Bool = false, limit: Int) async throws -> ([BinaryRecord], Int) {
        var cursor: BinaryCursor?
        var all: [BinaryRecord] = []
        var pages = 0
        repeat {
            let page = try await f.store.binaryPage(organizationID: f.orgA, filter: filter, descending: descending, after: cursor, limit: limit)
            pages += 1
            #expect(page.records.count <= limit)
            all += page.records
            // The cursor travels as an opaque token, as a client's `last` does.
            cursor = try page.next.map { try #require(BinaryCursor(token: $0.token)) }
        } while cursor != nil
        return (all, pages)
    }

    static func ordered(_ records: [BinaryRecord], descending: Bool = false) -> [BinaryRecord] {
        let sorted = records.sorted { ($0.metadata.timeRequested, $0.id) < ($1.metadata.timeRequested, $1.id) }
        return descending ? sorted.reversed() : sorted
    }

    @Test(arguments: StoreBackend.all) func pagesToTheEndInBothOrders(_ backend: StoreBackend) async throws {
        let f = try await StoreFixture.make(backend)
        defer { f.remove() }
        let records = try await Self.stored(f)
        _ = try await Self.stored(f, count: 3, org: f.orgB)
        for descending in [false, true] {
            for limit in [1, 3, 10, 50] {
                let (all, pages) = try await Self.allPages(f, .all, descending: descending, limit: limit)
                #expect(all == Self.ordered(records, descending: descending), "limit \(limit), descending \(descending)")
                #expect(pages == max(1, (records.count + limit - 1) / limit), "no empty page after the last full one")
            }
        }
        // Payloads 8 and 9 share a capture time: the id breaks the tie on both sides of a page boundary.
        let tied = try await f.store.binaryPage(organizationID: f.orgA, filter: .all, descending: false, after: nil, limit: 9)
        #expect(tied.next?.timeRequested == StoreFixture.t0 + 8 * 60_000)
        let rest = try await f.store.binaryPage(organizationID: f.orgA, filter: .all, descending: false, after: tied.next, limit: 9)
        #expect(rest.records.count == 1 && rest.next == nil)
        let counted = try await f.store.binaryCount(organizationID: f.orgA, filter: .all)
        #expect(counted.count == 10 && counted.totalBytes == Int64((1...10).reduce(0, +)))
    }

    @Test(arguments: StoreBackend.all) func everyFilterFieldNarrows(_ backend: StoreBackend) async throws {
        let f = try await StoreFixture.make(backend)
        defer { f.remove() }
        let stored = try await Self.stored(f)
        _ = try await Self.stored(f, count: 10, org: f.orgB)
        let dataset = try await f.store.createDataset(name: "picked", organizationID: f.orgA)
        _ = try await f.store.addToDataset(id: dataset.id, organizationID: f.orgA, binaryIDs: [stored[1].id, stored[4].id, stored[7].id])
        // Read back, so each record carries its dataset ids as browsing returns them.
        let records = try await f.store.binaries(organizationID: f.orgA, ids: stored.map(\.id))
        func filter(_ edit: (inout BinaryFilter) -> Void) -> BinaryFilter {
            var filter = BinaryFilter()
            edit(&filter)
            return filter
        }
        let cases: [(String, BinaryFilter, Int)] = [
            ("location", filter { $0.columns.restrict(.locationID, to: ["loc-1"]) }, 5),
            ("robot", filter { $0.columns.restrict(.robotID, to: ["robot-0"]) }, 4),
            ("part", filter { $0.columns.restrict(.partID, to: ["part-2"]) }, 3),
            ("component name", filter { $0.columns.restrict(.componentName, to: ["lidar"]) }, 2),
            ("component type", filter { $0.columns.restrict(.componentType, to: ["rdk:component:camera"]) }, 8),
            ("method", filter { $0.columns.restrict(.methodName, to: ["NextPointCloud"]) }, 2),
            ("MIME types", filter { $0.mimeTypes = ["image/png", "pointcloud/pcd"] }, 6),
            ("no MIME type", filter { $0.mimeTypes = [] }, 0),
            ("capture interval", filter { $0.columns.timeRequested.atLeast(StoreFixture.t0 + 60_000); $0.columns.timeRequested.lessThan(StoreFixture.t0 + 4 * 60_000) }, 3),
            ("tags match any", filter { $0.tags = .matchAny(["t3", "field"]) }, 4),
            ("tagged", filter { $0.tags = .tagged }, 7),
            ("untagged", filter { $0.tags = .untagged }, 3),
            ("own organisation", filter { $0.columns.restrict(.organizationID, to: [f.orgA, f.orgB]) }, 10),
            ("another organisation only", filter { $0.columns.restrict(.organizationID, to: [f.orgB]) }, 0),
            ("combined", filter { $0.columns.restrict(.locationID, to: ["loc-0"]); $0.tags = .tagged; $0.mimeTypes = ["image/jpeg"] }, 2),
            ("dataset", filter { $0.datasetID = dataset.id }, 3),
            ("dataset and MIME type", filter { $0.datasetID = dataset.id; $0.mimeTypes = ["image/png"] }, 2),
            ("unknown dataset", filter { $0.datasetID = "no-such-dataset" }, 0),
        ]
        for (name, filter, expected) in cases {
            let reference = records.filter { filter.matches($0) }
            #expect(reference.count == expected, "the reference evaluation of \(name)")
            let (all, _) = try await Self.allPages(f, filter, limit: 4)
            #expect(all == Self.ordered(reference), "\(name)")
            #expect(try await f.store.binaryCount(organizationID: f.orgA, filter: filter).count == expected, "count of \(name)")
        }
    }

    @Test(arguments: StoreBackend.all) func idsOfAnotherOrganisationAreNotFound(_ backend: StoreBackend) async throws {
        let f = try await StoreFixture.make(backend)
        defer { f.remove() }
        let mine = try await Self.stored(f, count: 3)
        let theirs = try await Self.stored(f, count: 2, org: f.orgB)
        let ids = [mine[2].id, theirs[0].id, "no-such-id", mine[0].id, mine[2].id]
        #expect(try await f.store.binaries(organizationID: f.orgA, ids: ids) == [mine[2], mine[0]])
        #expect(try await f.store.addBinaryTags(["x"], organizationID: f.orgA, ids: [theirs[0].id]) == 0)
        #expect(try await f.store.removeBinaryTags(["lab"], organizationID: f.orgA, ids: [theirs[0].id]) == 0)
        #expect(try await f.store.deleteBinaries(organizationID: f.orgA, ids: [theirs[0].id, theirs[1].id]) == 0)
        #expect(try await f.store.binaries(organizationID: f.orgB, ids: theirs.map(\.id)) == theirs, "untouched")
        #expect(try await f.store.binaryData(organizationID: f.orgB, id: theirs[1].id) == [1, 1])
    }

    @Test(arguments: StoreBackend.all) func tagsAreAddedAndRemovedCountingWhatChanged(_ backend: StoreBackend) async throws {
        let f = try await StoreFixture.make(backend)
        defer { f.remove() }
        let records = try await Self.stored(f, count: 6)  // tags: 0 [lab t0], 1 [field], 2 [], 3 [lab t3], 4 [field], 5 []
        func tags(_ i: Int) async throws -> [String] {
            try await f.store.binaries(organizationID: f.orgA, ids: [records[i].id]).first?.metadata.tags ?? ["<missing>"]
        }
        #expect(try await f.store.addBinaryTags(["field", "new", "new"], organizationID: f.orgA, ids: [records[0].id, records[1].id]) == 2)
        #expect(try await tags(0) == ["lab", "t0", "field", "new"])
        #expect(try await tags(1) == ["field", "new"])
        #expect(try await f.store.addBinaryTags(["field"], organizationID: f.orgA, ids: [records[0].id, records[1].id]) == 0, "nothing lacked it")

        var untagged = BinaryFilter()
        untagged.tags = .untagged
        #expect(try await f.store.addBinaryTags(["review"], organizationID: f.orgA, filter: untagged) == 2)
        #expect(try await tags(2) == ["review"])
        #expect(try await tags(5) == ["review"])
        #expect(try await f.store.binaryCount(organizationID: f.orgA, filter: untagged).count == 0)

        #expect(try await f.store.binaryTags(organizationID: f.orgA, filter: .all) == ["field", "lab", "new", "review", "t0", "t3"])
        var lab = BinaryFilter()
        lab.tags = .matchAny(["lab"])
        #expect(try await f.store.binaryTags(organizationID: f.orgA, filter: lab) == ["field", "lab", "new", "t0", "t3"])

        #expect(try await f.store.removeBinaryTags(["lab", "new"], organizationID: f.orgA, ids: [records[0].id, records[2].id]) == 1)
        #expect(try await tags(0) == ["t0", "field"])
        var jpeg = BinaryFilter()
        jpeg.mimeTypes = ["image/jpeg"]  // payloads 0, 2
        #expect(try await f.store.removeBinaryTags(["review", "t0"], organizationID: f.orgA, filter: jpeg) == 2)
        #expect(try await tags(0) == ["field"])
        #expect(try await tags(2) == [])
        #expect(try await f.store.removeBinaryTags(["absent"], organizationID: f.orgA, filter: .all) == 0)
        #expect(try await f.store.binaryTags(organizationID: f.orgB, filter: .all) == [], "another organisation sees none")
    }

    @Test(arguments: StoreBackend.all) func deletionTakesRowsAndPayloads(_ backend: StoreBackend) async throws {
        let f = try await StoreFixture.make(backend)
        defer { f.remove() }
        let records = try await Self.stored(f)
        let theirs = try await Self.stored(f, count: 3, org: f.orgB)
        #expect(try await f.store.deleteBinaries(organizationID: f.orgA, ids: [records[1].id, records[1].id, "nope"]) == 1)
        #expect(try await f.store.binary(organizationID: f.orgA, id: records[1].id) == nil)
        #expect(try await f.store.binaryData(organizationID: f.orgA, id: records[1].id) == nil)
        var lidar = BinaryFilter()
        lidar.columns.restrict(.componentName, to: ["lidar"])
        #expect(try await f.store.deleteBinaries(organizationID: f.orgA, filter: lidar) == 2)
        #expect(try await f.store.deleteBinaries(organizationID: f.orgA, filter: lidar) == 0)
        let left = try await Self.allPages(f, .all, limit: 100).0
        #expect(left.map(\.id) == Self.ordered(records).filter { ![1, 4, 9].contains(Int($0.metadata.fileName.dropFirst())!) }.map(\.id))
        if backend == .sqlite {
            for i in [1, 4, 9] { #expect(!FileManager.default.fileExists(atPath: records[i].path!), "payload file \(i) goes with its row") }
            #expect(FileManager.default.fileExists(atPath: records[0].path!))
        }
        #expect(try await f.store.deleteBinaries(organizationID: f.orgA, filter: .all) == 7)
        #expect(try await f.store.binaryCount(organizationID: f.orgA, filter: .all).count == 0)
        #expect(try await f.store.binaryCount(organizationID: f.orgB, filter: .all).count == theirs.count, "another organisation keeps its data")
        #expect(try await f.store.removeOrphanedBinaries() == 0, "nothing is left behind")
    }

    @Test(arguments: StoreBackend.all) func readingsAreDeletedByCaptureAge(_ backend: StoreBackend) async throws {
        let f = try await StoreFixture.make(backend)
        defer { f.remove() }
        _ = try await f.store.insert(StoreFixture.readings(0..<10, org: f.orgA), idempotencyKey: nil)
        _ = try await f.store.insert(StoreFixture.readings(0..<4, org: f.orgB), idempotencyKey: nil)
        // Reading i is captured at t0 + i minutes - 5 ms: before t0 + 3 minutes are readings 0, 1, 2 and 3.
        #expect(try await f.store.deleteReadings(organizationID: f.orgA, capturedBefore: StoreFixture.t0 + 3 * 60_000) == 4)
        let left = try await f.store.readings(organizationID: f.orgA, source: .standard, filter: .all, sortByTimeDescending: false, limit: nil)
        #expect(left.compactMap(\.recordIndex) == Array(4..<10))
        let hot = try await f.store.readings(organizationID: f.orgA, source: .hotStorage, filter: .all, sortByTimeDescending: false, limit: nil)
        #expect(hot.compactMap(\.recordIndex).allSatisfy { $0 >= 4 }, "hot storage loses them too")
        #expect(try await f.store.deleteReadings(organizationID: f.orgA, capturedBefore: .min) == 0)
        #expect(try await f.store.deleteReadings(organizationID: f.orgA, capturedBefore: nil) == 6)
        #expect(try await f.store.readings(organizationID: f.orgB, source: .standard, filter: .all, sortByTimeDescending: false, limit: nil).count == 4)
    }

    @Test(arguments: StoreBackend.all) func boundingBoxLabelsFilterAndList(_ backend: StoreBackend) async throws {
        let f = try await StoreFixture.make(backend)
        defer { f.remove() }
        func box(_ label: String) -> BSON {
            .document(["label": .string(label), "x_min_normalized": 0.1, "y_min_normalized": 0.2, "x_max_normalized": 0.3, "y_max_normalized": 0.4])
        }
        let boxes: [[String]] = [["ball", "cup"], ["ball"], ["dog"], []]
        var records: [BinaryRecord] = []
        for (i, labels) in boxes.enumerated() {
            var metadata = Self.metadata(i, org: f.orgA)
            if !labels.isEmpty { metadata.annotations = ["bboxes": .array(labels.map(box)), "classifications": [["label": "scene"]]] }
            records.append(try await f.store.storeBinary(metadata, bytes: [1]))
        }
        _ = try await f.store.storeBinary(Self.metadata(0, org: f.orgB), bytes: [1])  // no annotations, other organisation
        var ball = BinaryFilter()
        ball.boundingBoxLabels = ["ball", "fish"]
        let balls = try await Self.allPages(f, ball, limit: 1).0
        #expect(Set(balls.map(\.id)) == [records[0].id, records[1].id])
        #expect(balls.allSatisfy { ball.matches($0) } && !ball.matches(records[2]) && !ball.matches(records[3]))
        #expect(try await f.store.binaryCount(organizationID: f.orgA, filter: ball).count == 2)
        #expect(try await f.store.boundingBoxLabels(organizationID: f.orgA, filter: .all) == ["ball", "cup", "dog"])
        var dogOrCup = BinaryFilter()
        dogOrCup.boundingBoxLabels = ["dog", "cup"]
        #expect(try await f.store.boundingBoxLabels(organizationID: f.orgA, filter: dogOrCup) == ["ball", "cup", "dog"])
        var jpeg = BinaryFilter()
        jpeg.mimeTypes = ["image/jpeg"]  // payloads 0 and 2
        #expect(try await f.store.boundingBoxLabels(organizationID: f.orgA, filter: jpeg) == ["ball", "cup", "dog"])
        #expect(try await f.store.boundingBoxLabels(organizationID: f.orgB, filter: .all) == [])
        var none = BinaryFilter()
        none.boundingBoxLabels = []
        #expect(try await f.store.binaryCount(organizationID: f.orgA, filter: none).count == 0)
    }

    /// A pipeline with backfill re-runs the windows that lost readings, as it does for late data.
    @Test(arguments: StoreBackend.all) func deletedReadingsInvalidateTheirMinutes(_ backend: StoreBackend) async throws {
        let f = try await StoreFixture.make(backend)
        defer { f.remove() }
        let pipeline = PipelineRecord(
            id: "p1", organizationID: f.orgA, name: "counts", schedule: "0 * * * *", stages: [["$count": "n"]], enableBackfill: true,
            source: .standard, createdAt: 0, scheduledThrough: 0)
        try await f.store.createPipeline(pipeline)
        _ = try await f.store.insert(StoreFixture.readings(0..<10, org: f.orgA), idempotencyKey: nil)
        _ = try await f.store.insert(StoreFixture.readings(0..<10, org: f.orgB), idempotencyKey: nil)
        let before = try await f.store.latestInvalidationID()
        // Readings 0-3, received in four consecutive minutes from t0's: one entry for the four.
        #expect(try await f.store.deleteReadings(organizationID: f.orgA, capturedBefore: StoreFixture.t0 + 3 * 60_000) == 4)
        let minute = StoreFixture.t0 / 60_000 * 60_000
        let logged = try await f.store.invalidations(organizationID: f.orgA, source: "readings", after: before, limit: 100)
        #expect(logged.map(\.range) == [SinkWindow(start: minute, end: minute + 4 * 60_000)])
        #expect(try await f.store.deleteReadings(organizationID: f.orgB, capturedBefore: nil) == 10)
        #expect(try await f.store.invalidations(organizationID: f.orgB, source: "readings", after: before, limit: 100).isEmpty,
                "an organisation without a backfill pipeline logs nothing")
    }

    /// Pages are read through the capture-time index rather than sorting the organisation's payloads.
    @Test func pagesReadTheCaptureTimeIndex() async throws {
        let f = try await StoreFixture.make(.sqlite)
        defer { f.remove() }
        var filter = BinaryFilter()
        filter.tags = .tagged
        for descending in [false, true] {
            let plan = try await f.sqlite.binaryPageQueryPlan(organizationID: f.orgA, filter: filter, descending: descending).joined(separator: "; ")
            #expect(plan.contains("binary_data_by_capture") && !plan.contains("TEMP B-TREE"), "\(plan)")
        }
        let p = try await StoreFixture.make(.postgres)
        defer { p.remove() }
        guard case .database(let url) = p.testStore.location else {
            Issue.record("a PostgreSQL test store has a database URL")
            return
        }
        let name = TestPostgres.databaseName(of: url)
        let plan = try TestPostgres.psql(
            """
            SET enable_seqscan = off;
            EXPLAIN SELECT id FROM binary_data WHERE organization_id = '\(p.orgA)' AND (time_requested, id COLLATE "C") < (5, 'x')
            ORDER BY time_requested DESC, id COLLATE "C" DESC LIMIT 10
            """, database: name)
        #expect(plan.contains("binary_data_by_capture") && !plan.contains("Sort"), "\(plan)")
    }

    @Test(arguments: StoreBackend.all) func badInputIsRefused(_ backend: StoreBackend) async throws {
        let f = try await StoreFixture.make(backend)
        defer { f.remove() }
        let records = try await Self.stored(f, count: 1)
        var error = await storeError { _ = try await f.store.addBinaryTags([], organizationID: f.orgA, ids: [records[0].id]) }
        #expect(error?.kind == .invalidArgument && error?.message.contains("at least one tag") == true)
        error = await storeError { _ = try await f.store.addBinaryTags([""], organizationID: f.orgA, filter: .all) }
        #expect(error?.kind == .invalidArgument)
        error = await storeError { _ = try await f.store.removeBinaryTags(["a\u{0}b"], organizationID: f.orgA, filter: .all) }
        #expect(error?.kind == .invalidArgument && error?.message.contains("NUL") == true)
        error = await storeError { _ = try await f.store.binaryPage(organizationID: f.orgA, filter: .all, descending: false, after: nil, limit: 0) }
        #expect(error?.kind == .invalidArgument)
        var filter = BinaryFilter()
        filter.columns.restrict(.componentName, to: ["c\u{0}"])
        error = await storeError { _ = try await f.store.binaryCount(organizationID: f.orgA, filter: filter) }
        #expect(error?.kind == .invalidArgument)
        #expect(BinaryCursor(token: "not-a-cursor") == nil && BinaryCursor(token: "12/") == nil)
        #expect(BinaryCursor(token: BinaryCursor(timeRequested: -5, id: "a/b").token) == BinaryCursor(timeRequested: -5, id: "a/b"))
    }
}
