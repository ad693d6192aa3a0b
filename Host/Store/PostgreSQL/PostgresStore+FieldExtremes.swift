import FerryStore
import PostgresNIO

extension PostgresStore {
    /// An hour in milliseconds: the unit of the chart hours (`chart_hours`).
    static let chartHour: Int64 = 3_600_000
    /// Spans of more hours than this are charted from the readings alone: a cache of every hour of,
    /// say, a stray reading from 1970 to now would cost more to make and keep than it saves.
    static let maxChartHours: Int64 = 100_000
    /// How many readings one transaction that makes chart hours should read: writers of the
    /// organisation's readings wait on the chart lock meanwhile (~0.1 s here on a loaded machine).
    static let chartReadingsPerBuild: Int64 = 50_000
    /// The most hours one such transaction makes (a month).
    static let chartHoursPerBuild: Int64 = 31 * 24

    /// The span from the indexes (`min`/`max` of `time_received` under the filter), then one
    /// `GROUP BY component_name, bucket` over the `jsonb` copy of `data`: only the buckets cross
    /// the wire. `min(ARRAY[v, t])` is the lowest value with its time in one aggregate (arrays
    /// compare element by element, so of equal values the earliest wins), `max(ARRAY[v, -t])` the
    /// highest, likewise the earliest.
    ///
    /// When the filter is by organisation, component and time received only (what the Data page's
    /// chart of a component asks), whole hours that lie inside one bucket come from `chart_hours`
    /// instead (made here on first use, forgotten by every write of readings into the hour), and
    /// only the rest of the span is read row by row: the hours cut by a bucket's edge, the span's
    /// two ends, hours written since they were made. The result is the same either way: an hour's
    /// extremes are those of its readings, and of equal values the earliest still wins.
    public func fieldExtremes(organizationID: String, filter: ReadingFilter, path: [String], buckets: Int) async throws -> FieldExtremes {
        try FieldExtremes.validate(path: path, buckets: buckets)
        var spanBinds = PostgresBindings()
        guard let spanClauses = PostgresReadingQuery.conditions(organizationID: organizationID, filter: filter, binds: &spanBinds) else {
            return .none
        }
        let what = "charting a field of the readings of organisation \(organizationID)"
        let spanQuery = PostgresQuery(
            unsafeSQL: "SELECT min(time_received), max(time_received) FROM readings WHERE \(spanClauses.joined(separator: " AND "))", binds: spanBinds)
        let hourly = Self.chartHoursServe(filter)
        if hourly, let span = try await Self.span(try await rows(what, spanQuery)) {
            try await makeChartHours(organizationID: organizationID, path: path, span: span, what: what)
        }
        let logger = self.logger
        // One snapshot for the span, the hours and the rest of the readings.
        return try await transaction(what) { connection in
            try await connection.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ", logger: logger)
            try await Self.chartSettings(connection, logger: logger)
            guard let span = try await Self.span(try await connection.query(spanQuery, logger: logger).collect()) else { return .none }
            let width = FieldExtremes.bucketWidth(span, buckets: buckets)
            var merged = BucketMerger()
            // The ranges of time received still to read row by row; nil for all of the span.
            var rest: [ClosedRange<Int64>]? = nil
            if hourly, let hours = Self.chartHours(in: span) {
                let covered = try await Self.readChartHours(
                    connection, logger: logger, organizationID: organizationID, filter: filter, path: path, hours: hours, span: span, width: width,
                    into: &merged)
                let uncovered = Self.uncovered(span, by: covered)
                if uncovered.isEmpty { return merged.result(span: span, width: width) }
                rest = uncovered
            }
            guard
                let query = Self.fieldExtremesQuery(
                    organizationID: organizationID, filter: filter, path: path, start: span.lowerBound, width: width, buckets: buckets, within: rest)
            else { return .none }
            for row in try await connection.query(query, logger: logger).collect() {
                let (component, bucket, count, low, high) = try row.decode((String, Int64, Int64, [Double], [Double]).self)
                guard low.count == 2, high.count == 2 else { throw StoreError(.storage, "\(what): the database returned a malformed bucket") }
                merged.add(
                    component: component,
                    FieldBucket(
                        index: Int(bucket), count: Int(count), min: FieldPoint(time: Int64(low[1]), value: low[0]),
                        max: FieldPoint(time: -Int64(high[1]), value: high[0])))
            }
            return merged.result(span: span, width: width)
        }
    }

    private static func span(_ rows: [PostgresRow]) throws -> ClosedRange<Int64>? {
        guard let row = rows.first else { return nil }
        let (firstTime, lastTime) = try row.decode((PGTime?, PGTime?).self)
        guard let first = firstTime, let last = lastTime else { return nil }
        return first.ms...last.ms
    }

