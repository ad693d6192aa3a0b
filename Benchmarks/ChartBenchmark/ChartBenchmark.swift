import BenchmarkSupport
import Dispatch
import FerryAPI
import FerryBSON
import FerryDashboard
import FerryLoader
import FerryMQL
import FerryMQLPlugins
import FerryStore
import FerryStoreFactory
import FerryStoreSQLite
import FerryTestSupport
import Foundation
import GRDB

enum ChartBenchmark {
    /// A year at one a minute; CHART_BENCH_READINGS sets fewer for a quick check.
    static let count = Int(ProcessInfo.processInfo.environment["CHART_BENCH_READINGS"] ?? "") ?? 525_600
    static let t0: Int64 = 1_704_067_200_000  // 2024-01-01T00:00:00Z
    static let minute: Int64 = 60_000
    /// What the Data page asks for by default: 400 points, 200 buckets.
    static let buckets = 200
    static let path = ["readings", "temperature"]

    static func main() {
        let arguments = CommandLine.arguments
        let postgres = arguments.contains("--postgres")
        let plugin = arguments.firstIndex(of: "--lttb").flatMap { arguments.indices.contains($0 + 1) ? arguments[$0 + 1] : nil }
        let done = DispatchSemaphore(value: 0)
        // Top-level code is main-actor isolated; run the async benchmark in a detached task.
        Task.detached {
            do {
                try await run(postgres: postgres, plugin: plugin)
            } catch {
                print("benchmark failed: \(error)")
            }
            done.signal()
        }
        done.wait()
    }

    /// Reading `i`: a daily cycle with noise, and three one-minute spikes the chart must show.
    static let spikes = [100_000, 300_000, 500_000]

    static func reading(_ i: Int, org: String) -> Reading {
        let t = t0 + Int64(i) * minute
        var temperature = 20 + 8 * sin(Double(i) / 1_440 * 2 * .pi) + Double((i * 7_919) % 100) / 100
        if spikes.contains(i) { temperature = 95 }
        return Reading(
            organizationID: org, locationID: "lab", robotID: "rover", partID: "rover-main", componentType: "rdk:component:sensor",
            componentName: "thermo", methodName: "Readings", timeRequested: t - 4, timeReceived: t,
            data: ["readings": ["temperature": .double(temperature), "humidity": .double(40 + Double(i % 17))]])
    }

