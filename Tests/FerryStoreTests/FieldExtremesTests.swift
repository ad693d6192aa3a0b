import FerryBSON
import FerryStore
import FerryStorePostgres
import FerryTestSupport
import Foundation
import GRDB
import StoreTestSupport
import Testing

/// `fieldExtremes` (a chart's reduction in the store) and the readings' tag filter, on each backend:
/// the same buckets as the in-memory reference, every spike kept, organisations kept apart.
@Suite struct FieldExtremesTests {
    static let path = ["readings", "temperature"]

    /// What every backend must answer: the filter and the number applied to the readings in memory.
    static func reference(_ readings: [Reading], org: String, filter: ReadingFilter, path: [String] = path, buckets: Int) -> FieldExtremes {
        let matching = readings.filter { $0.organizationID == org && filter.matches($0) }
        guard let first = matching.map(\.timeReceived).min(), let last = matching.map(\.timeReceived).max() else { return .none }
        var accumulator = FieldExtremesAccumulator(span: first...last, buckets: buckets)
        for r in matching {
            if let value = FieldExtremes.number(in: r.data, path: path) {
                accumulator.add(component: r.componentName, time: r.timeReceived, value: value)
            }
        }
        return accumulator.result(span: first...last)
    }

    /// A day of readings every minute for two components, one spike, and a rival organisation's
    /// readings of the same component with values far outside.
    static func day(_ f: StoreFixture) -> [Reading] {
        var readings: [Reading] = []
        for i in 0..<1_440 {
            for (component, offset) in [("north", 0.0), ("south", 5.0)] {
                let t = StoreFixture.t0 + Int64(i) * 60_000 + (component == "south" ? 7 : 0)
                var value = BSON.double(20 + offset + sin(Double(i) / 90))
                if component == "north", i == 777 { value = .double(95.5) }  // one spike, one minute long
                if component == "south", i % 3 == 0 { value = .int32(Int32(i % 40)) }
                if component == "south", i % 100 == 1 { value = .int64(1 << 40) }
                let tags = i % 10 == 0 ? ["calibrated"] : []
                readings.append(
                    Reading(
                        organizationID: f.orgA, locationID: "loc", robotID: "robot", partID: "part", componentType: "rdk:component:sensor",
                        componentName: component, methodName: "Readings", timeRequested: t - 3, timeReceived: t, tags: tags,
                        data: ["readings": ["temperature": value, "label": .string("r\(i)")]]))
            }
            readings.append(
                Reading(
                    organizationID: f.orgB, locationID: "loc", robotID: "robot", partID: "part", componentType: "rdk:component:sensor",
                    componentName: "north", methodName: "Readings", timeRequested: StoreFixture.t0 + Int64(i) * 60_000 + 1,
                    timeReceived: StoreFixture.t0 + Int64(i) * 60_000 + 1, tags: ["calibrated"], data: ["readings": ["temperature": -999.0]]))
        }
        return readings
    }

