import FerryBSON
import FerryMQL
import Foundation

enum MQLBenchmark {
    /// One line of the final table.
    struct Line {
        var query: String
        var engine: String
        var rows: Int
        var seconds: Double
        var cpuSeconds: Double
        var agrees: String
        var rowsPerSecond: Double { Double(rows) / seconds }
    }

    struct Query {
        var name: String
        var pipeline: String
        var sql: String
        var perComponent: Bool
    }

    static let accumulators = """
        "avg": {"$avg": "$data.readings.temperature"}, "min": {"$min": "$data.readings.temperature"}, \
        "max": {"$max": "$data.readings.temperature"}, "sum": {"$sum": "$data.readings.temperature"}, "n": {"$sum": 1}
        """
    static let hour = #"{"$dateTrunc": {"date": "$time_received", "unit": "hour"}}"#
    static let queries = [
        Query(
            name: "hourly", pipeline: #"[{"$group": {"_id": \#(hour), \#(accumulators)}}, {"$sort": {"_id": 1}}]"#,
            sql: SQLitePeer.hourly, perComponent: false),
        Query(
            name: "hourly per component",
            pipeline:
                #"[{"$group": {"_id": {"hour": \#(hour), "component": "$component_name"}, \#(accumulators)}}, {"$sort": {"_id.hour": 1, "_id.component": 1}}]"#,
            sql: SQLitePeer.perComponent, perComponent: true),
    ]

    static func environment(_ name: String, _ fallback: Int) -> Int {
        ProcessInfo.processInfo.environment[name].flatMap { Int($0) } ?? fallback
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }

    /// The best wall-clock and thread CPU times over several runs of one engine.
    struct Timing {
        var wall = Double.infinity
        var cpu = Double.infinity

        static func threadCPU() -> Double {
            var ts = timespec()
            clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
            return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
        }

        mutating func measure<T>(_ body: () throws -> T) rethrows -> T {
            let clock = ContinuousClock()
            let cpuStart = Timing.threadCPU()
            let start = clock.now
            let result = try body()
            wall = min(wall, MQLBenchmark.seconds(clock.now - start))
            cpu = min(cpu, Timing.threadCPU() - cpuStart)
            return result
        }
    }

