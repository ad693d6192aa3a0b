import Crypto
import FerryBSON
import FerryStore
import Foundation
import GRDB

/// `StoreTransfer` on SQLite: rows in id order (text ids in SQLite's byte order), payloads read from
/// and written to their files, the token key in the data directory's `token-secret`.
extension SQLiteReadingStore {
    private static let transferHotCutoffKey = "hot_storage_cutoff_ms"
    private var tokenSecretPath: String { URL(fileURLWithPath: dataDirectory).appendingPathComponent("token-secret").path }

    public func checkSchemaIsKnown() async throws {
        let superseded = try await read("reading the schema version") { db in try SQLiteSchema.migrator.hasBeenSuperseded(db) }
        if superseded {
            throw StoreError(
                .storage,
                "the store at \(databasePath) has schema migrations this ferry does not know: a newer version wrote it. Run that version (or newer) of ferry")
        }
    }

    public func beginImport() async throws {}
    /// AUTOINCREMENT and rowid tables continue after the largest copied id by themselves.
    public func finishImport() async throws {}

    // MARK: Export

    public func exportRecords(_ kind: TransferKind, after cursor: String?, limit: Int) async throws -> TransferPage {
        let directory = dataDirectory
        let int = cursor.flatMap { Int64($0) } ?? Int64.min
        let text = cursor ?? ""
        // Each reading's hot flag says whether hot storage holds it.
        if kind == .readings { await makePendingHotCopiesBeforeReading() }
        switch kind {
        case .settings:
            return TransferPage(records: try await settings().map { .setting($0) }, next: nil)
        case .dataIndexes:
            return try await exportIndexes()
        case .binaries:
            let rows = try await read("listing binary data") { db in
                try Row.fetchAll(
                    db, sql: "SELECT \(Self.binarySelectList) FROM binary_data WHERE id > ? ORDER BY id LIMIT ?",
                    arguments: [text, limit]
                ).map { try Self.binaryRecord($0, directory: directory) }
            }
            var records: [TransferRecord] = []
            var bytesInPage = 0
            for var record in rows {
                guard let path = record.path else { continue }
                // Big payloads make short pages: a page holds at least one, and stops at the budget.
                if !records.isEmpty, bytesInPage + record.size > TransferKind.binaryPageBytes {
                    return TransferPage(records: records, next: records.last?.key)
                }
                bytesInPage += record.size
                let id = record.id
                let bytes = try await Offload.run { () throws -> [UInt8] in
                    guard let data = FileManager.default.contents(atPath: path) else {
                        throw StoreError(.storage, "the payload file \(path) of binary \(id) is missing or unreadable")
                    }
                    return [UInt8](data)
                }
                record.path = nil
                records.append(.binary(record, bytes: bytes))
            }
            return TransferPage(records: records, next: rows.count == limit ? rows.last?.id : nil)
        case .datasetMembers:
            let (dataset, binary) = Self.splitPairCursor(cursor)
            let records = try await read("listing dataset members") { db in
                try Row.fetchAll(
                    db,
                    sql: """
                        SELECT dataset_id, binary_id FROM dataset_members WHERE (dataset_id, binary_id) > (?, ?)
                        ORDER BY dataset_id, binary_id LIMIT ?
                        """,
                    arguments: [dataset, binary, limit]
                ).map { TransferRecord.datasetMember(datasetID: $0[0], binaryID: $0[1]) }
            }
            var next: String?
            if records.count == limit, case .datasetMember(let d, let b)? = records.last { next = "\(d)\u{0}\(b)" }
            return TransferPage(records: records, next: next)
        case .ingestRanges:
            let (org, file) = Self.splitPairCursor(cursor)
            let records = try await read("listing ingest ranges") { db in
                let files = try Row.fetchAll(
                    db,
                    sql: """
                        SELECT DISTINCT organization_id, file_id FROM ingest_ranges WHERE (organization_id, file_id) > (?, ?)
                        ORDER BY organization_id, file_id LIMIT ?
                        """,
                    arguments: [org, file, limit])
                return try files.map { row -> TransferRecord in
                    let (org, file): (String, String) = (row[0], row[1])
                    return .ingestRanges(organizationID: org, fileID: file, ranges: try Self.ranges(db, org, file))
                }
            }
            return TransferPage(records: records, next: records.count == limit ? Self.fileCursor(records.last) : nil)
        default:
            let (sql, key) = Self.exportQuery(kind)
            let records = try await read("listing \(kind)") { db in
                try Row.fetchAll(db, sql: sql, arguments: [key == .int ? int.databaseValue : text.databaseValue, limit])
                    .map { try Self.record(kind, $0, directory: directory) }
            }
            return TransferPage(records: records, next: records.count == limit ? records.last?.key : nil)
        }
    }