    @Test(arguments: StoreBackend.all) func extremesMatchTheReferenceAndKeepTheSpike(_ backend: StoreBackend) async throws {
        let f = try await StoreFixture.make(backend, hotStorageHours: nil)
        defer { f.remove() }
        let readings = Self.day(f)
        _ = try await f.store.insert(readings.shuffled(), idempotencyKey: nil)
        let all = try await f.store.fieldExtremes(organizationID: f.orgA, filter: .all, path: Self.path, buckets: 48)
        #expect(all == Self.reference(readings, org: f.orgA, filter: .all, buckets: 48))
        #expect(all.series.map(\.component) == ["north", "south"])
        #expect(all.span == StoreFixture.t0...(StoreFixture.t0 + 1_439 * 60_000 + 7))
        for line in all.series {
            #expect(line.buckets.count == 48 && line.buckets.map(\.count).reduce(0, +) == 1_440)
        }
        // The spike is the highest point of its bucket, and so drawn.
        let north = try #require(all.series.first)
        #expect(north.buckets.contains { $0.max == FieldPoint(time: StoreFixture.t0 + 777 * 60_000, value: 95.5) })
        #expect(north.buckets.flatMap(\.points).map(\.value).max() == 95.5)
        // int32 and int64 count as numbers; the rival organisation's -999 never shows.
        let south = try #require(all.series.last)
        #expect(south.buckets.contains { $0.max.value == Double(1 << 40) })
        #expect(all.series.flatMap(\.buckets).allSatisfy { $0.min.value > -999 })

        // Filters narrow as in a readings page: component, time, tags.
        var filter = ReadingFilter().restricting(.componentName, to: ["north"])
        filter.timeReceived.atLeast(StoreFixture.t0 + 600 * 60_000)
        filter.timeReceived.atMost(StoreFixture.t0 + 900 * 60_000)
        let narrow = try await f.store.fieldExtremes(organizationID: f.orgA, filter: filter, path: Self.path, buckets: 10)
        #expect(narrow == Self.reference(readings, org: f.orgA, filter: filter, buckets: 10))
        #expect(narrow.series.map(\.component) == ["north"] && narrow.span == (StoreFixture.t0 + 600 * 60_000)...(StoreFixture.t0 + 900 * 60_000))
        var tagged = ReadingFilter()
        tagged.anyTag = ["calibrated", "never-used"]
        let calibrated = try await f.store.fieldExtremes(organizationID: f.orgA, filter: tagged, path: Self.path, buckets: 7)
        #expect(calibrated == Self.reference(readings, org: f.orgA, filter: tagged, buckets: 7))
        let calibratedCount = calibrated.series.flatMap(\.buckets).map(\.count).reduce(0, +)
        #expect(calibratedCount == 2 * 144)
        // One bucket: the extremes of everything; the other organisation sees only its own.
        let one = try await f.store.fieldExtremes(organizationID: f.orgA, filter: .all, path: Self.path, buckets: 1)
        let lowest = try #require(north.buckets.map(\.min).min { $0.value < $1.value })
        let spike = FieldPoint(time: StoreFixture.t0 + 777 * 60_000, value: 95.5)
        #expect(one.series.first?.buckets == [FieldBucket(index: 0, count: 1_440, min: lowest, max: spike)])
        let rival = try await f.store.fieldExtremes(organizationID: f.orgB, filter: .all, path: Self.path, buckets: 5)
        #expect(rival.series.map(\.component) == ["north"])
        #expect(rival.series.flatMap(\.buckets).allSatisfy { $0.min.value == -999 && $0.max.value == -999 })
    }

