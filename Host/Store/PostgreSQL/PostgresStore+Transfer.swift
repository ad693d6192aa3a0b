import FerryBSON
import FerryStore
import Foundation
import PostgresNIO

/// `StoreTransfer` on PostgreSQL. Readings are read in primary-key order (organisation, time, id),
/// which the partitions' indexes serve page by page; the rest by id.
extension PostgresStore {
    /// Readings are keyed by (organisation, time, id), so finding a copied reading by its id alone
    /// needs an index of its own while the copy runs (dropped by `finishImport`).
    private static let transferIndex = "ferry_transfer_readings_by_id"

    public func checkSchemaIsKnown() async throws {
        let applied = try await rows("reading the schema version", "SELECT name FROM ferry_migrations").map { try $0.decode(String.self) }
        let known = Set(PostgresSchema.migrations.map(\.name)).union(["functions"])
        if let unknown = applied.filter({ !known.contains($0) }).sorted().first {
            throw StoreError(
                .storage,
                "the database \(url) has migration \(unknown), which this ferry does not know: a newer version wrote it. Run that version (or newer) of ferry")
        }
    }

    public func beginImport() async throws {
        try await rows(
            "indexing readings by id for the copy", PostgresQuery(unsafeSQL: "CREATE INDEX IF NOT EXISTS \(Self.transferIndex) ON readings (id)"))
    }

    /// Moves each id sequence past the largest copied id, so new rows never reuse one.
    public func finishImport() async throws {
        for (sequence, table, column) in [
            ("readings_id_seq", "readings", "id"), ("sink_documents_id_seq", "sink_documents", "id"),
            ("pipeline_runs_seq_seq", "pipeline_runs", "seq"), ("pipeline_invalidations_id_seq", "pipeline_invalidations", "id"),
        ] {
            try await rows(
                "moving \(sequence) past the copied ids",
                PostgresQuery(
                    unsafeSQL: """
                        SELECT setval('\(sequence)', m) FROM (SELECT max(\(column)) AS m FROM \(table)) x
                        WHERE m IS NOT NULL AND m > (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM \(sequence))
                        """))
        }
        try await rows("dropping the copy's index", PostgresQuery(unsafeSQL: "DROP INDEX IF EXISTS \(Self.transferIndex)"))
    }

    // MARK: Export