    /// Whether `chart_hours` can answer for this filter: an hour's entry holds every reading of a
    /// component in the hour, so only filters by organisation, component and time received (whose
    /// bounds the span, and so the whole hours used, lie within) select whole entries.
    static func chartHoursServe(_ filter: ReadingFilter) -> Bool {
        filter.allowed.keys.allSatisfy { $0 == .organizationID || $0 == .componentName } && filter.timeRequested.isUnbounded && filter.anyTag == nil
    }

    /// The hours wholly inside `span`, as `[first hour start, end of the last hour)`; nil for none
    /// or for more than `maxChartHours`.
    static func chartHours(in span: ClosedRange<Int64>) -> Range<Int64>? {
        let first = floorHour(span.lowerBound + chartHour - 1)
        let end = floorHour(span.upperBound + 1)
        guard first < end, (end - first) / chartHour <= maxChartHours else { return nil }
        return first..<end
    }

    static func floorHour(_ ms: Int64) -> Int64 {
        ms - ((ms % chartHour) + chartHour) % chartHour
    }

    /// Makes the missing `chart_hours` of `path` for the hours wholly inside `span`: every
    /// component's, readings with no number in the field marked made too. Each transaction under
    /// the organisation's chart lock held exclusively.
    private func makeChartHours(organizationID: String, path: [String], span: ClosedRange<Int64>, what: String) async throws {
        guard let hours = Self.chartHours(in: span) else { return }
        let made: PostgresQuery = try """
            SELECT hour_start FROM chart_hours_built
            WHERE organization_id = \(organizationID) AND hour_start >= \(hours.lowerBound) AND hour_start < \(hours.upperBound) AND path = \(path)
            """
        let built = Set(try await rows(what, made).map { try $0.decode(Int64.self) })
        // Missing hours a few at a time: the first transaction makes one hour, each next one as many
        // as the readings per hour seen so far let it read about `chartReadingsPerBuild` (growing
        // at most 8-fold, to a month): however many components and readings an hour holds.
        let logger = self.logger
        let lock = PostgresQuery(unsafeSQL: "SELECT pg_advisory_xact_lock(\(PostgresFunctions.chartLockKey("$1")))", binds: try Self.binds(organizationID))
        var step: Int64 = 1
        var hour = hours.lowerBound
        while hour < hours.upperBound {
            if built.contains(hour) {
                hour += Self.chartHour
                continue
            }
            var end = hour + Self.chartHour
            while end < hours.upperBound, !built.contains(end), (end - hour) / Self.chartHour < step { end += Self.chartHour }
            let query = Self.makeChartHoursQuery(organizationID: organizationID, path: path, hours: hour..<end)
            let read = try await transaction(what) { connection in
                try await connection.query(lock, logger: logger)
                try await Self.chartSettings(connection, logger: logger)
                return try await connection.query(query, logger: logger).collect().first?.decode(Int64?.self) ?? 0
            }
            let made = (end - hour) / Self.chartHour
            step = min(Self.chartHoursPerBuild, 8 * made, max(1, made * Self.chartReadingsPerBuild / max(read, 1)))
            hour = end
        }
    }

    private static func binds(_ values: String...) throws -> PostgresBindings {
        var binds = PostgresBindings()
        for value in values { try binds.append(value) }
        return binds
    }

    /// One statement making `chart_hours` of `path` for `hours` (hour-aligned) from the readings,
    /// the same reading of the field per row as `fieldExtremesQuery`; it answers how many readings
    /// it read (NULL for none).
    static func makeChartHoursQuery(organizationID: String, path: [String], hours: Range<Int64>) -> PostgresQuery {
        var binds = PostgresBindings()
        func bind<T: PostgresEncodable>(_ value: T) -> String {
            try! binds.append(value)  // the store's own value types always encode
            return "$\(binds.count)"
        }
        let org = bind(organizationID)
        let pathSQL = bind(path)
        let field = "data" + path.map { " -> \(bind($0))::text" }.joined()
        let sql = """
            WITH x AS (
                SELECT component_name, round(date_part('epoch', time_received) * 1000)::bigint AS t, \(field) AS x
                FROM readings
                WHERE organization_id = \(org)
                AND time_received >= \(bind(PGTime(hours.lowerBound))) AND time_received < \(bind(PGTime(hours.upperBound)))
                OFFSET 0
            ), r AS (
                SELECT component_name, t - ((t % \(chartHour)) + \(chartHour)) % \(chartHour) AS hour, t,
                    CASE WHEN jsonb_typeof(x) = 'number' THEN x::float8 END AS v
                FROM x
            ), g AS (
                SELECT component_name, hour, count(*) AS readings, count(v) AS n,
                    min(ARRAY[v, t::float8]) FILTER (WHERE v IS NOT NULL) AS low, max(ARRAY[v, -t::float8]) FILTER (WHERE v IS NOT NULL) AS high
                FROM r GROUP BY component_name, hour
            ), made AS (
                INSERT INTO chart_hours (organization_id, hour_start, path, component_name, count, min_value, min_time, max_value, max_time)
                SELECT \(org), hour, \(pathSQL), component_name, n, low[1], low[2]::bigint, high[1], (-high[2])::bigint FROM g WHERE n > 0
                ON CONFLICT DO NOTHING
            ), marked AS (
                INSERT INTO chart_hours_built (organization_id, hour_start, path)
                SELECT \(org), h, \(pathSQL) FROM generate_series(\(bind(hours.lowerBound)), \(bind(hours.upperBound - chartHour)), \(chartHour)) AS h
                ON CONFLICT DO NOTHING
            )
            -- How many readings were read, which sizes the next transaction.
            SELECT sum(readings)::bigint FROM g
            """
        return PostgresQuery(unsafeSQL: sql, binds: binds)
    }