    /// Only int32, int64 and finite doubles reached through documents are numbers; equal values
    /// resolve to the earliest; no match is an empty answer.
    @Test(arguments: StoreBackend.all) func onlyNumbersReachedThroughDocumentsCount(_ backend: StoreBackend) async throws {
        let f = try await StoreFixture.make(backend, hotStorageHours: nil)
        defer { f.remove() }
        let values: [BSON] = [
            .double(.nan), .double(.infinity), .string("12"), .bool(true), .null, .decimal128(try BSONDecimal128("3.5")), .datetime(5),
            .array([1, 2]), .document(["0": 4]), .int32(7), .double(7), .int64(-3), .double(-3),
        ]
        var readings: [Reading] = []
        for (i, value) in values.enumerated() {
            let t = StoreFixture.t0 + Int64(i) * 1_000
            readings.append(
                Reading(
                    organizationID: f.orgA, locationID: "l", robotID: "r", partID: "p", componentType: "t", componentName: "c",
                    methodName: "m", timeRequested: t, timeReceived: t,
                    data: ["first": 1, "v": value, "list": [["x": 8]], "nested": ["0": ["x": .int32(Int32(i))]]]))
        }
        _ = try await f.store.insert(readings, idempotencyKey: nil)
        let result = try await f.store.fieldExtremes(organizationID: f.orgA, filter: .all, path: ["v"], buckets: 1)
        let bucket = try #require(result.series.first?.buckets.first)
        #expect(result == Self.reference(readings, org: f.orgA, filter: .all, path: ["v"], buckets: 1))
        // 7 (int32) and 7.0 tie for the highest: the earlier; likewise -3 (int64) and -3.0 for the lowest.
        #expect(bucket.count == 4)
        #expect(bucket.max == FieldPoint(time: StoreFixture.t0 + 9_000, value: 7) && bucket.min == FieldPoint(time: StoreFixture.t0 + 11_000, value: -3))
        // Through an array there is no number (as in MQL), but a document's field named "0" is one.
        let throughArray = try await f.store.fieldExtremes(organizationID: f.orgA, filter: .all, path: ["list", "0", "x"], buckets: 3)
        #expect(throughArray.series.isEmpty && throughArray.span != nil)
        let numericName = try await f.store.fieldExtremes(organizationID: f.orgA, filter: .all, path: ["nested", "0", "x"], buckets: 13)
        #expect(numericName == Self.reference(readings, org: f.orgA, filter: .all, path: ["nested", "0", "x"], buckets: 13))
        #expect(numericName.series.first?.buckets.count == 13)
        #expect(try await f.store.fieldExtremes(organizationID: f.orgA, filter: .all, path: ["missing"], buckets: 3).series.isEmpty)
        #expect(try await f.store.fieldExtremes(organizationID: f.orgB, filter: .all, path: ["v"], buckets: 3) == .none)
        #expect(
            try await f.store.fieldExtremes(organizationID: f.orgA, filter: .all.restricting(.componentName, to: []), path: ["v"], buckets: 3)
                == .none)
    }

    @Test(arguments: StoreBackend.all) func badPathsAndBucketCountsAreRefused(_ backend: StoreBackend) async throws {
        let f = try await StoreFixture.make(backend)
        defer { f.remove() }
        for (path, buckets, words) in [
            (["v"], 0, "1 to 10000 time buckets"), (["v"], 10_001, "1 to 10000 time buckets"), ([String](), 5, "1 to 100 names"),
            (["a", ""], 5, "is not a field path"), (["$where"], 5, "is not a field path"), (["a\u{0}b"], 5, "NUL"),
        ] {
            let error = await storeError { _ = try await f.store.fieldExtremes(organizationID: f.orgA, filter: .all, path: path, buckets: buckets) }
            #expect(error?.kind == .invalidArgument && error?.message.contains(words) == true, "\(path) \(buckets): \(String(describing: error))")
        }
    }

    /// SQLite reads a chart through the filter's index and sorts nothing.
    @Test func sqliteReadsAChartThroughTheIndexWithoutSorting() async throws {
        let f = try await StoreFixture.make(.sqlite)
        defer { f.remove() }
        _ = try await f.store.insert(StoreFixture.readings(0..<50, org: f.orgA), idempotencyKey: nil)
        let component = ReadingFilter().restricting(.componentName, to: ["sensor-1"])
        var tagged = ReadingFilter()
        tagged.anyTag = ["lab"]
        for (filter, index) in [(component, "readings_by_component"), (tagged, "readings_by_time"), (ReadingFilter.all, "readings_by_time")] {
            let plan = try await f.sqlite.fieldExtremesPlan(organizationID: f.orgA, filter: filter).joined(separator: "; ")
            #expect(plan.contains("USING INDEX \(index) (") && !plan.contains("TEMP B-TREE"), "plan: \(plan)")
        }
    }

    /// SQLite reads the number from the stored bytes without decoding the document: damaged bytes
    /// on the way to it are an error, not a silently missing point.
    @Test func sqliteReportsADamagedDocument() async throws {
        let f = try await StoreFixture.make(.sqlite)
        defer { f.remove() }
        _ = try await f.store.insert(StoreFixture.readings(0..<3, org: f.orgA), idempotencyKey: nil)
        let database = try DatabaseQueue(path: f.sqlite.databasePath)
        // A document whose first element claims a 1,000-byte string inside 20 bytes.
        let damaged: [UInt8] = [20, 0, 0, 0, 0x02, 0x61, 0, 0xE8, 0x03, 0, 0, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0, 0]
        try await database.write { db in try db.execute(sql: "UPDATE readings SET data = ? WHERE id = 2", arguments: [Data(damaged)]) }
        let error = await storeError { _ = try await f.store.fieldExtremes(organizationID: f.orgA, filter: .all, path: ["readings", "i"], buckets: 3) }
        #expect(error?.kind == .storage && error?.message.contains("not a well-formed BSON document") == true, "\(String(describing: error))")
        // A path that ends before the damage still reads: only the bytes on the way are parsed.
        try await database.write { db in
            try db.execute(sql: "UPDATE readings SET data = ? WHERE id = 2", arguments: [Data([13, 0, 0, 0, 0x10, 0x61, 0, 7, 0, 0, 0, 0xEE, 0])])
        }
        let read = try await f.store.fieldExtremes(organizationID: f.orgA, filter: .all, path: ["a"], buckets: 3)
        #expect(read.series.flatMap(\.buckets).map(\.max.value) == [7])
    }

    /// PostgreSQL reads a chart of a time range from that range's monthly partitions only.
    @Test func postgresChartsReadOnlyTheRangesPartitions() async throws {
        let f = try await StoreFixture.make(.postgres)
        defer { f.remove() }
        let months: [Int64] = [1_699_000_000_000, 1_701_500_000_000, 1_704_500_000_000]  // Nov 2023, Dec 2023, Jan 2024
        let readings = months.enumerated().flatMap { m, t in (0..<20).map { StoreFixture.reading(m * 100 + $0, org: f.orgA, time: t + Int64($0) * 1000) } }
        _ = try await f.store.insert(readings, idempotencyKey: nil)
        var december = ReadingFilter().restricting(.componentName, to: ["sensor-1"])
        december.timeReceived.atLeast(1_701_388_800_000)  // 2023-12-01
        december.timeReceived.lessThan(1_704_067_200_000)  // 2024-01-01
        let plan = try await (f.store as! PostgresStore).fieldExtremesPlan(organizationID: f.orgA, filter: december).joined(separator: "\n")
        #expect(plan.contains("readings_2023_12") && !plan.contains("readings_2023_11") && !plan.contains("readings_2024_01"), "\(plan)")
        // The few buckets are hashed, not every row sorted (to disk, on a year of readings).
        #expect(plan.contains("HashAggregate") && !plan.contains("Sort"), "\(plan)")
        let extremes = try await f.store.fieldExtremes(organizationID: f.orgA, filter: december, path: ["readings", "i"], buckets: 4)
        #expect(extremes == Self.reference(readings, org: f.orgA, filter: december, path: ["readings", "i"], buckets: 4))
        #expect(extremes.series.flatMap(\.buckets).map(\.count).reduce(0, +) == 5)
    }

    /// Three days of one reading a minute for two components of `org`; `north`'s values are
    /// the reading's index (so every bucket's extremes are its first and last), `south`'s a cycle.
    static func days(_ org: String) -> [Reading] {
        var readings: [Reading] = []
        for i in 0..<3 * 1_440 {
            let t = StoreFixture.t0 + Int64(i) * 60_000
            let cycle: Double = 20 + 5 * sin(Double(i) / 60)
            readings.append(late(org, "north", at: t, Double(i)))
            readings.append(late(org, "south", at: t + 11, cycle))
        }
        return readings
    }

    static func late(_ org: String, _ component: String, at time: Int64, _ value: Double) -> Reading {
        Reading(
            organizationID: org, locationID: "loc", robotID: "robot", partID: "part", componentType: "rdk:component:sensor",
            componentName: component, methodName: "Readings", timeRequested: time - 3, timeReceived: time,
            data: ["readings": ["temperature": .double(value)]])
    }

    /// Charts of long spans (which PostgreSQL answers from hours it made on the first chart) stay
    /// exact as readings arrive late into those hours, are deleted, and age out under retention.
    @Test(arguments: StoreBackend.all) func chartsStayExactThroughLateDataDeletesAndRetention(_ backend: StoreBackend) async throws {
        let f = try await StoreFixture.make(backend, hotStorageHours: nil)
        defer { f.remove() }
        var readings = Self.days(f.orgA)
        _ = try await f.store.insert(readings, idempotencyKey: nil)
        let north = ReadingFilter().restricting(.componentName, to: ["north"])
        func check(_ label: String) async throws {
            for (filter, buckets) in [(north, 6), (ReadingFilter.all, 5), (north, 1), (north, 200)] {
                let chart = try await f.store.fieldExtremes(organizationID: f.orgA, filter: filter, path: Self.path, buckets: buckets)
                #expect(chart == Self.reference(readings, org: f.orgA, filter: filter, buckets: buckets), "\(label), \(buckets) buckets")
            }
        }
        try await check("first charts")
        try await check("charts again")

        // Late readings inside charted hours: a spike, a dip, and a tie with an existing value
        // (the earlier reading of equal values stays the extreme).
        let middle = StoreFixture.t0 + 2_000 * 60_000
        let lateOnes = [
            Self.late(f.orgA, "north", at: middle + 30_000, 50_000), Self.late(f.orgA, "north", at: middle + 3_600_000 + 5, -7),
            // The lowest of the fourth of 6 buckets is reading 2160's; this equal one comes later.
            Self.late(f.orgA, "north", at: StoreFixture.t0 + 2_200 * 60_000 + 1, 2_160),
        ]
        _ = try await f.store.insert(lateOnes, idempotencyKey: nil)
        readings += lateOnes
        try await check("after late data")
        let spiked = try await f.store.fieldExtremes(organizationID: f.orgA, filter: north, path: Self.path, buckets: 6)
        #expect(spiked.series.first?.buckets.contains { $0.max == FieldPoint(time: middle + 30_000, value: 50_000) } == true)

        // Deleting readings captured before a time.
        let cutoff = StoreFixture.t0 + 1_000 * 60_000 + 30_000
        _ = try await f.store.deleteReadings(organizationID: f.orgA, capturedBefore: cutoff)
        readings.removeAll { $0.organizationID == f.orgA && $0.timeRequested < cutoff }
        try await check("after deleting")

        // Retention of one component's readings: a day kept.
        let now = StoreFixture.t0 + 3 * 86_400_000
        let resource = RetentionResource(organizationID: f.orgA, partID: "part", componentName: "south", methodName: "Readings")
        let deleted = try await f.store.enforceRetention(RetentionPolicy(days: 1), for: resource, now: now)
        #expect(deleted.readings > 0)
        let kept = try #require(RetentionPolicy(days: 1).cutoff(now: now))
        readings.removeAll { $0.componentName == "south" && $0.timeRequested < kept }
        try await check("after retention")
    }

    /// Charts made while late readings keep arriving into the hours they make: once the writes
    /// are done, a chart is exact (no hour made from a snapshot that missed a write survives it).
    @Test(arguments: StoreBackend.all) func chartsMadeDuringWritesEndExact(_ backend: StoreBackend) async throws {
        let f = try await StoreFixture.make(backend, hotStorageHours: nil)
        defer { f.remove() }
        let readings = Self.days(f.orgA)
        _ = try await f.store.insert(readings, idempotencyKey: nil)
        let north = ReadingFilter().restricting(.componentName, to: ["north"])
        let store = f.store
        let org = f.orgA
        // Late readings spread over the span, a spike each, written while charts run.
        let late = (0..<40).map { Self.late(org, "north", at: StoreFixture.t0 + Int64($0) * 6_400_000 + 30_001, 10_000 + Double($0)) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for reading in late { _ = try await store.insert([reading], idempotencyKey: nil) }
            }
            for buckets in [3, 7, 1, 12] {
                group.addTask {
                    for _ in 0..<4 { _ = try await store.fieldExtremes(organizationID: org, filter: north, path: Self.path, buckets: buckets) }
                }
            }
            try await group.waitForAll()
        }
        for buckets in [3, 7, 1, 12, 200] {
            let chart = try await f.store.fieldExtremes(organizationID: f.orgA, filter: north, path: Self.path, buckets: buckets)
            #expect(chart == Self.reference(readings + late, org: f.orgA, filter: north, buckets: buckets), "\(buckets) buckets")
        }
    }

    /// PostgreSQL answers from the hours it made (a changed hour shows), and a write into an hour
    /// forgets exactly that hour, which the next chart makes again from the readings.
    @Test func postgresServesMadeHoursUntilAWriteForgetsThem() async throws {
        let f = try await StoreFixture.make(.postgres, hotStorageHours: nil)
        defer { f.remove() }
        guard case .database(let url) = f.testStore.location else { Issue.record("not a database"); return }
        let database = TestPostgres.databaseName(of: url)
        let readings = Self.days(f.orgA)
        _ = try await f.store.insert(readings, idempotencyKey: nil)
        let north = ReadingFilter().restricting(.componentName, to: ["north"])
        let exact = try await f.store.fieldExtremes(organizationID: f.orgA, filter: north, path: Self.path, buckets: 3)
        #expect(exact == Self.reference(readings, org: f.orgA, filter: north, buckets: 3))
        // 3 days from 22:13:20: the 71 whole hours inside the span, for this field only.
        #expect(try TestPostgres.psql("SELECT count(*), count(DISTINCT path) FROM chart_hours_built", database: database) == "71|1\n")
        #expect(try TestPostgres.psql("SELECT count(*) FROM chart_hours WHERE component_name = 'north'", database: database) == "71\n")

        // An hour well inside the first bucket says its highest value is 1e9: the chart shows it.
        let hour = Int64(1_700_006_400_000)  // 2023-11-15T00:00:00Z
        try TestPostgres.psql("UPDATE chart_hours SET max_value = 1e9 WHERE component_name = 'north' AND hour_start = \(hour)", database: database)
        let served = try await f.store.fieldExtremes(organizationID: f.orgA, filter: north, path: Self.path, buckets: 3)
        #expect(served.series.first?.buckets.first?.max.value == 1e9)

        // A reading stored into that hour (another component's) forgets it, for every component.
        _ = try await f.store.insert([Self.late(f.orgA, "south", at: hour + 1_000, 1)], idempotencyKey: nil)
        #expect(try TestPostgres.psql("SELECT count(*) FROM chart_hours_built WHERE hour_start = \(hour)", database: database) == "0\n")
        #expect(try TestPostgres.psql("SELECT count(*) FROM chart_hours WHERE hour_start = \(hour)", database: database) == "0\n")
        #expect(try TestPostgres.psql("SELECT count(*) FROM chart_hours_built", database: database) == "70\n")
        let again = try await f.store.fieldExtremes(organizationID: f.orgA, filter: north, path: Self.path, buckets: 3)
        #expect(again == exact)
        #expect(try TestPostgres.psql("SELECT count(*) FROM chart_hours_built", database: database) == "71\n")
        // Another organisation's writes into the same hour forget nothing of this one's.
        _ = try await f.store.insert([Self.late(f.orgB, "north", at: hour + 2_000, 1)], idempotencyKey: nil)
        #expect(try TestPostgres.psql("SELECT count(*) FROM chart_hours_built", database: database) == "71\n")
    }

    /// The tags filter of readings (Viam's match-any) runs in the store's query, pages and all.
    @Test(arguments: StoreBackend.all) func readingsFilterByAnyTagInTheQuery(_ backend: StoreBackend) async throws {
        let f = try await StoreFixture.make(backend)
        defer { f.remove() }
        var readings = StoreFixture.readings(0..<30, org: f.orgA)
        readings[3].tags = ["rare"]
        readings[17].tags = ["rare", "lab"]
        _ = try await f.store.insert(readings + StoreFixture.readings(0..<30, org: f.orgB), idempotencyKey: nil)
        func indices(_ filter: ReadingFilter, org: String? = nil, descending: Bool = false, limit: Int? = nil) async throws -> [Int] {
            try await f.store.readings(
                organizationID: org ?? f.orgA, source: .standard, filter: filter, sortByTimeDescending: descending, limit: limit
            ).compactMap(\.recordIndex)
        }
        var rare = ReadingFilter()
        rare.anyTag = ["rare"]
        #expect(try await indices(rare) == [3, 17])
        #expect(try await indices(rare, org: f.orgB) == [])
        var either = ReadingFilter().restricting(.componentName, to: ["sensor-1"])
        either.anyTag = ["rare", "even"]
        let expected = readings.filter { either.matches($0) }.compactMap { $0.data["readings"]?.documentValue?["i"]?.int64Value.map(Int.init) }
        let found = try await indices(either)
        #expect(found == expected && found == [17])
        var lab = ReadingFilter()
        lab.anyTag = ["lab"]
        let page = try await f.store.readingsPage(organizationID: f.orgA, source: .standard, filter: lab, sortByTimeDescending: true, after: nil, limit: 4)
        #expect(page.documents.compactMap(\.recordIndex) == [28, 26, 24, 22] && page.next != nil)
        let next = try await f.store.readingsPage(
            organizationID: f.orgA, source: .standard, filter: lab, sortByTimeDescending: true, after: page.next, limit: 100)
        #expect(next.documents.compactMap(\.recordIndex) == [20, 18, 17, 16, 14, 12, 10, 8, 6, 4, 2, 0] && next.next == nil)
        var nothing = ReadingFilter()
        nothing.anyTag = []
        let none = try await indices(nothing)
        #expect(nothing.matchesNothing && none == [])
    }
}