    public func exportRecords(_ kind: TransferKind, after cursor: String?, limit: Int) async throws -> TransferPage {
        let n = Int64(limit)
        switch kind {
        case .settings:
            return TransferPage(records: try await settings().map { .setting($0) }, next: nil)
        case .dataIndexes:
            return try await exportIndexes()
        case .readings:
            let cutoff = try await hotCutoffForTransfer()
            let parts = cursor?.split(separator: " ", maxSplits: 2).map(String.init) ?? []
            let query: PostgresQuery
            if parts.count == 3, let time = Int64(parts[0]), let id = Int64(parts[1]) {
                query = try """
                    SELECT \(unescaped: Self.transferReadingColumns), time_received >= \(PGTime(cutoff)) FROM readings
                    WHERE (organization_id, time_received, id) > (\(parts[2]), \(PGTime(time)), \(id))
                    ORDER BY organization_id, time_received, id LIMIT \(n)
                    """
            } else {
                query = try """
                    SELECT \(unescaped: Self.transferReadingColumns), time_received >= \(PGTime(cutoff)) FROM readings
                    ORDER BY organization_id, time_received, id LIMIT \(n)
                    """
            }
            let records = try await rows("listing readings", query).map(Self.transferReading)
            var next: String?
            if records.count == limit, case .reading(let id, let r, _)? = records.last { next = "\(r.timeReceived) \(id) \(r.organizationID)" }
            return TransferPage(records: records, next: next)
        case .binaries:
            // Sizes first, so that a page's payloads stay within the byte budget (at least one).
            let sizes = try await rows(
                "listing binary data",
                "SELECT id, size FROM binary_data WHERE id > \(cursor ?? "") ORDER BY id LIMIT \(n)"
            ).map { try $0.decode((String, Int64).self) }
            var ids: [String] = []
            var total: Int64 = 0
            for (id, size) in sizes {
                if !ids.isEmpty, total + size > Int64(TransferKind.binaryPageBytes) { break }
                ids.append(id)
                total += size
            }
            let records = try await rows(
                "reading binary data",
                "SELECT \(unescaped: Self.binaryColumns), payload FROM binary_data WHERE id = ANY(\(ids)) ORDER BY id"
            ).map { try Self.record(.binaries, $0) }
            return TransferPage(records: records, next: ids.count < sizes.count || sizes.count == limit ? ids.last : nil)
        case .datasetMembers:
            let (dataset, binary) = SplitCursor.pair(cursor)
            let records = try await rows(
                "listing dataset members",
                """
                SELECT dataset_id, binary_id FROM dataset_members WHERE (dataset_id, binary_id) > (\(dataset), \(binary))
                ORDER BY dataset_id, binary_id LIMIT \(n)
                """
            ).map { row -> TransferRecord in
                let (d, b) = try row.decode((String, String).self)
                return .datasetMember(datasetID: d, binaryID: b)
            }
            var next: String?
            if records.count == limit, case .datasetMember(let d, let b)? = records.last { next = "\(d)\u{0}\(b)" }
            return TransferPage(records: records, next: next)
        case .ingestRanges:
            let (org, file) = SplitCursor.pair(cursor)
            let rows = try await rows(
                "listing ingest ranges",
                """
                SELECT organization_id, file_id, first_record, last_record FROM ingest_ranges
                WHERE (organization_id, file_id) IN (
                    SELECT DISTINCT organization_id, file_id FROM ingest_ranges WHERE (organization_id, file_id) > (\(org), \(file))
                    ORDER BY organization_id, file_id LIMIT \(n))
                ORDER BY organization_id, file_id, first_record
                """)
            let records = try Self.groupRanges(rows)
            var next: String?
            if records.count == limit, case .ingestRanges(let o, let f, _)? = records.last { next = "\(o)\u{0}\(f)" }
            return TransferPage(records: records, next: next)
        default:
            let (select, key, isInt) = Self.selectList(kind)
            var binds = PostgresBindings()
            var sql = select
            if let cursor {
                if isInt { binds.append(Int64(cursor) ?? 0) } else { binds.append(cursor) }
                sql += " WHERE \(key) > $1"
            }
            binds.append(n)
            sql += " ORDER BY \(key) LIMIT $\(binds.count)"
            let records = try await rows("listing \(kind)", PostgresQuery(unsafeSQL: sql, binds: binds)).map { try Self.record(kind, $0) }
            return TransferPage(records: records, next: records.count == limit ? records.last?.key : nil)
        }
    }

    private static let transferReadingColumns = """
        id, organization_id, location_id, robot_id, part_id, component_type, component_name, method_name, \
        time_requested, time_received, tags, additional_parameters_bson, data_bson
        """

    private static func transferReading(_ row: PostgresRow) throws -> TransferRecord {
        let c = row.makeRandomAccess()
        let id = try c[0].decode(Int64.self)
        let reading = Reading(
            organizationID: try c[1].decode(String.self), locationID: try c[2].decode(String.self),
            robotID: try c[3].decode(String.self), partID: try c[4].decode(String.self),
            componentType: try c[5].decode(String.self), componentName: try c[6].decode(String.self),
            methodName: try c[7].decode(String.self), timeRequested: try c[8].decode(PGTime.self).ms,
            timeReceived: try c[9].decode(PGTime.self).ms, tags: try tags(c[10]).compactMap(\.stringValue),
            additionalParameters: try bson(c[11], row: id), data: try bson(c[12], row: id))
        return .reading(id: id, reading, hot: try c[13].decode(Bool.self))
    }

    /// Hot storage on PostgreSQL is the readings at or after the cutoff (all of them before the first prune).
    private func hotCutoffForTransfer() async throws -> Int64 {
        try await rows("reading the hot storage cutoff", "SELECT value FROM store_meta WHERE key = \(Self.hotCutoffKey)")
            .first.flatMap { Int64(try $0.decode(String.self)) } ?? PGTime.earliest
    }

