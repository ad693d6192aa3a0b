import FerryBSON
import FerryStore
import Foundation

/// A reading as stored: BSON blobs for the documents, JSON text for the tags. Built before the
/// write transaction opens, so encoding never holds the writer lock.
struct EncodedReading: Sendable {
    var reading: Reading
    var tags: String
    var additionalParameters: [UInt8]
    var data: [UInt8]

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
