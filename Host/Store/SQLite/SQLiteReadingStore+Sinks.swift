import FerryBSON
import FerryStore
import Foundation
import GRDB

extension SQLiteReadingStore {
    /// Replaces, in one transaction, every document of earlier runs whose window overlaps `window`
    /// with `documents`. Re-running a window therefore never duplicates its results, and a run
    /// with a wider window (a changed schedule) supersedes the narrower ones it covers. If
    /// anything fails, the previous documents stay as they were.
    public func replaceWindow(
        organizationID: String, pipelineID: String, runID: String, window: SinkWindow, documents: [BSONDocument]
    ) async throws {
        try StoreChecks.validateSinkWrite(pipelineID: pipelineID, window: window)
        let rows = try Self.sinkRows(documents, pipelineID: pipelineID)
        try await write("writing results of pipeline \(pipelineID) for [\(window.start), \(window.end))") { db in
            try Self.requireOrganization(db, organizationID)
            try Self.writeWindow(db, organizationID: organizationID, pipelineID: pipelineID, runID: runID, window: window, rows: rows)
        }
    }

    /// A result document as the sink stores it.
    struct SinkRow {
        var bytes: Data
        /// Its `_id` and that value's key in `doc_key` (nil without an `_id`).
        var id: BSON?
        var key: Data?
    }

    /// `documents` encoded for the sink, before anything is deleted: a document that cannot be
    /// stored is refused with its position, and the window's previous results stay whole.
    static func sinkRows(_ documents: [BSONDocument], pipelineID: String) throws(StoreError) -> [SinkRow] {
        try documents.enumerated().map { (position, document) throws(StoreError) -> SinkRow in
            let (bytes, id, key) = try StoreChecks.sinkDocument(document, position: position, pipelineID: pipelineID)
            return SinkRow(bytes: Data(bytes), id: id, key: key.map { Data($0) })
        }
    }

    /// The body of `replaceWindow`, in the caller's transaction (a run's completion writes its
    /// results and its status together). Throws `StoreError` (invalid argument) after deleting
    /// only when a row's `_id` is already taken, so a caller that must keep the previous results
    /// of rows with an `_id` runs it in a savepoint.
    static func writeWindow(
        _ db: Database, organizationID: String, pipelineID: String, runID: String, window: SinkWindow, rows: [SinkRow]
    ) throws {
        try db.cachedStatement(
            sql: """
                DELETE FROM sink_documents
                WHERE organization_id = ? AND pipeline_id = ? AND window_start < ? AND window_end > ?
                """
        ).execute(arguments: [organizationID, pipelineID, window.end, window.start])
        let insert = try db.cachedStatement(
            sql: """
                INSERT INTO sink_documents (organization_id, pipeline_id, window_start, window_end, run_id, position, document, doc_key)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """)
        let existing = try db.cachedStatement(
            sql: """
                SELECT window_start, window_end FROM sink_documents
                WHERE organization_id = ? AND pipeline_id = ? AND doc_key = ? LIMIT 1
                """)
        for (position, row) in rows.enumerated() {
            // Rows inserted before this one count too: a run that produced an `_id` twice is refused.
            if let id = row.id, let key = row.key, let clash = try Row.fetchOne(existing, arguments: [organizationID, pipelineID, key]) {
                throw StoreChecks.duplicateSinkID(id, pipelineID: pipelineID, clash: SinkWindow(start: clash[0], end: clash[1]), window: window)
            }
            try insert.execute(arguments: [organizationID, pipelineID, window.start, window.end, runID, position, row.bytes, row.key])
        }
    }

    /// The stored results of a pipeline in window order, optionally only windows overlapping
    /// `window`, at most `limit` documents.
    public func sinkDocuments(organizationID: String, pipelineID: String, window: SinkWindow?, limit: Int?) async throws
        -> [BSONDocument]
    {
        try StoreChecks.validate(limit: limit)
        var sql = "SELECT document, id FROM sink_documents WHERE organization_id = ? AND pipeline_id = ?"
        var arguments: StatementArguments = [organizationID, pipelineID]
        if let window {
            sql += " AND window_start < ? AND window_end > ?"
            arguments += [window.end, window.start]
        }
        sql += " ORDER BY window_start, position"
        if let limit {
            sql += " LIMIT ?"
            arguments += [limit]
        }
        let query = sql
        let bound = arguments
        return try await read("reading results of pipeline \(pipelineID)") { db in
            let rows = try Row.fetchCursor(db, sql: query, arguments: bound)
            var documents: [BSONDocument] = []
            while let row = try rows.next() {
                documents.append(try ReadingDecoding.bson(row, 0, idIndex: 1))
            }
            return documents
        }
    }

    /// Deletes all results of a pipeline; returns how many documents were removed.
    public func dropSink(organizationID: String, pipelineID: String) async throws -> Int {
        try await write("dropping results of pipeline \(pipelineID)") { db in
            try Self.deleteSink(db, organizationID: organizationID, pipelineID: pipelineID)
            return db.changesCount
        }
    }

    static func deleteSink(_ db: Database, organizationID: String, pipelineID: String) throws {
        try db.execute(
            sql: "DELETE FROM sink_documents WHERE organization_id = ? AND pipeline_id = ?", arguments: [organizationID, pipelineID])
    }
}