    private enum KeyType { case int, text }

    /// The page query of a kind whose rows are one table's, keyed by one column.
    private static func exportQuery(_ kind: TransferKind) -> (String, KeyType) {
        let (select, key, type) = selectList(kind)
        return ("\(select) WHERE \(key) > ? ORDER BY \(key) LIMIT ?", type)
    }

    private static func selectList(_ kind: TransferKind) -> (sql: String, key: String, KeyType) {
        switch kind {
        case .organizations: ("SELECT id, name, created_at FROM organizations", "id", .text)
        case .apiKeys:
            (
                "SELECT id, organization_id, role, name, secret_hash, created_at, revoked_at, location_id, robot_id FROM api_keys", "id",
                .text
            )
        case .databaseUsers:
            (
                "SELECT organization_id, salt, iterations, stored_key, server_key, may_insert, created_at, updated_at FROM database_users",
                "organization_id", .text
            )
        case .pipelines: ("SELECT \(pipelineColumns) FROM pipelines", "id", .text)
        case .datasets: ("SELECT id, name, organization_id, created_at FROM datasets", "id", .text)
        case .savedQueries: ("SELECT \(savedQueryColumns) FROM saved_queries", "id", .text)
        case .readings:
            (
                """
                SELECT r.id, r.\(readingColumnList.replacingOccurrences(of: ", ", with: ", r.")),
                    EXISTS (SELECT 1 FROM hot_readings h
                        WHERE h.organization_id = r.organization_id AND h.time_received = r.time_received AND h.id = r.id)
                FROM readings r
                """, "r.id", .int
            )
        case .pipelineRuns: ("SELECT \(runColumns) FROM pipeline_runs", "id", .text)
        case .invalidations: ("SELECT id, organization_id, source, range_start, range_end FROM pipeline_invalidations", "id", .int)
        case .sinkDocuments:
            (
                "SELECT id, organization_id, pipeline_id, window_start, window_end, run_id, position, document, doc_key FROM sink_documents",
                "id", .int
            )
        case .settings, .binaries, .ingestRanges, .datasetMembers, .dataIndexes: fatalError("\(kind) is not paged by one column")
        }
    }

    private static func record(_ kind: TransferKind, _ row: Row, directory: String) throws -> TransferRecord {
        switch kind {
        case .organizations:
            return .organization(Organization(id: row[0], name: row[1], createdAt: row[2]))
        case .apiKeys:
            let role: String = row[2]
            return .apiKey(
                APIKeyInfo(
                    id: row[0], organizationID: row[1], role: APIKeyRole(rawValue: role) ?? .viewer, name: row[3],
                    scope: MachineScope(locationID: row[7], robotID: row[8]), createdAt: row[5], revokedAt: row[6]),
                secretHash: row[4])
        case .databaseUsers:
            return .databaseUser(
                DatabaseUser(
                    organizationID: row[0],
                    credential: DatabaseUserCredential(
                        salt: [UInt8](row[1] as Data), iterations: row[2], storedKey: [UInt8](row[3] as Data),
                        serverKey: [UInt8](row[4] as Data)),
                    mayInsert: row[5], createdAt: row[6], updatedAt: row[7]))
        case .pipelines:
            return .pipeline(try pipelineRecord(row))
        case .datasets:
            return .dataset(Dataset(id: row[0], name: row[1], organizationID: row[2], createdAt: row[3]))
        case .savedQueries:
            return .savedQuery(try savedQuery(row))
        case .readings:
            let tags = try ReadingEncoding.tags(fromJSON: row[10]).compactMap(\.stringValue)
            let reading = Reading(
                organizationID: row[1], locationID: row[2], robotID: row[3], partID: row[4], componentType: row[5],
                componentName: row[6], methodName: row[7], timeRequested: row[8], timeReceived: row[9], tags: tags,
                additionalParameters: try ReadingDecoding.bson(row, 11, idIndex: 0), data: try ReadingDecoding.bson(row, 12, idIndex: 0))
            return .reading(id: row[0], reading, hot: row[13])
        case .pipelineRuns:
            return .run(try runRecord(row))
        case .invalidations:
            return .invalidation(
                PipelineInvalidation(id: row[0], organizationID: row[1], source: row[2], range: SinkWindow(start: row[3], end: row[4])))
        case .sinkDocuments:
            let key = (row[8] as Data?).map { [UInt8]($0) }
            return .sinkDocument(
                StoredSinkDocument(
                    id: row[0], organizationID: row[1], pipelineID: row[2], window: SinkWindow(start: row[3], end: row[4]),
                    runID: row[5], position: row[6], document: [UInt8](row[7] as Data), key: key))
        case .settings, .binaries, .ingestRanges, .datasetMembers, .dataIndexes: fatalError("\(kind) is not one table's rows")
        }
    }

