import FerryBSON
import Foundation
import StoreTestSupport
import Testing

@testable import FerryStore

@Suite struct QueryTests {
    @Test(arguments: StoreBackend.all) func documentsCarryViamsColumns(_ backend: StoreBackend) async throws {
        let f = try await StoreFixture.make(backend)
        defer { f.remove() }
        let reading = StoreFixture.reading(6, org: f.orgA)
        _ = try await f.store.insert([reading], idempotencyKey: nil)
        let docs = try await f.store.readings(organizationID: f.orgA, source: .standard, filter: .all, sortByTimeDescending: false, limit: nil)
        let expected: BSONDocument = [
            "organization_id": .string(f.orgA), "location_id": "loc-0", "robot_id": "robot-0", "part_id": "part-0",
            "component_type": "rdk:component:sensor", "component_name": "sensor-2", "method_name": "Readings",
            "time_requested": .datetime(reading.timeRequested), "time_received": .datetime(reading.timeReceived),
            "tags": ["even", "lab"], "additional_parameters": ["unit": "celsius"],
            "data": ["readings": ["i": .int32(6), "temperature": 23.0, "label": "r6"]],
        ]
        #expect(docs == [expected])
    }

    @Test(arguments: StoreBackend.all) func orderLimitAndFilters(_ backend: StoreBackend) async throws {
        let f = try await StoreFixture.make(backend)
        defer { f.remove() }
        // Inserted out of time order: results still come by time_received.
        _ = try await f.store.insert(StoreFixture.readings(0..<40, org: f.orgA).shuffled(), idempotencyKey: nil)
        let store = f.store
        func query(_ filter: ReadingFilter, descending: Bool = false, limit: Int? = nil) async throws -> [Int] {
            try await store.readings(organizationID: f.orgA, source: .standard, filter: filter, sortByTimeDescending: descending, limit: limit)
                .compactMap(\.recordIndex)
        }
        #expect(try await query(.all) == Array(0..<40))
        #expect(try await query(.all, descending: true, limit: 3) == [39, 38, 37])
        #expect(try await query(.all, limit: 0) == [])
        var filter = ReadingFilter().restricting(.componentName, to: ["sensor-1", "sensor-3"])
        filter.timeReceived.atLeast(StoreFixture.t0 + 10 * 60_000)
        filter.timeReceived.lessThan(StoreFixture.t0 + 20 * 60_000)
        #expect(try await query(filter) == [11, 13, 15, 17, 19])
        #expect(try await query(filter.restricting(.robotID, to: ["robot-2"])) == [11, 17])
        #expect(try await query(filter.restricting(.componentName, to: ["sensor-0"])) == [], "intersection is empty")
        #expect(try await query(ReadingFilter().restricting(.organizationID, to: [f.orgB])) == [])
        var requested = ReadingFilter()
        requested.timeRequested.equalTo(StoreFixture.t0 + 5 * 60_000 - 5)
        #expect(try await query(requested) == [5])
        let error = await storeError { _ = try await query(.all, limit: -1) }
        #expect(error?.kind == .invalidArgument)
    }

    @Test(arguments: StoreBackend.all) func pagesCoverEverythingOnceEvenWithTiedTimes(_ backend: StoreBackend) async throws {
        let f = try await StoreFixture.make(backend)
        defer { f.remove() }
        // Ten readings share each timestamp, so paging must break ties by id.
        let batch = (0..<95).map { StoreFixture.reading($0, org: f.orgA, time: StoreFixture.t0 + Int64($0 / 10)) }
        _ = try await f.store.insert(batch, idempotencyKey: nil)
        for descending in [false, true] {
            var seen: [Int] = []
            var pages = 0
            try await f.store.forEachReadingPage(
                organizationID: f.orgA, source: .standard, filter: .all, sortByTimeDescending: descending, pageSize: 7
            ) { docs in
                seen += docs.compactMap(\.recordIndex)
                pages += 1
                return true
            }
            #expect(seen.count == 95)
            #expect(Set(seen) == Set(0..<95))
            #expect(pages == 14)
            let times = seen.map { $0 / 10 }
            #expect(times == (descending ? times.sorted(by: >) : times.sorted()))
        }
        let last = try await f.store.readingsPage(
            organizationID: f.orgA, source: .standard, filter: .all, sortByTimeDescending: false, after: nil, limit: 95)
        #expect(last.next == nil && last.documents.count == 95)
        let cursor = ReadingCursor(timeReceived: 12, id: 34)
        #expect(ReadingCursor(token: cursor.token) == cursor)
        #expect(ReadingCursor(token: "nonsense") == nil)
    }

