import FerryBSON
import FerryStore
import NIOCore
import PostgresNIO

/// Readings read a page at a time, each page packed by the server into one `bytea`: the
/// `string_agg` of every row's `record_send` (a column count, then per column its type, length
/// and binary value). The client decodes one cell per page instead of walking PostgresNIO's
/// row sequence, whose per-row cost (a message, a row and its cells, their retains) was most of
/// what a large read cost this process.
struct PackedReadings {
    /// Rows a page holds unless the caller's limit is smaller; shrunk for a page whose packed
    /// bytes would pass the server's 1 GB limit on one value.
    static let pageRows = 10_000

    let fields: ReadingFields
    /// Indexes into `ReadingFields.names` of the columns packed after `time_received` and `id`,
    /// ascending (which is the order of the document's fields).
    let columns: [Int]

    init(_ fields: ReadingFields) {
        self.fields = fields
        columns = (0..<12).filter { $0 != 8 && (fields.isEverything || fields.needs($0)) }
    }

    /// The select list of the page's rows: the packed row, and the columns the query orders by.
    var selectList: String {
        let names = ["time_received", "id"] + columns.map { index in
            switch index {
            case 10: "additional_parameters_bson"
            case 11: "data_bson"
            default: ReadingFields.names[index]
            }
        }
        return "record_send(ROW(\(names.joined(separator: ", ")))) AS packed, time_received, id"
    }

    /// One page: the rows of `query` (ordered, limited) aggregated in their order into one value.
    static func page(of query: PostgresQuery) -> PostgresQuery {
        PostgresQuery(unsafeSQL: "SELECT string_agg(packed, ''::bytea) FROM (\(query.sql)) AS page", binds: query.binds)
    }

    /// A page's packed rows (nil: none matched) and the most it was asked for.
    struct Page: Sendable {
        var bytes: ByteBuffer?
        var rows: Int
    }

    /// How many rows `page` packs, and the cursor of the last in the query's order, read
    /// without decoding them (so the next page can be asked for first).
    static func scan(_ page: ByteBuffer?, descending: Bool) throws -> (rows: Int, last: ReadingCursor?) {
        guard let page else { return (0, nil) }
        return try page.withUnsafeReadableBytes { bytes in
            var reader = Reader(bytes: bytes)
            var rows = 0
            var last: ReadingCursor?
            while !reader.isAtEnd {
                let count = try reader.int32()
                guard count >= 2 else { throw Reader.truncated }
                let cursor = ReadingCursor(
                    timeReceived: PGTime(micros: try reader.int64(reader.column())).ms, id: try reader.int64(reader.column()))
                for _ in 2..<count { _ = try reader.column() }
                if last.map({ precedes($0, cursor, descending: descending) }) ?? true { last = cursor }
                rows += 1
            }
            return (rows, last)
        }
    }

    /// Whether `a` comes before `b` in the order of a query `descending` or not.
    static func precedes(_ a: ReadingCursor, _ b: ReadingCursor, descending: Bool) -> Bool {
        descending ? (a.timeReceived, a.id) > (b.timeReceived, b.id) : (a.timeReceived, a.id) < (b.timeReceived, b.id)
    }

    /// Appends the readings packed in `page` (nil: no rows) and their cursors.
    func decode(
        _ page: ByteBuffer?, descending: Bool, into documents: inout [BSONDocument], cursors: inout [ReadingCursor]
    ) throws {
        guard let page else { return }
        let first = documents.count
        try page.withUnsafeReadableBytes { bytes in
            var reader = Reader(bytes: bytes)
            while !reader.isAtEnd {
                let (document, cursor) = try decodeRow(&reader)
                documents.append(document)
                cursors.append(cursor)
            }
        }
        // `string_agg` keeps its input's order, which the page's ORDER BY gives; should a plan
        // ever not, the page is put back in order here (it holds the right rows either way).
        func inOrder(_ a: ReadingCursor, _ b: ReadingCursor) -> Bool { Self.precedes(a, b, descending: descending) }
        guard first < cursors.count else { return }
        if !zip(cursors[first...], cursors[(first + 1)...]).allSatisfy(inOrder) {
            let sorted = (first..<cursors.count).sorted { inOrder(cursors[$0], cursors[$1]) }
            documents.replaceSubrange(first..., with: sorted.map { documents[$0] })
            cursors.replaceSubrange(first..., with: sorted.map { cursors[$0] })
        }
    }

    private func decodeRow(_ reader: inout Reader) throws -> (BSONDocument, ReadingCursor) {
        let count = try reader.int32()
        guard count == columns.count + 2 else {
            throw StoreError(.storage, "a packed page of readings has a row of \(count) columns, not \(columns.count + 2)")
        }
        let received = PGTime(micros: try reader.int64(reader.column()))
        let id = try reader.int64(reader.column())
        var document = BSONDocument()
        document.elements.reserveCapacity(fields.isEverything ? 12 : fields.count)
        var receivedPlaced = !(fields.isEverything || fields.needs(8))
        for index in columns {
            if index > 8, !receivedPlaced {
                document.elements.append(BSONElement("time_received", .datetime(received.ms)))
                receivedPlaced = true
            }
            let value = try reader.column()
            let name = ReadingFields.names[index]
            switch index {
            case 0..<7:
                document.elements.append(BSONElement(name, .string(String(decoding: value, as: UTF8.self))))
            case 7:
                document.elements.append(BSONElement(name, .datetime(PGTime(micros: try reader.int64(value)).ms)))
            case 9:
                // Binary `jsonb`: a version byte, then the text.
                let text = String(decoding: value.isEmpty ? value : UnsafeRawBufferPointer(rebasing: value.dropFirst()), as: UTF8.self)
                document.elements.append(BSONElement(name, .array(try PostgresStore.tags(json: text))))
            default:
                let wanted = fields.isEverything ? BSONFieldSet.everything : fields.wanted[index]!
                let column = index == 10 ? "additional_parameters_bson" : "data_bson"
                document.elements.append(
                    BSONElement(name, .document(try PostgresStore.bson(value, column: column, row: id, selecting: wanted))))
            }
        }
        if !receivedPlaced { document.elements.append(BSONElement("time_received", .datetime(received.ms))) }
        return (document, ReadingCursor(timeReceived: received.ms, id: id))
    }

    /// Big-endian fields of `record_send`'s format, bounds checked.
    private struct Reader {
        let bytes: UnsafeRawBufferPointer
        var offset = 0

        var isAtEnd: Bool { offset >= bytes.count }

        mutating func int32() throws -> Int {
            guard offset + 4 <= bytes.count else { throw Self.truncated }
            defer { offset += 4 }
            return Int(Int32(bigEndian: bytes.loadUnaligned(fromByteOffset: offset, as: Int32.self)))
        }

        /// One column's value: its type, then its length and bytes (every packed column is NOT NULL).
        mutating func column() throws -> UnsafeRawBufferPointer {
            _ = try int32()
            let length = try int32()
            guard length >= 0, offset + length <= bytes.count else { throw Self.truncated }
            defer { offset += length }
            return UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + length])
        }

        func int64(_ value: UnsafeRawBufferPointer) throws -> Int64 {
            guard value.count == 8 else { throw Self.truncated }
            return Int64(bigEndian: value.loadUnaligned(as: Int64.self))
        }

        static let truncated = StoreError(.storage, "a packed page of readings from the database is truncated or malformed")
    }
}
