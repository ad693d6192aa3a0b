import FerryBSON
import FerryStore
import Foundation
import GRDB
import GRDBSQLite

/// Turns stored rows back into the documents MQL sees: Viam's column names as fields, times as
/// BSON dates, `data` and `additional_parameters` as embedded documents, `tags` as an array.
enum ReadingDecoding {
    /// Columns in the order `document(_:)` reads them; `id` last, for paging.
    static let selectList = """
        organization_id, location_id, robot_id, part_id, component_type, component_name, method_name, \
        time_requested, time_received, tags, additional_parameters, data, id
        """
    static let idIndex = 12

    /// `selectList` with `NULL` in place of the columns `fields` does not need (so SQLite never
    /// reads them and every index stays where `document` expects it); `time_received` and `id`
    /// are always read, for paging.
    static func selectList(_ fields: ReadingFields) -> String {
        if fields.isEverything { return selectList }
        let columns = ReadingFields.names.enumerated().map { index, name in index == 8 || fields.needs(index) ? name : "NULL" }
        return (columns + ["id"]).joined(separator: ", ")
    }

    /// The document of `fields` only (what `MQLDependencies` says the stages read): the other
    /// fields are left out, and `data`/`additional_parameters` decode only the paths asked for.
    static func document(_ row: StatementColumns, fields: ReadingFields) throws -> BSONDocument {
        if fields.isEverything { return try document(row) }
        var document = BSONDocument()
        document.elements.reserveCapacity(fields.count)
        for index in 0..<7 where fields.needs(index) {
            document.elements.append(BSONElement(ReadingFields.names[index], .string(row.string(Int32(index)))))
        }
        if fields.needs(7) { document.elements.append(BSONElement("time_requested", .datetime(row.int64(7)))) }
        if fields.needs(8) { document.elements.append(BSONElement("time_received", .datetime(row.int64(8)))) }
        if fields.needs(9) { document.elements.append(BSONElement("tags", .array(try ReadingEncoding.tags(fromJSON: row.string(9))))) }
        if let wanted = fields.wanted[10] {
            document.elements.append(BSONElement("additional_parameters", .document(try bson(row, 10, selecting: wanted))))
        }
        if let wanted = fields.wanted[11] {
            document.elements.append(BSONElement("data", .document(try bson(row, 11, selecting: wanted))))
        }
        return document
    }

    static func document(_ row: StatementColumns) throws -> BSONDocument {
        var document = BSONDocument()
        document.elements.reserveCapacity(12)
        for (index, column) in ReadingFilter.Column.allCases.enumerated() {
            document.elements.append(BSONElement(column.rawValue, .string(row.string(Int32(index)))))
        }
        document.elements.append(BSONElement("time_requested", .datetime(row.int64(7))))
        document.elements.append(BSONElement("time_received", .datetime(row.int64(8))))
        document.elements.append(BSONElement("tags", .array(try ReadingEncoding.tags(fromJSON: row.string(9)))))
        document.elements.append(BSONElement("additional_parameters", .document(try bson(row, 10))))
        document.elements.append(BSONElement("data", .document(try bson(row, 11))))
        return document
    }

    /// A BSON blob column of the current row, decoded in place.
    private static func bson(_ row: StatementColumns, _ index: Int32, selecting fields: BSONFieldSet = .everything) throws -> BSONDocument {
        guard let bytes = row.blob(index) else { return BSONDocument() }
        do {
            return try BSONDocument(bytes: bytes, selecting: fields)
        } catch {
            throw StoreError(.storage, "stored row \(row.int64(Int32(idIndex))) has a corrupt BSON column \(index): \(error)")
        }
    }

    /// Decodes a BSON blob column in place, without copying it out of SQLite.
    static func bson(_ row: Row, _ index: Int, idIndex: Int = idIndex, selecting fields: BSONFieldSet = .everything) throws
        -> BSONDocument
    {
        try row.withUnsafeData(atIndex: index) { data in
            guard let data else { return BSONDocument() }
            do {
                return try data.withUnsafeBytes { try BSONDocument(bytes: $0, selecting: fields) }
            } catch {
                let id: Int64? = row[idIndex]
                throw StoreError(.storage, "stored row \(id.map(String.init) ?? "?") has a corrupt BSON column \(index): \(error)")
            }
        }
    }
}

/// The columns of the row a statement is on, read with SQLite's own accessors: reading rows into
/// documents is the hot loop of every query and pipeline run, and GRDB's `Row` wraps each blob in
/// a `Data` and each value in a generic conversion. Valid until the statement steps again.
struct StatementColumns {
    let statement: OpaquePointer

    func string(_ index: Int32) -> String {
        // `sqlite3_column_text` first: it may convert the value, and `bytes` then counts the text.
        guard let text = sqlite3_column_text(statement, index) else { return "" }
        return String(decoding: UnsafeBufferPointer(start: text, count: Int(sqlite3_column_bytes(statement, index))), as: UTF8.self)
    }

    func int64(_ index: Int32) -> Int64 { sqlite3_column_int64(statement, index) }

    /// The blob's bytes in SQLite's buffer; nil for NULL.
    func blob(_ index: Int32) -> UnsafeRawBufferPointer? {
        guard sqlite3_column_type(statement, index) != SQLITE_NULL else { return nil }
        let count = Int(sqlite3_column_bytes(statement, index))
        // An empty blob has no buffer; it decodes as the empty (invalid) document it is.
        return UnsafeRawBufferPointer(start: sqlite3_column_blob(statement, index), count: count)
    }
}