    /// Adds the made hours of `hours` that lie inside one bucket to `merged`; returns their starts.
    private static func readChartHours(
        _ connection: PostgresConnection, logger: Logger, organizationID: String, filter: ReadingFilter, path: [String], hours: Range<Int64>,
        span: ClosedRange<Int64>, width: Int64, into merged: inout BucketMerger
    ) async throws -> [Int64] {
        func bucket(_ t: Int64) -> Int64 { (t - span.lowerBound) / width }
        let made: PostgresQuery = try """
            SELECT hour_start FROM chart_hours_built
            WHERE organization_id = \(organizationID) AND hour_start >= \(hours.lowerBound) AND hour_start < \(hours.upperBound) AND path = \(path)
            ORDER BY hour_start
            """
        var covered: [Int64] = []
        for row in try await connection.query(made, logger: logger).collect() {
            let hour = try row.decode(Int64.self)
            if bucket(hour) == bucket(hour + chartHour - 1) { covered.append(hour) }
        }
        guard !covered.isEmpty else { return [] }
        let usable = Set(covered)
        var binds = PostgresBindings()
        func bind<T: PostgresEncodable>(_ value: T) -> String {
            try! binds.append(value)  // the store's own value types always encode
            return "$\(binds.count)"
        }
        var sql = """
            SELECT component_name, hour_start, count, min_value, min_time, max_value, max_time FROM chart_hours
            WHERE organization_id = \(bind(organizationID)) AND hour_start >= \(bind(hours.lowerBound)) AND hour_start < \(bind(hours.upperBound))
            AND path = \(bind(path))
            """
        if let components = filter.allowed[.componentName] { sql += " AND component_name = ANY(\(bind(components.sorted())))" }
        for row in try await connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger).collect() {
            let (component, hour, count, minValue, minTime, maxValue, maxTime) = try row.decode(
                (String, Int64, Int64, Double, Int64, Double, Int64).self)
            guard usable.contains(hour) else { continue }
            merged.add(
                component: component,
                FieldBucket(
                    index: Int(bucket(hour)), count: Int(count), min: FieldPoint(time: minTime, value: minValue),
                    max: FieldPoint(time: maxTime, value: maxValue)))
        }
        return covered
    }

    /// The parts of `span` outside the hours starting at `covered` (ascending), as closed ranges.
    static func uncovered(_ span: ClosedRange<Int64>, by covered: [Int64]) -> [ClosedRange<Int64>] {
        var rest: [ClosedRange<Int64>] = []
        var from = span.lowerBound
        for hour in covered {
            if hour > from { rest.append(from...(hour - 1)) }
            from = max(from, hour + chartHour)
        }
        if from <= span.upperBound { rest.append(from...span.upperBound) }
        return rest
    }

    /// Settings for the aggregate's transaction only, both measured with EXPLAIN ANALYZE on a year:
    /// JIT compilation of its expressions, which the planner's cost (half a million rows) switches
    /// on, took ~0.5 s of a 1.7 s chart, longer than running them; and the groups are always hashed
    /// (at most `buckets` per component), never every row sorted (to disk past `work_mem`), which
    /// the planner picks when it cannot tell how few buckets there are.
    private static func chartSettings(_ connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query("SET LOCAL jit = off", logger: logger)
        try await connection.query("SET LOCAL enable_sort = off", logger: logger)
    }

    /// The aggregate of `fieldExtremes` for buckets of `width` ms from `start`.
    ///
    /// Shaped for what dominates on a year of readings (EXPLAIN ANALYZE, ChartBenchmark):
    /// - the field is read from each row's `jsonb` once, in a subquery kept apart by `OFFSET 0`
    ///   (inlined, `jsonb_typeof(x)` and `x::float8` would each walk the document again);
    /// - the time is `date_part`'s float8 (exact for whole milliseconds: the microseconds since the
    ///   epoch fit a double's 53 bits) rather than `extract`'s numeric, whose arithmetic costs more;
    /// With `within`, only the readings received in those ranges count.
    static func fieldExtremesQuery(
        organizationID: String, filter: ReadingFilter, path: [String], start: Int64, width: Int64, buckets: Int, within: [ClosedRange<Int64>]? = nil
    ) -> PostgresQuery? {
        var binds = PostgresBindings()
        guard let clauses = PostgresReadingQuery.conditions(organizationID: organizationID, filter: filter, binds: &binds) else { return nil }
        func bind<T: PostgresEncodable>(_ value: T) -> String {
            try! binds.append(value)  // the store's own value types always encode
            return "$\(binds.count)"
        }
        // `->` with a text key finds fields of objects only (never an array's element, which
        // `#>` would for a numeric name), as MQL's `$data.readings.0` does.
        let field = "data" + path.map { " -> \(bind($0))::text" }.joined()
        // The ranges as a join: an index range scan each, in their months' partitions only.
        let ranges =
            within.map {
                " JOIN unnest(\(bind($0.map { PGTime($0.lowerBound) }))::timestamptz[], \(bind($0.map { PGTime($0.upperBound) }))::timestamptz[])"
                    + " AS g(lo, hi)"
                    + " ON time_received >= g.lo AND time_received <= g.hi"
            } ?? ""
        let sql = """
            SELECT component_name, bucket, count(*), min(ARRAY[v, t]), max(ARRAY[v, -t])
            FROM (
                SELECT component_name, t, v,
                    -- Readings received since the span was read join the end buckets.
                    LEAST(GREATEST((t::bigint - \(bind(start))) / \(bind(width)), 0), \(bind(Int64(buckets - 1)))) AS bucket
                FROM (
                    SELECT component_name, t, CASE WHEN jsonb_typeof(x) = 'number' THEN x::float8 END AS v
                    FROM (
                        SELECT component_name, round(date_part('epoch', time_received) * 1000) AS t, \(field) AS x
                        FROM readings\(ranges) WHERE \(clauses.joined(separator: " AND "))
                        OFFSET 0
                    ) AS x
                ) AS r WHERE v IS NOT NULL
            ) AS b
            GROUP BY component_name, bucket
            """
        return PostgresQuery(unsafeSQL: sql, binds: binds)
    }

    /// PostgreSQL's plan of `fieldExtremes`' aggregate for this filter (EXPLAIN's lines, under the
    /// same settings), so that tests can check it prunes partitions and hashes rather than sorts.
    public func fieldExtremesPlan(organizationID: String, filter: ReadingFilter, path: [String] = ["value"], buckets: Int = 100) async throws -> [String] {
        guard let query = Self.fieldExtremesQuery(organizationID: organizationID, filter: filter, path: path, start: 0, width: 1_000, buckets: buckets)
        else { return [] }
        let explain = PostgresQuery(unsafeSQL: "EXPLAIN " + query.sql, binds: query.binds)
        return try await transaction("explaining a chart query") { connection in
            try await Self.chartSettings(connection, logger: logger)
            return try await connection.query(explain, logger: logger).collect().map { try $0.decode(String.self) }
        }
    }
}

/// The buckets of each component from parts (hours, the rest of the readings) that may share a
/// bucket: counts add up, and the lower (higher) extreme wins, of equal values the earlier.
struct BucketMerger {
    private var byComponent: [String: [Int: FieldBucket]] = [:]

    mutating func add(component: String, _ part: FieldBucket) {
        guard var bucket = byComponent[component]?[part.index] else {
            byComponent[component, default: [:]][part.index] = part
            return
        }
        bucket.count += part.count
        if part.min.value < bucket.min.value || (part.min.value == bucket.min.value && part.min.time < bucket.min.time) { bucket.min = part.min }
        if part.max.value > bucket.max.value || (part.max.value == bucket.max.value && part.max.time < bucket.max.time) { bucket.max = part.max }
        byComponent[component]![part.index] = bucket
    }

    func result(span: ClosedRange<Int64>, width: Int64) -> FieldExtremes {
        let series = byComponent.map { FieldSeries(component: $0.key, buckets: $0.value.values.sorted { $0.index < $1.index }) }
        return FieldExtremes(span: span, bucketWidth: width, series: series.sorted { $0.component < $1.component })
    }
}
