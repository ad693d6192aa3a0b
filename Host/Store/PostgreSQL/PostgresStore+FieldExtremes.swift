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

        var binds = PostgresBindings()
        guard let clauses = PostgresReadingQuery.conditions(organizationID: organizationID, filter: filter, binds: &binds) else { return .none }
        func bind<T: PostgresEncodable>(_ value: T) -> String {
            try! binds.append(value)  // the store's own value types always encode
            return "$\(binds.count)"
        }
        // `->` with a text key finds fields of objects only (never an array's element, which
        // `#>` would for a numeric name), as MQL's `$data.readings.0` does.
        let value = "data" + path.map { " -> \(bind($0))::text" }.joined()
        let sql = """
            SELECT component_name, bucket, count(*), min(ARRAY[v, t::float8]), max(ARRAY[v, -t::float8])
            FROM (
                SELECT component_name, t, v,
                    -- Readings received since the span was read join the end buckets.
                    LEAST(GREATEST((t - \(bind(span.lowerBound))) / \(bind(width)), 0), \(bind(Int64(buckets - 1)))) AS bucket
                FROM (
                    SELECT component_name, (extract(epoch FROM time_received) * 1000)::bigint AS t,
                        CASE WHEN jsonb_typeof(\(value)) = 'number' THEN (\(value))::float8 END AS v
                    FROM readings WHERE \(clauses.joined(separator: " AND "))
                ) AS r WHERE v IS NOT NULL
            ) AS b
            GROUP BY component_name, bucket
            """
        var byComponent: [String: [FieldBucket]] = [:]
        for row in try await rows(what, PostgresQuery(unsafeSQL: sql, binds: binds)) {
            let (component, bucket, count, low, high) = try row.decode((String, Int64, Int64, [Double], [Double]).self)
            guard low.count == 2, high.count == 2 else { throw StoreError(.storage, "\(what): the database returned a malformed bucket") }
            let minimum = FieldPoint(time: Int64(low[1]), value: low[0])
            let maximum = FieldPoint(time: -Int64(high[1]), value: high[0])
            byComponent[component, default: []].append(FieldBucket(index: Int(bucket), count: Int(count), min: minimum, max: maximum))
        }
        let series = byComponent.map { FieldSeries(component: $0.key, buckets: $0.value.sorted { $0.index < $1.index }) }
        return FieldExtremes(span: span, bucketWidth: width, series: series.sorted { $0.component < $1.component })
    }

    /// PostgreSQL's plan of `fieldExtremes`' aggregate for this filter (EXPLAIN's lines), so that
    /// tests can check it reads through the filter's index and prunes partitions.
    public func fieldExtremesPlan(organizationID: String, filter: ReadingFilter) async throws -> [String] {
        var binds = PostgresBindings()
        guard let clauses = PostgresReadingQuery.conditions(organizationID: organizationID, filter: filter, binds: &binds) else { return [] }
        let sql = "EXPLAIN SELECT component_name, time_received, data FROM readings WHERE \(clauses.joined(separator: " AND "))"
        return try await rows("explaining a chart query", PostgresQuery(unsafeSQL: sql, binds: binds)).map { try $0.decode(String.self) }
    }
}
