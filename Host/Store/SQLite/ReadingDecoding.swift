import FerryBSON
import FerryStore
import Foundation
import GRDB

/// Turns stored rows back into the documents MQL sees: Viam's column names as fields, times as
/// BSON dates, `data` and `additional_parameters` as embedded documents, `tags` as an array.
enum ReadingDecoding {
    /// Columns in the order `document(_:)` reads them; `id` last, for paging.
    static let selectList = """
        organization_id, location_id, robot_id, part_id, component_type, component_name, method_name, \
        time_requested, time_received, tags, additional_parameters, data, id
        """
    static let idIndex = 12

    static func document(_ row: Row) throws -> BSONDocument {
        var document = BSONDocument()
        document.elements.reserveCapacity(12)
        for (index, column) in ReadingFilter.Column.allCases.enumerated() {
            document.elements.append(BSONElement(column.rawValue, .string(row[index])))
        }
        document.elements.append(BSONElement("time_requested", .datetime(row[7])))
        document.elements.append(BSONElement("time_received", .datetime(row[8])))
        document.elements.append(BSONElement("tags", .array(try ReadingEncoding.tags(fromJSON: row[9]))))
        document.elements.append(BSONElement("additional_parameters", .document(try bson(row, 10))))
        document.elements.append(BSONElement("data", .document(try bson(row, 11))))
        return document
    }

    /// Decodes a BSON blob column in place, without copying it out of SQLite.
    static func bson(_ row: Row, _ index: Int, idIndex: Int = idIndex) throws -> BSONDocument {
        try row.withUnsafeData(atIndex: index) { data in
            guard let data else { return BSONDocument() }
            do {
                return try data.withUnsafeBytes { try BSONDocument(bytes: $0) }
            } catch {
                let id: Int64? = row[idIndex]
                throw StoreError(.storage, "stored row \(id.map(String.init) ?? "?") has a corrupt BSON column \(index): \(error)")
            }
        }
    }
}
