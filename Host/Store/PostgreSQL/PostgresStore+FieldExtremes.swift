import FerryStore
import PostgresNIO

extension PostgresStore {
    /// The span from the indexes (`min`/`max` of `time_received` under the filter), then one
    /// `GROUP BY component_name, bucket` over the `jsonb` copy of `data`: only the buckets cross
    /// the wire. `min(ARRAY[v, t])` is the lowest value with its time in one aggregate (arrays
    /// compare element by element, so of equal values the earliest wins), `max(ARRAY[v, -t])` the
    /// highest, likewise the earliest.
    public func fieldExtremes(organizationID: String, filter: ReadingFilter, path: [String], buckets: Int) async throws -> FieldExtremes {
        try FieldExtremes.validate(path: path, buckets: buckets)
        var spanBinds = PostgresBindings()
        guard let spanClauses = PostgresReadingQuery.conditions(organizationID: organizationID, filter: filter, binds: &spanBinds) else {
            return .none
        }
        let what = "charting a field of the readings of organisation \(organizationID)"
        let spanSQL = "SELECT min(time_received), max(time_received) FROM readings WHERE \(spanClauses.joined(separator: " AND "))"
        guard let spanRow = try await rows(what, PostgresQuery(unsafeSQL: spanSQL, binds: spanBinds)).first else { return .none }
        let (firstTime, lastTime) = try spanRow.decode((PGTime?, PGTime?).self)
        guard let first = firstTime, let last = lastTime else { return .none }
        let span = first.ms...last.ms
        let width = FieldExtremes.bucketWidth(span, buckets: buckets)
        guard let query = Self.fieldExtremesQuery(organizationID: organizationID, filter: filter, path: path, start: span.lowerBound, width: width, buckets: buckets)
        else { return .none }

        let found = try await transaction(what) { connection in
            try await Self.chartSettings(connection, logger: logger)
            return try await connection.query(query, logger: logger).collect()
        }
        var byComponent: [String: [FieldBucket]] = [:]
        for row in found {
            let (component, bucket, count, low, high) = try row.decode((String, Int64, Int64, [Double], [Double]).self)
            guard low.count == 2, high.count == 2 else { throw StoreError(.storage, "\(what): the database returned a malformed bucket") }
            let minimum = FieldPoint(time: Int64(low[1]), value: low[0])
            let maximum = FieldPoint(time: -Int64(high[1]), value: high[0])
            byComponent[component, default: []].append(FieldBucket(index: Int(bucket), count: Int(count), min: minimum, max: maximum))
        }
        let series = byComponent.map { FieldSeries(component: $0.key, buckets: $0.value.sorted { $0.index < $1.index }) }
        return FieldExtremes(span: span, bucketWidth: width, series: series.sorted { $0.component < $1.component })
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
    static func fieldExtremesQuery(organizationID: String, filter: ReadingFilter, path: [String], start: Int64, width: Int64, buckets: Int) -> PostgresQuery? {
        var binds = PostgresBindings()
        guard let clauses = PostgresReadingQuery.conditions(organizationID: organizationID, filter: filter, binds: &binds) else { return nil }
        func bind<T: PostgresEncodable>(_ value: T) -> String {
            try! binds.append(value)  // the store's own value types always encode
            return "$\(binds.count)"
        }
        // `->` with a text key finds fields of objects only (never an array's element, which
        // `#>` would for a numeric name), as MQL's `$data.readings.0` does.
        let field = "data" + path.map { " -> \(bind($0))::text" }.joined()
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
                        FROM readings WHERE \(clauses.joined(separator: " AND "))
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