    private func settings() async throws -> [StoreSetting] {
        var settings: [StoreSetting] = []
        let path = tokenSecretPath
        if let data = FileManager.default.contents(atPath: path), data.count == 32 {
            settings.append(.tokenSigningKey([UInt8](data)))
        }
        let cutoff = try await read("reading the hot storage cutoff") { db in
            try Int64.fetchOne(db, sql: "SELECT value FROM store_meta WHERE key = ?", arguments: [Self.transferHotCutoffKey])
        }
        if let cutoff { settings.append(.hotStorageCutoff(cutoff)) }
        if let endpoint = try await databaseEndpoint() { settings.append(.databaseEndpoint(endpoint)) }
        return settings
    }

    private static func ranges(_ db: Database, _ org: String, _ file: String) throws -> [Range<Int>] {
        try Row.fetchAll(
            db, sql: "SELECT first_record, last_record FROM ingest_ranges WHERE organization_id = ? AND file_id = ? ORDER BY first_record",
            arguments: [org, file]
        ).map { (row: Row) -> Range<Int> in
            let (first, last): (Int, Int) = (row[0], row[1])
            return first..<max(first, last)
        }
    }

    /// A cursor of two keys (an ingest range's organisation and file, a membership's dataset and
    /// payload), NUL-separated: stored text has no NUL.
    static func fileCursor(_ record: TransferRecord?) -> String? {
        guard case .ingestRanges(let org, let file, _)? = record else { return nil }
        return "\(org)\u{0}\(file)"
    }

    static func splitPairCursor(_ cursor: String?) -> (String, String) {
        guard let cursor, let nul = cursor.firstIndex(of: "\u{0}") else { return ("", "") }
        return (String(cursor[..<nul]), String(cursor[cursor.index(after: nul)...]))
    }

    // MARK: Import

    public func existingRecords(_ records: [TransferRecord]) async throws -> [String: TransferRecord] {
        guard let kind = records.first?.kind else { return [:] }
        let directory = dataDirectory
        if kind == .readings { await makePendingHotCopiesBeforeReading() }
        switch kind {
        case .settings:
            return Dictionary(try await settings().map { ($0.name, TransferRecord.setting($0)) }, uniquingKeysWith: { a, _ in a })
        case .dataIndexes:
            return try await existingIndexes(records)
        case .ingestRanges:
            return try await read("reading ingest ranges") { db in
                var found: [String: TransferRecord] = [:]
                for case .ingestRanges(let org, let file, _) in records {
                    let ranges = try Self.ranges(db, org, file)
                    if !ranges.isEmpty { found["\(org)/\(file)"] = .ingestRanges(organizationID: org, fileID: file, ranges: ranges) }
                }
                return found
            }
        case .datasetMembers:
            return try await read("looking up dataset members") { db in
                var found: [String: TransferRecord] = [:]
                for case .datasetMember(let dataset, let binary) in records {
                    let present = try Bool.fetchOne(
                        db, sql: "SELECT 1 FROM dataset_members WHERE dataset_id = ? AND binary_id = ?", arguments: [dataset, binary])
                    if present == true { found["\(dataset)/\(binary)"] = .datasetMember(datasetID: dataset, binaryID: binary) }
                }
                return found
            }
        case .binaries:
            let ids = records.map(\.key)
            return try await read("looking up binary data") { db in
                let rows = try Row.fetchAll(
                    db, sql: "SELECT \(Self.binarySelectList) FROM binary_data WHERE id IN (\(databaseQuestionMarks(count: ids.count)))",
                    arguments: StatementArguments(ids))
                return Dictionary(
                    try rows.map { row -> (String, TransferRecord) in
                        var record = try Self.binaryRecord(row, directory: directory)
                        record.path = nil
                        return (record.id, .binary(record, bytes: []))
                    }, uniquingKeysWith: { a, _ in a })
            }
        default:
            let (select, key, type) = Self.selectList(kind)
            let keys: [DatabaseValue] = records.map { type == .int ? (Int64($0.key) ?? 0).databaseValue : $0.key.databaseValue }
            let hotStorage = configuration.hotStorageHours != nil
            return try await read("looking up \(kind)") { db in
                let rows = try Row.fetchAll(
                    db, sql: "\(select) WHERE \(key) IN (\(databaseQuestionMarks(count: keys.count)))", arguments: StatementArguments(keys))
                let cutoff = try Self.hotStorageCutoff(db)
                return Dictionary(
                    try rows.map { row in
                        var record = try Self.record(kind, row, directory: directory)
                        // A reading that may not enter hot storage here counts as in it: nothing to add.
                        if case .reading(let id, let reading, false) = record, !hotStorage || reading.timeReceived < cutoff {
                            record = .reading(id: id, reading, hot: true)
                        }
                        return (record.key, record)
                    }, uniquingKeysWith: { a, _ in a })
            }
        }
    }