    private static func groupRanges(_ rows: [PostgresRow]) throws -> [TransferRecord] {
        var files: [(org: String, file: String, ranges: [Range<Int>])] = []
        for row in rows {
            let (org, file, first, last) = try row.decode((String, String, Int64, Int64).self)
            let range = Int(first)..<Int(max(first, last))
            if let lastFile = files.last, lastFile.org == org, lastFile.file == file {
                files[files.count - 1].ranges.append(range)
            } else {
                files.append((org, file, [range]))
            }
        }
        return files.map { .ingestRanges(organizationID: $0.org, fileID: $0.file, ranges: $0.ranges) }
    }

    private static func selectList(_ kind: TransferKind) -> (sql: String, key: String, isInt: Bool) {
        switch kind {
        case .organizations: ("SELECT id, name, created_at FROM organizations", "id", false)
        case .apiKeys:
            ("SELECT id, organization_id, role, name, secret_hash, created_at, revoked_at, location_id, robot_id FROM api_keys", "id", false)
        case .databaseUsers:
            (
                "SELECT organization_id, salt, iterations, stored_key, server_key, may_insert, created_at, updated_at FROM database_users",
                "organization_id", false
            )
        case .pipelines: ("SELECT \(pipelineColumns) FROM pipelines", "id", false)
        case .datasets: ("SELECT id, name, organization_id, created_at FROM datasets", "id", false)
        case .savedQueries: ("SELECT \(savedQueryColumns) FROM saved_queries", "id", false)
        case .binaries: ("SELECT \(binaryColumns), payload FROM binary_data", "id", false)
        case .pipelineRuns: ("SELECT \(runColumns) FROM pipeline_runs", "id", false)
        case .invalidations: ("SELECT id, organization_id, source, range_start, range_end FROM pipeline_invalidations", "id", true)
        case .sinkDocuments:
            (
                "SELECT id, organization_id, pipeline_id, window_start, window_end, run_id, position, document, doc_key FROM sink_documents",
                "id", true
            )
        case .settings, .readings, .ingestRanges, .datasetMembers, .dataIndexes: fatalError("\(kind) has its own query")
        }
    }

    private static func record(_ kind: TransferKind, _ row: PostgresRow) throws -> TransferRecord {
        switch kind {
        case .organizations:
            return .organization(try organization(row))
        case .apiKeys:
            let (id, org, role, name, hash, created, revoked, location, robot) = try row.decode(
                (String, String, String, String, String, Int64, Int64?, String, String).self)
            return .apiKey(
                APIKeyInfo(
                    id: id, organizationID: org, role: APIKeyRole(rawValue: role) ?? .viewer, name: name,
                    scope: MachineScope(locationID: location, robotID: robot), createdAt: created, revokedAt: revoked),
                secretHash: hash)
        case .databaseUsers:
            let (org, salt, iterations, storedKey, serverKey, insert, created, updated) = try row.decode(
                (String, ByteBuffer, Int64, ByteBuffer, ByteBuffer, Bool, Int64, Int64).self)
            return .databaseUser(
                DatabaseUser(
                    organizationID: org,
                    credential: DatabaseUserCredential(
                        salt: salt.bytes, iterations: Int(iterations), storedKey: storedKey.bytes, serverKey: serverKey.bytes),
                    mayInsert: insert, createdAt: created, updatedAt: updated))
        case .pipelines:
            return .pipeline(try pipelineRecord(row))
        case .datasets:
            let (id, name, org, created) = try row.decode((String, String, String, Int64).self)
            return .dataset(Dataset(id: id, name: name, organizationID: org, createdAt: created))
        case .savedQueries:
            return .savedQuery(try savedQuery(row))
        case .binaries:
            let cells = row.makeRandomAccess()
            let payload = try cells[cells.count - 1].decode(ByteBuffer?.self)
            return .binary(try binaryRecord(row), bytes: payload?.bytes ?? [])
        case .pipelineRuns:
            return .run(try runRecord(row))
        case .invalidations:
            let (id, org, source, start, end) = try row.decode((Int64, String, String, Int64, Int64).self)
            return .invalidation(PipelineInvalidation(id: id, organizationID: org, source: source, range: SinkWindow(start: start, end: end)))
        case .sinkDocuments:
            let (id, org, pipeline, start, end, run, position, document, key) = try row.decode(
                (Int64, String, String, Int64, Int64, String, Int32, ByteBuffer, ByteBuffer?).self)
            return .sinkDocument(
                StoredSinkDocument(
                    id: id, organizationID: org, pipelineID: pipeline, window: SinkWindow(start: start, end: end), runID: run,
                    position: Int(position), document: document.bytes, key: key?.bytes))
        case .settings, .readings, .ingestRanges, .datasetMembers, .dataIndexes: fatalError("\(kind) has its own query")
        }
    }

