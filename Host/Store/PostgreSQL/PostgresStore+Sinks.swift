import FerryBSON
import FerryStore
import Foundation
import PostgresNIO

/// A run's results as `ferry_write_window` takes them: each document's BSON and its `_id` key (an
/// empty key for none; a real key is never empty), encoded before any round trip. A document that
/// cannot be stored, or an `_id` twice in the batch, fails the whole write.
struct SinkBatch {
    var documents: [ByteBuffer] = []
    var keys: [ByteBuffer] = []
    /// Each document as jsonb text, for custom indexes on the sink.
    var json: [String] = []
    var ids: [BSON?] = []

    init() {}

    /// Appends another window's documents (a batch of runs sent in one call).
    mutating func append(_ other: SinkBatch) {
        documents += other.documents
        keys += other.keys
        json += other.json
        ids += other.ids
    }

    init(_ results: [BSONDocument], pipelineID: String, window: SinkWindow) throws {
        var seen = Set<[UInt8]>()
        for (position, document) in results.enumerated() {
            let (bytes, id, idKey) = try StoreChecks.sinkDocument(document, position: position, pipelineID: pipelineID)
            let key = idKey ?? []
            if let id, !seen.insert(key).inserted {
                throw StoreChecks.duplicateSinkID(id, pipelineID: pipelineID, clash: window, window: window)
            }
            documents.append(bytes.byteBuffer)
            keys.append(key.byteBuffer)
            json.append(PGJSON.text(document))
            ids.append(id)
        }
    }
}

extension PostgresStore {
    /// Replaces, in one transaction (one `ferry_write_window` call), every document of earlier runs
    /// whose window overlaps `window`.
    public func replaceWindow(
        organizationID: String, pipelineID: String, runID: String, window: SinkWindow, documents: [BSONDocument]
    ) async throws {
        try StoreChecks.validateSinkWrite(pipelineID: pipelineID, window: window)
        let sink = try SinkBatch(documents, pipelineID: pipelineID, window: window)
        let written = try await writingSink(sink, pipelineID: pipelineID, window: window) {
            try await rows(
                "writing results of pipeline \(pipelineID) for [\(window.start), \(window.end))",
                """
                SELECT ferry_write_window(o.id, \(pipelineID), \(runID), \(window.start), \(window.end), \(sink.documents), \(sink.keys), \(sink.json))
                FROM organizations o WHERE o.id = \(organizationID)
                """)
        }
        if written.isEmpty { throw StoreChecks.noSuchOrganization(organizationID) }
    }

    /// Turns the database's refusal of a duplicate `_id` into the store's message.
    func writingSink<T>(_ sink: SinkBatch, pipelineID: String, window: SinkWindow, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let clash as DuplicateSinkKey {
            guard clash.position < sink.ids.count, let id = sink.ids[clash.position] else {
                throw StoreError(.storage, "the database refused a result document's _id that the store did not send")
            }
            throw StoreChecks.duplicateSinkID(id, pipelineID: pipelineID, clash: clash.window, window: window)
        }
    }

    public func sinkDocuments(organizationID: String, pipelineID: String, window: SinkWindow?, limit: Int?) async throws
        -> [BSONDocument]
    {
        try StoreChecks.validate(limit: limit)
        var binds = PostgresBindings()
        binds.append(organizationID)
        binds.append(pipelineID)
        var sql = "SELECT document, id FROM sink_documents WHERE organization_id = $1 AND pipeline_id = $2"
        if let window {
            binds.append(window.end)
            binds.append(window.start)
            sql += " AND window_start < $3 AND window_end > $4"
        }
        sql += " ORDER BY window_start, position"
        if let limit {
            binds.append(Int64(limit))
            sql += " LIMIT $\(binds.count)"
        }
        let query = PostgresQuery(unsafeSQL: sql, binds: binds)
        return try await mapErrors("reading results of pipeline \(pipelineID)") {
            var documents: [BSONDocument] = []
            for try await row in try await client.query(query, logger: logger) {
                let cells = row.makeRandomAccess()
                documents.append(try Self.bson(cells[0], row: try cells[1].decode(Int64.self)))
            }
            return documents
        }
    }

    public func dropSink(organizationID: String, pipelineID: String) async throws -> Int {
        try await rows(
            "dropping results of pipeline \(pipelineID)",
            """
            WITH gone AS (DELETE FROM sink_documents WHERE organization_id = \(organizationID) AND pipeline_id = \(pipelineID) RETURNING 1)
            SELECT count(*) FROM gone
            """
        ).first.map { Int(try $0.decode(Int64.self)) } ?? 0
    }
}
