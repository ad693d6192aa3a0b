import FerryBSON
import FerryMongoWire
import FerryQuery

/// Cursor batches: encoded results, at most `batchSize` of them and at most 16 MiB together (one
/// result alone may reach 16 MiB), replied as BSON built from the encoded results directly.
enum CursorBatch {
    static let maximumBytes = 16 * 1024 * 1024
    /// Results pulled from a stream at a time.
    static let chunk = 1_000
    /// MongoDB's first batch when the client names none.
    static let defaultFirstBatchSize = 101

    /// The next batch: `pending` first, then results pulled from `stream`. What is pulled beyond
    /// the size limit stays in `pending`. `exhausted` when nothing is left anywhere.
    static func next(from stream: QueryResultStream, pending: inout [[UInt8]], count: Int?) async throws -> (
        documents: [[UInt8]], exhausted: Bool
    ) {
        let limit = count ?? Int.max
        var out: [[UInt8]] = []
        var bytes = 0
        while !pending.isEmpty, out.count < limit {
            if !out.isEmpty, bytes + pending[0].count > maximumBytes { return (out, false) }
            bytes += pending[0].count
            out.append(pending.removeFirst())
        }
        while out.count < limit {
            let (documents, done) = try await stream.next(Swift.min(limit - out.count, chunk))
            for document in documents {
                let encoded = try encode(document)
                if pending.isEmpty, out.isEmpty || bytes + encoded.count <= maximumBytes {
                    bytes += encoded.count
                    out.append(encoded)
                } else {
                    pending.append(encoded)
                }
            }
            if !pending.isEmpty { return (out, false) }
            if done { return (out, true) }
        }
        return (out, false)
    }

    static func encode(_ document: BSONDocument) throws(MongoCommandError) -> [UInt8] {
        do {
            return try document.encodeChecked()
        } catch {
            throw .badValue("a result cannot be sent as BSON: \(error)")
        }
    }

    /// `{cursor: {<batchName>: [...], id, ns}, ok: 1}` as BSON bytes.
    static func reply(id: Int64, namespace: String, batchName: String, documents: [[UInt8]]) -> [UInt8] {
        var array: [UInt8] = []
        array.reserveCapacity(documents.reduce(5) { $0 + $1.count + 8 })
        array.appendInt32(0)
        for (index, document) in documents.enumerated() {
            array.append(0x03)
            array.append(contentsOf: String(index).utf8)
            array.append(0)
            array.append(contentsOf: document)
        }
        array.append(0)
        array.patchLength()

        var cursor: [UInt8] = []
        cursor.reserveCapacity(array.count + namespace.utf8.count + 40)
        cursor.appendInt32(0)
        cursor.append(0x04)
        cursor.appendName(batchName)
        cursor.append(contentsOf: array)
        cursor.append(0x12)
        cursor.appendName("id")
        cursor.appendLittleEndian(UInt64(bitPattern: id), bytes: 8)
        cursor.append(0x02)
        cursor.appendName("ns")
        cursor.appendLittleEndian(UInt64(namespace.utf8.count + 1), bytes: 4)
        cursor.append(contentsOf: namespace.utf8)
        cursor.append(0)
        cursor.append(0)
        cursor.patchLength()

        var body: [UInt8] = []
        body.reserveCapacity(cursor.count + 30)
        body.appendInt32(0)
        body.append(0x03)
        body.appendName("cursor")
        body.append(contentsOf: cursor)
        body.append(0x01)
        body.appendName("ok")
        body.appendLittleEndian(Double(1).bitPattern, bytes: 8)
        body.append(0)
        body.patchLength()
        return body
    }
}

extension Array where Element == UInt8 {
    fileprivate mutating func appendInt32(_ value: Int32) { appendLittleEndian(UInt64(UInt32(bitPattern: value)), bytes: 4) }

    fileprivate mutating func appendLittleEndian(_ value: UInt64, bytes: Int) {
        for shift in 0..<bytes { append(UInt8(truncatingIfNeeded: value >> (8 * UInt64(shift)))) }
    }

    fileprivate mutating func appendName(_ name: String) {
        append(contentsOf: name.utf8)
        append(0)
    }

    /// Writes the array's own length into its first four bytes (a BSON document's length).
    fileprivate mutating func patchLength() {
        let length = UInt32(count)
        for shift in 0..<4 { self[shift] = UInt8(truncatingIfNeeded: length >> (8 * UInt32(shift))) }
    }
}
