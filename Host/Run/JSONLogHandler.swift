import FerryBSON
import FerrySystem
import Foundation
import Logging

/// `--log-format json` (or FERRY_LOG_FORMAT=json): one JSON object per line on stderr, for log
/// shippers (journald's JSON export, Loki, Elasticsearch): time, level, logger, message, the
/// source module, and the metadata as an object.
struct JSONLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]
    /// Metadata of the moment (the trace and span ids, when traces are on).
    var metadataProvider: Logger.MetadataProvider?

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let merged = metadata.merging(metadataProvider?.get() ?? [:]) { _, new in new }.merging(event.metadata ?? [:]) { _, new in new }
        var fields: [String: BSON] = [
            "time": .string(ISODate.string(Int64(Date().timeIntervalSince1970 * 1000))), "level": .string(event.level.rawValue),
            "logger": .string(label), "message": .string(event.message.description), "source": .string(event.source),
        ]
        if !merged.isEmpty { fields["metadata"] = Self.json(.dictionary(merged)) }
        if let error = event.error { fields["error"] = .string("\(error)") }
        // One write(2) of the whole line: lines from every thread go out whole.
        writeToStandardError(Self.sorted(fields).extendedJSON(.relaxed) + "\n")
    }

    static func json(_ value: Logger.Metadata.Value) -> BSON {
        switch value {
        case .string(let string): .string(string)
        case .stringConvertible(let convertible): .string(convertible.description)
        case .array(let values): .array(values.map(json))
        case .dictionary(let entries): .document(sorted(entries.mapValues(json)))
        }
    }

    /// Keys in order, so lines compare and diff the same way each time.
    static func sorted(_ fields: [String: BSON]) -> BSONDocument {
        var document = BSONDocument()
        for key in fields.keys.sorted() { document[key] = fields[key] }
        return document
    }
}