    /// PostgreSQL reads in pages of 10,000 packed rows, the next asked for while the last decodes:
    /// reads that span several pages, start after a cursor, stop at a limit inside a page, or
    /// read only some fields come back whole and in order.
    @Test(arguments: StoreBackend.all) func readsOfManyPagesComeBackWholeAndInOrder(_ backend: StoreBackend) async throws {
        let f = try await StoreFixture.make(backend)
        defer { f.remove() }
        // Three readings share each timestamp, so pages must break ties by id; inserted in order,
        // record i is the i-th by (time, id).
        let count = 23_456
        let all = (0..<count).map { StoreFixture.reading($0, org: f.orgA, time: StoreFixture.t0 + Int64($0 / 3)) }
        for start in stride(from: 0, to: count, by: 5_000) {
            _ = try await f.store.insert(Array(all[start..<min(start + 5_000, count)]), idempotencyKey: nil)
        }
        let store = f.store
        func read(descending: Bool, after: ReadingCursor? = nil, limit: Int? = nil, fields: BSONFieldSet = .everything) async throws
            -> (indexes: [Int], cursors: [ReadingCursor], documents: [BSONDocument])
        {
            let page = try await store.fetchReadings(
                organizationID: f.orgA, source: .standard, filter: .all, descending: descending, after: after, limit: limit, fields: fields)
            return (page.documents.compactMap(\.recordIndex), page.cursors, page.documents)
        }
        let ascending = try await read(descending: false)
        #expect(ascending.indexes == Array(0..<count))
        let document = ascending.documents[12_345]
        #expect(document["component_name"] == "sensor-1" && document["tags"] == [] && document["additional_parameters"] == ["unit": "celsius"])
        #expect(document["time_received"] == .datetime(StoreFixture.t0 + 4_115) && document["time_requested"] == .datetime(StoreFixture.t0 + 4_110))
        #expect(try await read(descending: true).indexes == Array((0..<count).reversed()))
        #expect(try await read(descending: false, limit: 20_001).indexes == Array(0..<20_001))
        #expect(try await read(descending: true, limit: 10_000).indexes == Array((count - 10_000..<count).reversed()))
        let middle = ascending.cursors[9_998]
        #expect(try await read(descending: false, after: middle).indexes == Array(9_999..<count))
        #expect(try await read(descending: true, after: middle, limit: 12_000).indexes == Array((0..<9_998).reversed()))
        let onlyI = try await read(descending: false, limit: 15_000, fields: BSONFieldSet(paths: [["data", "readings", "i"]]))
        #expect(onlyI.indexes == Array(0..<15_000))
        #expect(onlyI.documents.allSatisfy { $0.elements.map(\.key) == ["data"] })
        #expect(onlyI.cursors == Array(ascending.cursors.prefix(15_000)))
    }

    @Test(arguments: StoreBackend.all) func everyQueryPathIsOrganisationScoped(_ backend: StoreBackend) async throws {
        let f = try await StoreFixture.make(backend)
        defer { f.remove() }
        _ = try await f.store.insert(StoreFixture.readings(0..<10, org: f.orgA), idempotencyKey: nil)
        _ = try await f.store.insert(StoreFixture.readings(100..<103, org: f.orgB), idempotencyKey: nil)
        for source in [ReadingSource.standard, .hotStorage] {
            let a = try await f.store.readings(organizationID: f.orgA, source: source, filter: .all, sortByTimeDescending: false, limit: nil)
            let b = try await f.store.readings(organizationID: f.orgB, source: source, filter: .all, sortByTimeDescending: false, limit: nil)
            #expect(a.count == 10 && a.allSatisfy { $0["organization_id"] == .string(f.orgA) })
            #expect(b.count == 3 && b.allSatisfy { $0["organization_id"] == .string(f.orgB) })
            // Asking for the other organisation in the filter yields nothing, not its rows.
            let sneaky = ReadingFilter().restricting(.organizationID, to: [f.orgA])
            #expect(try await f.store.readings(organizationID: f.orgB, source: source, filter: sneaky, sortByTimeDescending: false, limit: nil).isEmpty)
            let page = try await f.store.readingsPage(organizationID: f.orgB, source: source, filter: .all, sortByTimeDescending: false, after: nil, limit: 100)
            #expect(page.documents.count == 3)
            let sql = try await f.store.tabularDataBySQL(organizationID: f.orgB, source: source, query: "SELECT count(*) AS n FROM readings")
            #expect(sql == [["n": .int64(3)]])
        }
        #expect(try await f.store.readings(organizationID: "ghost", source: .standard, filter: .all, sortByTimeDescending: false, limit: nil).isEmpty)
    }

    /// SQLite's planner needs the access path chosen for it (see `ReadingQuery.accessPath`).
    @Test func timeAndComponentFiltersUseIndexesInSQLite() async throws {
        let f = try await StoreFixture.make(.sqlite)
        defer { f.remove() }
        _ = try await f.store.insert(StoreFixture.readings(0..<200, org: f.orgA), idempotencyKey: nil)
        var timeRange = ReadingFilter()
        timeRange.timeReceived.atLeast(StoreFixture.t0)
        timeRange.timeReceived.atMost(StoreFixture.t0 + 3_600_000)
        let plans: [(ReadingFilter, ReadingSource, String)] = [
            (timeRange, .standard, "readings_by_time"),
            (timeRange.restricting(.componentName, to: ["sensor-1"]), .standard, "readings_by_component"),
            (timeRange.restricting(.componentName, to: ["sensor-1", "sensor-2"]), .standard, "readings_by_component"),
            (timeRange.restricting(.robotID, to: ["robot-1"]), .standard, "readings_by_robot"),
            (timeRange.restricting(.componentName, to: ["sensor-1"]), .hotStorage, "PRIMARY KEY"),
            (timeRange, .hotStorage, "PRIMARY KEY"),
        ]
        for (filter, source, path) in plans {
            let plan = try await f.sqlite.queryPlan(organizationID: f.orgA, source: source, filter: filter).joined(separator: "; ")
            let expected = path == "PRIMARY KEY" ? "USING PRIMARY KEY (" : "USING INDEX \(path) ("
            #expect(plan.contains(expected), "plan: \(plan)")
            #expect(!plan.contains("TEMP B-TREE") || filter.allowed[.componentName]?.count ?? 0 > 1, "no sort needed, plan: \(plan)")
            #expect(plan.contains("time_received>? AND time_received<?"), "range seek on time, plan: \(plan)")
        }
    }
}
