import FerryBSON
import Foundation

// Dates in Ferry's JSON files (sync status, plugin processes, the module cache and index) as
// RFC 3339 text in UTC, whole seconds: what Foundation's `.iso8601` strategies write and read, without
// them. On Linux those build a Gregorian calendar whose time zone comes from ICU, whose code and data
// then stay resident (~3 MiB) in a host that rewrites its sync status every second.

extension JSONEncoder.DateEncodingStrategy {
    package static var rfc3339: Self {
        .custom { date, encoder in
            var container = encoder.singleValueContainer()
            let seconds = Int64(date.timeIntervalSince1970.rounded(.down))
            try container.encode(ISODate.string(seconds * 1000))
        }
    }
}

extension JSONDecoder.DateDecodingStrategy {
    /// Reads fractions of a second and offsets too, keeping milliseconds.
    package static var rfc3339: Self {
        .custom { decoder in
            let container = try decoder.singleValueContainer()
            switch ISODate.parse(try container.decode(String.self)) {
            case .success(let milliseconds): return Date(timeIntervalSince1970: Double(milliseconds) / 1000)
            case .failure(let error): throw DecodingError.dataCorruptedError(in: container, debugDescription: error.message)
            }
        }
    }
}
