import FerryBSON
import FerryStore
import NIOCore
import PostgresNIO

/// A time as PostgreSQL's `timestamptz` on the wire: binary microseconds since 2000-01-01 UTC,
/// converted from and to the store's milliseconds exactly (Foundation's `Date` goes through a
/// `Double` and can be a microsecond off, which would move a reading across a window boundary).
struct PGTime: PostgresCodable, PostgresArrayEncodable, PostgresArrayDecodable, Sendable, Hashable {
    /// 2000-01-01T00:00:00Z in ms since the Unix epoch.
    static let postgresEpoch: Int64 = 946_684_800_000
    /// The range every stored time must lie in (years 0001 to 9999, what BSON dates print and
    /// protobuf timestamps carry); filters are clamped to it.
    static let earliest: Int64 = -62_135_596_800_000
    static let latest: Int64 = 253_402_300_799_999

    var ms: Int64

    init(_ ms: Int64) { self.ms = ms }

    /// From `timestamptz`'s binary value: microseconds since 2000-01-01.
    init(micros: Int64) { ms = CivilCalendar.floorDiv(micros, 1_000) + Self.postgresEpoch }

    static var psqlType: PostgresDataType { .timestamptz }
    static var psqlFormat: PostgresFormat { .binary }
    static var psqlArrayType: PostgresDataType { .timestamptzArray }

    func encode<JSONEncoder: PostgresJSONEncoder>(into byteBuffer: inout ByteBuffer, context: PostgresEncodingContext<JSONEncoder>) {
        let clamped = min(max(ms, Self.earliest), Self.latest)
        byteBuffer.writeInteger((clamped - Self.postgresEpoch) * 1_000, as: Int64.self)
    }

    init<JSONDecoder: PostgresJSONDecoder>(
        from byteBuffer: inout ByteBuffer, type: PostgresDataType, format: PostgresFormat, context: PostgresDecodingContext<JSONDecoder>
    ) throws {
        guard format == .binary, type == .timestamptz || type == .timestamp, let micros = byteBuffer.readInteger(as: Int64.self) else {
            throw PostgresDecodingError.Code.typeMismatch
        }
        self.init(micros: micros)
    }
}

/// Bytes as `bytea`.
extension Array where Element == UInt8 {
    var byteBuffer: ByteBuffer { ByteBuffer(bytes: self) }
}

extension ByteBuffer {
    var bytes: [UInt8] { getBytes(at: readerIndex, length: readableBytes) ?? [] }
}

/// JSON for the `jsonb` columns SQL queries read: relaxed Extended JSON, as SQLite's
/// `bson_json` shows it, with the one thing `jsonb` refuses (the `\u0000` escape) replaced.
enum PGJSON {
    static func text(_ document: BSONDocument) -> String { withoutNUL(document.extendedJSON(.relaxed)) }

    static func text(_ tags: [String]) -> String { withoutNUL(BSON.array(tags.map(BSON.string)).extendedJSON(.relaxed)) }

    /// Replaces each `\u0000` escape (not an escaped backslash followed by `u0000`) with `\ufffd`.
    static func withoutNUL(_ json: String) -> String {
        guard containsNULEscape(json) else { return json }
        var out = ""
        out.reserveCapacity(json.utf8.count)
        var iterator = json.makeIterator()
        while let c = iterator.next() {
            guard c == "\\" else {
                out.append(c)
                continue
            }
            guard let next = iterator.next() else {
                out.append(c)
                break
            }
            if next == "u" {
                var hex = ""
                for _ in 0..<4 { if let h = iterator.next() { hex.append(h) } }
                out += hex == "0000" ? "\\ufffd" : "\\u" + hex
            } else {
                out.append(c)
                out.append(next)
            }
        }
        return out
    }

    /// Whether `json` holds the six bytes `\u0000` anywhere (escaped backslash or not; the slow path
    /// above tells them apart). A scan of the UTF-8 bytes: every ingested reading's JSON passes here,
    /// and Foundation's `contains` compared UTF-16 through NSString.
    static func containsNULEscape(_ json: String) -> Bool {
        var json = json
        return json.withUTF8 { bytes in
            guard bytes.count >= 6 else { return false }
            let zero = UInt8(ascii: "0")
            for i in 0...(bytes.count - 6) where bytes[i] == UInt8(ascii: "\\") {
                if bytes[i + 1] == UInt8(ascii: "u") && bytes[i + 2] == zero && bytes[i + 3] == zero && bytes[i + 4] == zero
                    && bytes[i + 5] == zero
                {
                    return true
                }
            }
            return false
        }
    }
}
