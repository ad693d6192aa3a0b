import FerryBSON
import FerryStore
import Foundation

/// A reading as stored: BSON blobs for the documents, JSON text for the tags, and every text
/// column's UTF-8 in one buffer, so that the insert binds pointers into it rather than copying
/// each string. Built before the write transaction opens, so encoding never holds the writer lock.
struct EncodedReading: Sendable {
    var reading: Reading
    var tags: String
    var additionalParameters: [UInt8]
    var data: [UInt8]
    /// The text columns in `readingColumnList` order (the seven identifiers, then the tags), back to back.
    let text: [UInt8]
    /// Where each of those columns ends in `text`.
    let textEnds: SIMD8<UInt32>

    init(_ reading: Reading) throws {
        try StoreChecks.validate(reading: reading)
        self.reading = reading
        do {
            data = try reading.data.encodeChecked()
            additionalParameters = try reading.additionalParameters.encodeChecked()
        } catch {
            throw StoreChecks.unstorableReading(reading, error)
        }
        tags = ReadingEncoding.tagsJSON(reading.tags)
        let columns = [
            reading.organizationID, reading.locationID, reading.robotID, reading.partID, reading.componentType,
            reading.componentName, reading.methodName, tags,
        ]
        var text: [UInt8] = []
        text.reserveCapacity(columns.reduce(0) { $0 + $1.utf8.count })
        var ends = SIMD8<UInt32>()
        for (index, column) in columns.enumerated() {
            text.append(contentsOf: column.utf8)
            ends[index] = UInt32(text.count)
        }
        self.text = text
        textEnds = ends
    }
}

enum ReadingEncoding {
    static func tagsJSON(_ tags: [String]) -> String {
        tags.isEmpty ? "[]" : BSON.array(tags.map(BSON.string)).extendedJSON(.relaxed)
    }

    static func tags(fromJSON text: String) throws -> [BSON] {
        if text == "[]" { return [] }
        guard case .array(let values) = try BSON(extendedJSON: text) else {
            throw StoreError(.storage, "stored tags are not a JSON array: \(text.prefix(80))")
        }
        return values
    }
}