    static func run(postgres: Bool, plugin: String?) async throws {
        var options = StoreOptions()
        options.hotStorageHours = nil
        options.logger.logLevel = .warning
        let store: any DataStore
        var directory: String?
        var database: String?
        if postgres {
            let url = try await TestPostgres.freshDatabase()
            database = TestPostgres.databaseName(of: url)
            store = try await StoreFactory.open(.database(url), options: options)
        } else {
            let path = try Bench.temporaryDirectory()
            directory = path
            var configuration = SQLiteReadingStore.Configuration(options)
            configuration.durability = .normal
            store = try SQLiteReadingStore(dataDirectory: path, configuration: configuration)
        }
        defer { if let directory { try? FileManager.default.removeItem(atPath: directory) } }
        let org = try await store.createOrganization(name: "bench").id
        print("ChartBenchmark (\(postgres ? "PostgreSQL" : "SQLite")): \(count.formatted()) readings, one a minute for a year, one component\n")

        // The peer: SQLite's own GROUP BY needs the numbers where its JSON functions read them, so
        // the SQLite run keeps the same rows as JSON text in a second file (as PipelineBenchmark does).
        let peer: DatabaseQueue? = try directory.map { try DatabaseQueue(path: $0 + "/peer.sqlite") }
        try await peer?.write { db in
            try db.execute(sql: "PRAGMA journal_mode = WAL")
            try db.execute(sql: "CREATE TABLE readings (organization_id TEXT, component_name TEXT, time_received INTEGER, data TEXT)")
        }
        let loadStart = ContinuousClock.now
        for first in stride(from: 0, to: count, by: 20_000) {
            let rows = (first..<min(count, first + 20_000)).map { reading($0, org: org) }
            _ = try await store.insert(rows, idempotencyKey: nil)
            try await peer?.write { db in
                let insert = try db.makeStatement(sql: "INSERT INTO readings VALUES (?, ?, ?, ?)")
                for r in rows { try insert.execute(arguments: [r.organizationID, r.componentName, r.timeReceived, r.data.extendedJSON(.relaxed)]) }
            }
        }
        try await peer?.write { db in
            try db.execute(sql: "CREATE INDEX readings_by_component ON readings(organization_id, component_name, time_received)")
        }
        if let database { try TestPostgres.psql("VACUUM ANALYZE readings", database: database) }
        print("loaded in \(fmt(Bench.seconds(ContinuousClock.now - loadStart))) s\n")

        let filter = ReadingFilter().restricting(.componentName, to: ["thermo"])
        var rows: [(String, [Double], String)] = []

        // The first chart of the span: on PostgreSQL it also makes the chart hours the later ones read.
        let firstStart = ContinuousClock.now
        _ = try await store.fieldExtremes(organizationID: org, filter: filter, path: path, buckets: buckets)
        let firstChart = Bench.seconds(ContinuousClock.now - firstStart)
        rows.append(("Ferry: the first chart of the year, the store call (one run)", [firstChart], "200 buckets"))

        // Ferry's chart path: the store's reduction, then the SVG (what a page request runs).
        var svg = ""
        let ferryTimes = try await times(5) {
            svg = try await Dashboard.chart(store: store, organizationID: org, filter: filter, path: path, buckets: buckets)
        }
        let drawn = svg.components(separatedBy: "points=\"").dropFirst().first?.prefix { $0 != "\"" }.split(separator: " ").count ?? 0
        let extremes = try await store.fieldExtremes(organizationID: org, filter: filter, path: path, buckets: buckets)
        let spikesDrawn = extremes.series.flatMap(\.buckets).filter { $0.max.value == 95 }.count
        rows.append(("Ferry: store reduction to \(buckets) buckets (min and max with times) + SVG", ferryTimes, "\(drawn) points, \(spikesDrawn) of \(spikes.filter { $0 < count }.count) spikes"))
        let storeTimes = try await times(5) {
            _ = try await store.fieldExtremes(organizationID: org, filter: filter, path: path, buckets: buckets)
        }
        rows.append(("Ferry: the store call alone", storeTimes, "\(extremes.series.first?.buckets.count ?? 0) buckets"))
        // Filtered by machine too, which PostgreSQL's chart hours (per component) cannot answer: every row.
        let byMachine = filter.restricting(.robotID, to: ["rover"])
        var machineBuckets = 0
        let machineTimes = try await times(5) {
            let chart = try await store.fieldExtremes(organizationID: org, filter: byMachine, path: path, buckets: buckets)
            machineBuckets = chart.series.first?.buckets.count ?? 0
        }
        rows.append(("Ferry: the store call, filtered by machine too (every row read)", machineTimes, "\(machineBuckets) buckets"))

        // The backend's own GROUP BY of the same numbers (min and max per bucket, without their times).
        let width = extremes.bucketWidth
        let lower = extremes.span?.lowerBound ?? t0
        if let peer {
            let sql = """
                SELECT (time_received - \(lower)) / \(width) AS bucket, min(json_extract(data, '$.readings.temperature')),
                       max(json_extract(data, '$.readings.temperature')), count(*)
                FROM readings WHERE organization_id = '\(org)' AND component_name = 'thermo' GROUP BY bucket
                """
            var groups = 0
            let peerTimes = try await times(5) { groups = try await peer.read { db in try Row.fetchAll(db, sql: sql).count } }
            rows.append(("SQLite: SELECT … GROUP BY bucket (JSON text, json_extract, index on component)", peerTimes, "\(groups) buckets"))
        }
        if let database {
            let sql = """
                SELECT ((extract(epoch FROM time_received) * 1000)::bigint - \(lower)) / \(width) AS bucket,
                       min((data->'readings'->>'temperature')::float8), max((data->'readings'->>'temperature')::float8), count(*)
                FROM readings WHERE organization_id = '\(org)' AND component_name = 'thermo' GROUP BY bucket
                """
            var groups = 0
            let peerTimes = try await times(5) {
                groups = try TestPostgres.psql(sql, database: database).split(separator: "\n").filter { $0.contains("|") }.count
            }
            rows.append(("PostgreSQL: SELECT … GROUP BY bucket (jsonb, through psql)", peerTimes, "\(groups) buckets"))
        }

        // The old path: every matching reading through the MQL engine, then $lttb in memory, then the SVG.
        var operators = MQLOperatorRegistry()
        if let plugin {
            let plugins = PluginRegistry()
            let errors = plugins.load(paths: [plugin])
            guard errors.isEmpty else { throw BenchmarkError("cannot load \(plugin): \(errors)") }
            operators = try MQLOperatorRegistry(plugins: plugins)
        }
        let queries = QueryRunner(store: store, operators: operators)
        var stages: [BSONDocument] = [
            ["$match": ["component_name": "thermo"]],
            ["$project": ["_id": 0, "t": "$time_received", "c": "$component_name", "v": "$data.readings.temperature"]],
        ]
        if plugin != nil { stages.append(["$lttb": ["x": "$t", "y": "$v", "points": .int32(Int32(2 * buckets)), "partitionBy": "$c"]]) }
        var oldPoints = 0
        let oldTimes = try await times(2) {
            let documents = try await queries.mql(stages, organizationID: org, source: .standard)
            let points = documents.compactMap { d -> (x: Double, y: Double)? in
                guard case .datetime(let t)? = d["t"], let v = d["v"]?.doubleValue else { return nil }
                return (Double(t), v)
            }
            oldPoints = points.count
            svg = Dashboard.lineChartSVG(title: "old path", series: [("thermo", points)])
        }
        rows.append(
            (plugin != nil
                ? "Old path: $match + $project + $lttb over every reading in memory + SVG"
                : "Old path without its $lttb stage (no --lttb): $match + $project of every reading + SVG", oldTimes, "\(oldPoints) points"))

        // Live data: one reading arrives late into the middle of the year before each chart (on
        // PostgreSQL that forgets its hour, which the chart makes again).
        var late = 0
        let lateTimes = try await times(5) {
            late += 1
            var reading = reading(262_800 + late * 1_000, org: org)
            reading.timeReceived += 1
            _ = try await store.insert([reading], idempotencyKey: nil)
            _ = try await store.fieldExtremes(organizationID: org, filter: filter, path: path, buckets: buckets)
        }
        rows.append(("Ferry: one late reading stored, then the store call", lateTimes, "200 buckets"))

        print("| path | median | best | result |")
        print("|---|---|---|---|")
        for (label, seconds, result) in rows {
            let sorted = seconds.sorted()
            print("| \(label) | \(fmt(sorted[sorted.count / 2] * 1000)) ms | \(fmt(sorted[0] * 1000)) ms | \(result) |")
        }
    }

    /// Runs `body` `n` times (after one untimed warm-up run) and returns each run's seconds.
    static func times(_ n: Int, _ body: () async throws -> Void) async throws -> [Double] {
        try await body()
        var seconds: [Double] = []
        for _ in 0..<n {
            let start = ContinuousClock.now
            try await body()
            seconds.append(Bench.seconds(ContinuousClock.now - start))
        }
        return seconds
    }

    static func fmt(_ value: Double) -> String { String(format: "%.1f", value) }
}