    public func importRecords(_ records: [TransferRecord]) async throws {
        guard let kind = records.first?.kind else { return }
        if kind == .settings {
            for case .setting(let setting) in records { try await importSetting(setting) }
            return
        }
        if kind == .dataIndexes { return try await importIndexes(records) }
        // Payload files first, so that no row ever names a missing file; a crash in between leaves
        // files without rows, which `removeOrphanedBinaries` clears at the next start.
        var written: [String: String] = [:]
        for case .binary(let record, let bytes) in records {
            let relative = "binary/\(record.metadata.organizationID)/\(record.id)\(Self.safeExtension(record.metadata.fileExtension))"
            let path = absolute(relative)
            try await Offload.run { try AtomicFile.write(bytes, to: path) }
            written[record.id] = relative
        }
        let hotStorage = configuration.hotStorageHours != nil
        let paths = written
        do {
            try await write("copying \(records.count) rows of \(kind)") { db in
                for record in records { try Self.insert(record, paths: paths, hotStorage: hotStorage, db) }
            }
        } catch {
            for relative in written.values { try? FileManager.default.removeItem(atPath: absolute(relative)) }
            throw error
        }
    }

    private func importSetting(_ setting: StoreSetting) async throws {
        switch setting {
        case .tokenSigningKey(let key):
            let path = tokenSecretPath
            try await Offload.run { try AtomicFile.write(key, to: path, permissions: 0o600, replacing: false) }
            guard let data = FileManager.default.contents(atPath: path), [UInt8](data) == key else {
                throw StoreError.transferConflict(.settings, key: setting.name, advice: "Another process made \(path) meanwhile; run the migration again")
            }
        case .hotStorageCutoff(let cutoff):
            try await write("copying the hot storage cutoff") { db in
                try db.execute(
                    sql: "INSERT INTO store_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)",
                    arguments: [Self.transferHotCutoffKey, cutoff])
            }
        case .databaseEndpoint(let endpoint):
            try await recordDatabaseEndpoint(endpoint)
        }
    }

