import FerryBSON
import Foundation
import Logging
import Synchronization

/// `--log-format json` (or FERRY_LOG_FORMAT=json): one JSON object per line on stderr, for log
/// shippers (journald's JSON export, Loki, Elasticsearch): time, level, logger, message, the
/// source module, and the metadata as an object.
struct JSONLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]
    /// Metadata of the moment (the trace and span ids, when traces are on).
    var metadataProvider: Logger.MetadataProvider?

    /// Lines from every thread go out whole and in order.
    private static let output = Mutex(FileHandle.standardError)

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let merged = metadata.merging(metadataProvider?.get() ?? [:]) { _, new in new }.merging(event.metadata ?? [:]) { _, new in new }
        var object: [String: Any] = [
            "time": ISODate.string(Int64(Date().timeIntervalSince1970 * 1000)), "level": event.level.rawValue, "logger": label,
            "message": event.message.description, "source": event.source,
        ]
        if !merged.isEmpty { object["metadata"] = merged.mapValues(Self.json) }
        if let error = event.error { object["error"] = "\(error)" }
        guard var data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) else {
            return
        }
        data.append(0x0A)
        Self.output.withLock { $0.write(data) }
    }

    static func json(_ value: Logger.Metadata.Value) -> Any {
        switch value {
        case .string(let string): string
        case .stringConvertible(let convertible): convertible.description
        case .array(let values): values.map(json)
        case .dictionary(let entries): entries.mapValues(json)
        }
    }
}