    static func loadAverage() -> String {
        ((try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? "?").split(separator: " ").prefix(3).joined(separator: " ")
    }

    static func main() {
        do {
            try run()
        } catch {
            print("benchmark failed: \(error)")
            exit(1)
        }
    }

    static func check(_ what: String, _ a: [Bucket], _ b: [Bucket], failed: inout Bool) -> String {
        if let d = Buckets.difference(a, b) {
            print("  DISAGREE: \(what): \(d)")
            failed = true
            return "**no**"
        }
        let worst = Buckets.maxRelativeDifference(a, b)
        print("  agree: \(what) (\(a.count) buckets; largest relative difference \(String(format: "%.1e", worst)))")
        return "yes"
    }

    static func run() throws {
        let rowCount = environment("MQL_BENCH_ROWS", 1_000_000)
        let sampleCount = min(environment("MQL_BENCH_SAMPLE", 50_000), rowCount)
        let repeats = environment("MQL_BENCH_REPEATS", 3)
        let sqlite = try SQLitePeer()
        print("# MQL benchmark (\(ProcessInfo.processInfo.activeProcessorCount) cores, SQLite \(sqlite.version), best of \(repeats))\n")
        #if DEBUG
            print("warning: this is a debug build; FerryMQL's numbers mean little. Build with -c release.\n")
        #endif

        let loadBefore = loadAverage()
        let clock = ContinuousClock()
        var start = clock.now
        let readings = ReadingGenerator.generate(count: rowCount)
        let docs = readings.map(ReadingGenerator.document)
        print("generated \(docs.count) readings in \(String(format: "%.2f", seconds(clock.now - start))) s, e.g. \(docs[0].extendedJSON())")
        start = clock.now
        let bsonRows = docs.map { $0.encode() }
        print("encoded them as BSON (\(bsonRows.reduce(0) { $0 + $1.count } / 1_000_000) MB) in \(String(format: "%.2f", seconds(clock.now - start))) s")
        start = clock.now
        try sqlite.load(docs)
        print("loaded them into an in-memory SQLite table in \(String(format: "%.2f", seconds(clock.now - start))) s\n")

        // For `perf record`: only FerryMQL over in-memory documents, one query, many times.
        if let name = ProcessInfo.processInfo.environment["MQL_BENCH_PROFILE"] {
            guard let q = queries.first(where: { $0.name == name }) else {
                print("MQL_BENCH_PROFILE: no query named '\(name)'; the queries: \(queries.map(\.name))")
                exit(1)
            }
            var timing = Timing()
            for _ in 0..<max(repeats, 1) { _ = try timing.measure { try MQLPipeline(json: q.pipeline).run(docs) } }
            print("\(q.name), in-memory documents: best \(duration(timing.wall)), CPU \(duration(timing.cpu))")
            return
        }

        var lines: [Line] = []
        var failed = false
        for q in queries {
            print("## \(q.name)")
            let reference = Buckets.reference(readings[...], perComponent: q.perComponent)

            // The engines take turns, so a burst of load from elsewhere hits them alike.
            var ferryTime = Timing(), bytesTime = Timing(), sqlTime = Timing()
            var ferryDocs: [BSONDocument] = [], bytesDocs: [BSONDocument] = [], sqlBuckets: [Bucket] = []
            for _ in 0..<max(repeats, 1) {
                ferryDocs = []
                ferryDocs = try ferryTime.measure { try MQLPipeline(json: q.pipeline).run(docs) }
                bytesDocs = []
                bytesDocs = try bytesTime.measure { () throws -> [BSONDocument] in
                    let pipeline = try MQLPipeline(json: q.pipeline)
                    var i = 0
                    var cursor = pipeline.stream { () throws -> BSONDocument? in
                        guard i < bsonRows.count else { return nil }
                        defer { i += 1 }
                        return try BSONDocument(bytes: bsonRows[i])
                    }
                    var out: [BSONDocument] = []
                    while let d = try cursor.next() { out.append(d) }
                    return out
                }
                sqlBuckets = []
                sqlBuckets = try sqlTime.measure { try sqlite.query(q.sql, perComponent: q.perComponent) }
            }
            let ferryBuckets = try Buckets.from(ferryDocs)

            let ferryAgrees = check("FerryMQL vs SQLite", ferryBuckets, sqlBuckets, failed: &failed)
            _ = check("FerryMQL vs a plain Swift loop", ferryBuckets, reference, failed: &failed)
            let bytesAgrees = check("FerryMQL from BSON bytes vs SQLite", try Buckets.from(bytesDocs), sqlBuckets, failed: &failed)
            lines.append(Line(query: q.name, engine: "FerryMQL (in-memory BSONDocument values)", rows: docs.count, seconds: ferryTime.wall, cpuSeconds: ferryTime.cpu, agrees: ferryAgrees))
            lines.append(Line(query: q.name, engine: "FerryMQL (decoding each row from BSON bytes)", rows: docs.count, seconds: bytesTime.wall, cpuSeconds: bytesTime.cpu, agrees: bytesAgrees))
            lines.append(Line(query: q.name, engine: "SQLite SQL (json_extract + GROUP BY, in-memory table)", rows: docs.count, seconds: sqlTime.wall, cpuSeconds: sqlTime.cpu, agrees: "reference"))

            if sampleCount > 0 {
                let sample = Array(docs.prefix(sampleCount))
                let ferrySample = try Buckets.from(try MQLPipeline(json: q.pipeline).run(sample))
                if let m = try Mongomock.run(sample: sample, pipeline: q.pipeline, repeats: environment("MQL_BENCH_MONGOMOCK_REPEATS", 1)) {
                    let agrees = check("mongomock vs FerryMQL on the first \(sample.count) readings", m.buckets, ferrySample, failed: &failed)
                    let rewritten = m.rewritten ? ", $dateTrunc rewritten as $dateFromParts" : ""
                    lines.append(Line(query: q.name, engine: "mongomock \(m.version) (sample\(rewritten))", rows: sample.count, seconds: m.seconds, cpuSeconds: m.cpuSeconds, agrees: agrees))
                }
            }
            print("")
        }

        print("load average before: \(loadBefore), after: \(loadAverage())\n")
        print("| query | engine | rows | time (best) | rows/s | vs SQLite (time per row) | CPU time (best) | vs SQLite (CPU per row) | agrees |")
        print("|---|---|---|---|---|---|---|---|---|")
        for line in lines {
            let peer = lines.first { $0.query == line.query && $0.engine.hasPrefix("SQLite") }!
            func versus(_ mine: Double, _ theirs: Double) -> String {
                if line.engine.hasPrefix("SQLite") { return "1×" }
                let ratio = (mine / Double(line.rows)) / (theirs / Double(peer.rows))
                return ratio >= 1 ? String(format: "%.2f× slower", ratio) : String(format: "%.2f× faster", 1 / ratio)
            }
            print(
                "| \(line.query) | \(line.engine) | \(grouped(line.rows)) | \(duration(line.seconds)) | \(rate(line.rowsPerSecond)) | "
                    + "\(versus(line.seconds, peer.seconds)) | \(duration(line.cpuSeconds)) | \(versus(line.cpuSeconds, peer.cpuSeconds)) | \(line.agrees) |")
        }
        if failed {
            print("\nSome results disagree (see above).")
            exit(2)
        }
    }

    static func grouped(_ n: Int) -> String {
        var s = String(n)
        var i = s.count - 3
        while i > 0 {
            s.insert(",", at: s.index(s.startIndex, offsetBy: i))
            i -= 3
        }
        return s
    }

    static func duration(_ s: Double) -> String { s >= 1 ? String(format: "%.2f s", s) : String(format: "%.0f ms", s * 1000) }

    static func rate(_ r: Double) -> String {
        r >= 1e6 ? String(format: "%.2fM", r / 1e6) : String(format: "%.0fk", r / 1e3)
    }
}