    private static func insert(_ record: TransferRecord, paths: [String: String], hotStorage: Bool, _ db: Database) throws {
        switch record {
        case .organization(let o):
            try db.execute(sql: "INSERT INTO organizations (id, name, created_at) VALUES (?, ?, ?)", arguments: [o.id, o.name, o.createdAt])
        case .apiKey(let k, let hash):
            try db.execute(
                sql: """
                    INSERT INTO api_keys (id, organization_id, role, name, secret_hash, created_at, revoked_at, location_id, robot_id)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    k.id, k.organizationID, k.role.rawValue, k.name, hash, k.createdAt, k.revokedAt, k.scope.locationID, k.scope.robotID,
                ])
        case .databaseUser(let u):
            let c = u.credential
            try db.execute(
                sql: """
                    INSERT INTO database_users (organization_id, salt, iterations, stored_key, server_key, may_insert, created_at, updated_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    u.organizationID, Data(c.salt), c.iterations, Data(c.storedKey), Data(c.serverKey), u.mayInsert, u.createdAt, u.updatedAt,
                ])
        case .dataset(let d):
            try db.execute(
                sql: "INSERT INTO datasets (id, name, organization_id, created_at) VALUES (?, ?, ?, ?)",
                arguments: [d.id, d.name, d.organizationID, d.createdAt])
        case .savedQuery(let q):
            try db.execute(
                sql: "INSERT INTO saved_queries (\(savedQueryColumns)) VALUES (?, ?, ?, ?, ?, ?)",
                arguments: [q.id, q.organizationID, q.name, q.stagesJSON, q.createdAt, q.updatedAt])
        case .datasetMember(let dataset, let binary):
            try db.execute(sql: "INSERT INTO dataset_members (dataset_id, binary_id) VALUES (?, ?)", arguments: [dataset, binary])
        case .pipeline(let p):
            try db.execute(
                sql: "INSERT INTO pipelines (\(pipelineColumns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                arguments: pipelineArguments(p, stages: try encodeStages(p)))
        case .reading(let id, let reading, let hot):
            let row = try EncodedReading(reading)
            let values: StatementArguments = [
                id, reading.organizationID, reading.locationID, reading.robotID, reading.partID, reading.componentType,
                reading.componentName, reading.methodName, reading.timeRequested, reading.timeReceived, row.tags,
                Data(row.additionalParameters), Data(row.data),
            ]
            let marks = databaseQuestionMarks(count: 13)
            try db.cachedStatement(sql: "INSERT OR IGNORE INTO readings (id, \(readingColumnList)) VALUES (\(marks))").execute(arguments: values)
            // As ingest does: nothing older than the last prune's cutoff enters hot storage.
            if hot && hotStorage, reading.timeReceived >= (try hotStorageCutoff(db)) {
                try db.cachedStatement(sql: "INSERT OR IGNORE INTO hot_readings (id, \(readingColumnList)) VALUES (\(marks))")
                    .execute(arguments: values)
            }
        case .ingestRanges(let org, let file, let ranges):
            try db.execute(sql: "DELETE FROM ingest_ranges WHERE organization_id = ? AND file_id = ?", arguments: [org, file])
            for range in IngestRanges(ranges).ranges {
                try db.execute(
                    sql: "INSERT INTO ingest_ranges (organization_id, file_id, first_record, last_record) VALUES (?, ?, ?, ?)",
                    arguments: [org, file, range.lowerBound, range.upperBound])
            }
        case .binary(let b, _):
            let m = b.metadata
            try db.execute(
                sql: """
                    INSERT INTO binary_data (id, organization_id, location_id, robot_id, part_id, component_type,
                        component_name, method_name, file_id, file_name, file_extension, mime_type, size, sha256,
                        time_requested, time_received, tags, path, annotations)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    b.id, m.organizationID, m.locationID, m.robotID, m.partID, m.componentType, m.componentName, m.methodName,
                    m.fileID ?? b.id, m.fileName, m.fileExtension, m.mimeType, b.size, b.sha256, m.timeRequested, m.timeReceived,
                    ReadingEncoding.tagsJSON(m.tags), paths[b.id], m.annotations?.extendedJSON(.relaxed),
                ])
        case .run(let r):
            try db.execute(
                sql: "INSERT INTO pipeline_runs (\(runColumns)) VALUES (\(databaseQuestionMarks(count: 14)))",
                arguments: [
                    r.sequence, r.id, r.pipelineID, r.organizationID, r.window.start, r.window.end, r.status.rawValue, r.kind.rawValue,
                    r.notBefore, r.createdAt, r.startedAt, r.endedAt, r.errorMessage, r.outputCount,
                ])
        case .invalidation(let i):
            try db.execute(
                sql: "INSERT INTO pipeline_invalidations (id, organization_id, source, range_start, range_end) VALUES (?, ?, ?, ?, ?)",
                arguments: [i.id, i.organizationID, i.source, i.range.start, i.range.end])
        case .sinkDocument(let d):
            try db.execute(
                sql: """
                    INSERT INTO sink_documents (id, organization_id, pipeline_id, window_start, window_end, run_id, position, document, doc_key)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    d.id, d.organizationID, d.pipelineID, d.window.start, d.window.end, d.runID, d.position, Data(d.document),
                    d.key.map { Data($0) },
                ])
        case .setting, .dataIndex:  // imported by their own paths (settings, `importIndexes`)
            break
        }
    }
}