    private func settings() async throws -> [StoreSetting] {
        var settings: [StoreSetting] = []
        let meta = try await rows(
            "reading the store's settings",
            "SELECT key, value FROM store_meta WHERE key IN ('token_signing_key', \(Self.hotCutoffKey))"
        ).map { try $0.decode((String, String).self) }
        for (key, value) in meta {
            if key == "token_signing_key", let bytes = Hex.decode(value), bytes.count == 32 { settings.append(.tokenSigningKey(bytes)) }
            if key == Self.hotCutoffKey, let cutoff = Int64(value) { settings.append(.hotStorageCutoff(cutoff)) }
        }
        if let endpoint = try await databaseEndpoint() { settings.append(.databaseEndpoint(endpoint)) }
        return settings
    }

    // MARK: Import

    public func existingRecords(_ records: [TransferRecord]) async throws -> [String: TransferRecord] {
        guard let kind = records.first?.kind else { return [:] }
        var found: [TransferRecord]
        switch kind {
        case .settings:
            found = try await settings().map { .setting($0) }
        case .dataIndexes:
            return try await existingIndexes(records)
        case .readings:
            let ids = records.map { Int64($0.key) ?? 0 }
            // Hot storage here is the readings after the cutoff, not a copy: a reading found is
            // reported hot, so that there is never anything to add to it.
            found = try await rows(
                "looking up readings",
                "SELECT \(unescaped: Self.transferReadingColumns), true FROM readings WHERE id = ANY(\(ids))"
            ).map(Self.transferReading)
        case .ingestRanges:
            var orgs: [String] = [], files: [String] = []
            for case .ingestRanges(let org, let file, _) in records {
                orgs.append(org)
                files.append(file)
            }
            found = try Self.groupRanges(
                try await rows(
                    "looking up ingest ranges",
                    """
                    SELECT organization_id, file_id, first_record, last_record FROM ingest_ranges
                    WHERE (organization_id, file_id) IN (SELECT * FROM unnest(\(orgs), \(files)))
                    ORDER BY organization_id, file_id, first_record
                    """))
        case .datasetMembers:
            var datasets: [String] = [], binaries: [String] = []
            for case .datasetMember(let dataset, let binary) in records {
                datasets.append(dataset)
                binaries.append(binary)
            }
            found = try await rows(
                "looking up dataset members",
                """
                SELECT dataset_id, binary_id FROM dataset_members
                WHERE (dataset_id, binary_id) IN (SELECT * FROM unnest(\(datasets), \(binaries)))
                """
            ).map { row in
                let (d, b) = try row.decode((String, String).self)
                return .datasetMember(datasetID: d, binaryID: b)
            }
        case .binaries:
            let ids = records.map(\.key)
            found = try await rows("looking up binary data", "SELECT \(unescaped: Self.binaryColumns) FROM binary_data WHERE id = ANY(\(ids))")
                .map { .binary(try Self.binaryRecord($0), bytes: []) }
        default:
            let (select, key, isInt) = Self.selectList(kind)
            var binds = PostgresBindings()
            if isInt { binds.append(records.map { Int64($0.key) ?? 0 }) } else { binds.append(records.map(\.key)) }
            found = try await rows("looking up \(kind)", PostgresQuery(unsafeSQL: "\(select) WHERE \(key) = ANY($1)", binds: binds))
                .map { try Self.record(kind, $0) }
        }
        return Dictionary(found.map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
    }

    public func importRecords(_ records: [TransferRecord]) async throws {
        guard let kind = records.first?.kind else { return }
        if kind == .readings { return try await importReadings(records) }
        if kind == .dataIndexes { return try await importIndexes(records) }
        let logger = self.logger
        try await transaction("copying \(records.count) rows of \(kind)") { connection in
            for record in records { try await Self.insert(record, connection, logger: logger) }
        }
    }

    /// One statement per page: the months' partitions first, then every row from arrays.
    private func importReadings(_ records: [TransferRecord]) async throws {
        var ids: [Int64] = [], readings: [Reading] = []
        for case .reading(let id, let r, _) in records {
            ids.append(id)
            readings.append(r)
        }
        // The same columns an upload's ingest makes, with the source's ids beside them.
        let c = try await IngestColumns.of(readings)
        let partitions: PostgresQuery = try """
            SELECT ferry_readings_partition(t) FROM (SELECT DISTINCT date_trunc('month', t, 'UTC') AS t FROM unnest(\(c.received)) t) m
            """
        let insert: PostgresQuery = try """
            INSERT INTO readings (id, organization_id, location_id, robot_id, part_id, component_type, component_name,
                method_name, time_requested, time_received, tags, additional_parameters, data, additional_parameters_bson, data_bson)
            SELECT u.id, u.org, u.loc, u.robot, u.part, u.type, u.comp, u.method, u.req, u.rec, u.tags::jsonb, u.params::jsonb,
                u.data::jsonb, u.params_bson, u.data_bson
            FROM unnest(\(ids), \(c.orgs), \(c.locations), \(c.robots), \(c.parts), \(c.types), \(c.components), \(c.methods), \(c.requested),
                \(c.received), \(c.tags), \(c.parameters), \(c.data), \(c.parametersBSON), \(c.dataBSON))
                AS u(id, org, loc, robot, part, type, comp, method, req, rec, tags, params, data, params_bson, data_bson)
            ON CONFLICT DO NOTHING
            """
        // Charts' hours of these times, if the destination made any, are out of date.
        let forget: PostgresQuery = try "SELECT ferry_chart_forget(\(c.orgs), \(c.received))"
        let logger = self.logger
        try await transaction("copying \(records.count) readings") { connection in
            try await connection.query(forget, logger: logger)
            try await connection.query(partitions, logger: logger)
            try await connection.query(insert, logger: logger)
        }
    }

    private static func insert(_ record: TransferRecord, _ connection: PostgresConnection, logger: Logger) async throws {
        let query: PostgresQuery
        switch record {
        case .organization(let o):
            query = "INSERT INTO organizations (id, name, created_at) VALUES (\(o.id), \(o.name), \(o.createdAt))"
        case .apiKey(let k, let hash):
            query = """
                INSERT INTO api_keys (id, organization_id, role, name, secret_hash, created_at, revoked_at, location_id, robot_id)
                VALUES (\(k.id), \(k.organizationID), \(k.role.rawValue), \(k.name), \(hash), \(k.createdAt), \(k.revokedAt),
                    \(k.scope.locationID), \(k.scope.robotID))
                """
        case .databaseUser(let u):
            let c = u.credential
            query = """
                INSERT INTO database_users (organization_id, salt, iterations, stored_key, server_key, may_insert, created_at, updated_at)
                VALUES (\(u.organizationID), \(c.salt.byteBuffer), \(Int64(c.iterations)), \(c.storedKey.byteBuffer),
                    \(c.serverKey.byteBuffer), \(u.mayInsert), \(u.createdAt), \(u.updatedAt))
                """
        case .setting(.tokenSigningKey(let key)):
            query = "INSERT INTO store_meta (key, value) VALUES ('token_signing_key', \(Hex.encode(key))) ON CONFLICT (key) DO NOTHING"
        case .setting(.hotStorageCutoff(let cutoff)):
            query = """
                INSERT INTO store_meta (key, value) VALUES (\(hotCutoffKey), \(String(cutoff)))
                ON CONFLICT (key) DO UPDATE SET value = greatest(store_meta.value::bigint, excluded.value::bigint)::text
                """
        case .setting(.databaseEndpoint(let endpoint)):
            query = """
                INSERT INTO store_meta (key, value) VALUES ('mongo_endpoint', \("\(endpoint.tls ? "tls" : "plain") \(endpoint.address)"))
                ON CONFLICT (key) DO NOTHING
                """
        case .dataset(let d):
            query = "INSERT INTO datasets (id, name, organization_id, created_at) VALUES (\(d.id), \(d.name), \(d.organizationID), \(d.createdAt))"
        case .savedQuery(let q):
            query = """
                INSERT INTO saved_queries (id, organization_id, name, stages, created_at, updated_at)
                VALUES (\(q.id), \(q.organizationID), \(q.name), \(q.stagesJSON), \(q.createdAt), \(q.updatedAt))
                """
        case .datasetMember(let dataset, let binary):
            query = "INSERT INTO dataset_members (dataset_id, binary_id) VALUES (\(dataset), \(binary))"
        case .pipeline(let p):
            let stages = try StoreChecks.encodeStages(p).byteBuffer
            query = """
                INSERT INTO pipelines (\(unescaped: pipelineColumns)) VALUES (\(p.id), \(p.organizationID), \(p.name),
                    \(p.schedule), \(stages), \(p.enableBackfill), \(sourceType(p.source)), \(sourcePipeline(p.source)),
                    \(p.enabled), \(p.createdAt), \(p.updatedAt), \(p.scheduledThrough), \(p.backfillCursor), \(p.backfillFloor),
                    \(p.backfillNextAt), \(p.invalidationCursor), \(p.revision))
                """
        case .ingestRanges(let org, let file, let ranges):
            let merged = IngestRanges(ranges).ranges
            try await connection.query("DELETE FROM ingest_ranges WHERE organization_id = \(org) AND file_id = \(file)", logger: logger)
            query = """
                INSERT INTO ingest_ranges (organization_id, file_id, first_record, last_record)
                SELECT \(org), \(file), f, l FROM unnest(\(merged.map { Int64($0.lowerBound) }), \(merged.map { Int64($0.upperBound) })) AS u(f, l)
                """
        case .binary(let b, let bytes):
            let m = b.metadata
            query = """
                INSERT INTO binary_data (id, organization_id, location_id, robot_id, part_id, component_type, component_name,
                    method_name, file_id, file_name, file_extension, mime_type, size, sha256, time_requested, time_received,
                    tags, annotations, payload)
                VALUES (\(b.id), \(m.organizationID), \(m.locationID), \(m.robotID), \(m.partID), \(m.componentType),
                    \(m.componentName), \(m.methodName), \(m.fileID ?? b.id), \(m.fileName), \(m.fileExtension), \(m.mimeType),
                    \(Int64(b.size)), \(b.sha256), \(m.timeRequested), \(m.timeReceived), \(PGJSON.text(m.tags))::jsonb,
                    \(m.annotations?.extendedJSON(.relaxed)), \(bytes.byteBuffer))
                """
        case .run(let r):
            query = """
                INSERT INTO pipeline_runs (\(unescaped: runColumns))
                VALUES (\(r.sequence), \(r.id), \(r.pipelineID), \(r.organizationID), \(r.window.start), \(r.window.end),
                    \(r.status.rawValue), \(r.kind.rawValue), \(r.notBefore), \(r.createdAt), \(r.startedAt), \(r.endedAt),
                    \(r.errorMessage), \(r.outputCount.map { Int32($0) }))
                """
        case .invalidation(let i):
            query = """
                INSERT INTO pipeline_invalidations (id, organization_id, source, range_start, range_end)
                VALUES (\(i.id), \(i.organizationID), \(i.source), \(i.range.start), \(i.range.end))
                """
        case .sinkDocument(let d):
            query = """
                INSERT INTO sink_documents (id, organization_id, pipeline_id, window_start, window_end, run_id, position, document, doc_key, data)
                VALUES (\(d.id), \(d.organizationID), \(d.pipelineID), \(d.window.start), \(d.window.end), \(d.runID),
                    \(Int32(d.position)), \(d.document.byteBuffer), \(d.key?.byteBuffer), \(PGJSON.text(try BSONDocument(bytes: d.document)))::jsonb)
                """
        case .reading, .dataIndex:  // imported by their own paths (`importReadings`, `importIndexes`)
            return
        }
        try await connection.query(query, logger: logger)
    }
}

/// A cursor of two keys (an ingest range's organisation and file, a membership's dataset and
/// payload), NUL-separated: stored text has no NUL.
enum SplitCursor {
    static func pair(_ cursor: String?) -> (String, String) {
        guard let cursor, let nul = cursor.firstIndex(of: "\u{0}") else { return ("", "") }
        return (String(cursor[..<nul]), String(cursor[cursor.index(after: nul)...]))
    }
}
