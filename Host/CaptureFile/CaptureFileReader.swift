import Foundation
import SwiftProtobuf

/// What is wrong with a capture file, with the byte offset, so a user can tell truncation (a
/// crash; recoverable) from corruption.
package struct CaptureFileError: Error, CustomStringConvertible, Sendable {
    package var path: String
    package var offset: Int
    package var message: String
    package var description: String { "\(path): at byte \(offset): \(message)" }
}

/// A whole capture file read into memory.
package struct CaptureFileContents: Sendable {
    package var metadata: DataCaptureMetadata
    package var records: [SensorData]
    /// Bytes up to the end of the last whole record.
    package var validLength: Int
    /// Bytes after it that do not form a whole record (a write cut short by a crash).
    package var trailingBytes: Int
}

/// A whole capture file's bytes, framed: its header decoded, each record's bytes located but not
/// decoded. Sync sends tabular records as they are: a record in a capture file is a serialized
/// `SensorData`, which is what an upload request holds.
package struct CaptureFileFrames: Sendable {
    package var metadata: DataCaptureMetadata
    package var bytes: Data
    /// Each whole record's bytes in `bytes`.
    package var records: [Range<Int>]
    /// Bytes up to the end of the last whole record.
    package var validLength: Int
    /// Bytes after it that do not form a whole record (a write cut short by a crash).
    package var trailingBytes: Int

    /// Record `index`'s serialized `SensorData` (sharing the file's storage).
    package func record(_ index: Int) -> Data { bytes[records[index]] }

    /// Record `index` decoded.
    package func decode(_ index: Int, path: String) throws(CaptureFileError) -> SensorData {
        do {
            return try SensorData(serializedBytes: record(index))
        } catch {
            // The offset of the record's own bytes, after its length prefix.
            throw CaptureFileError(
                path: path, offset: records[index].lowerBound - bytes.startIndex,
                message: "record \(index) (its message, after the length) does not decode: \(error)")
        }
    }
}

package enum CaptureFileReader {
    /// Reads a capture file. `strict` refuses a file whose tail is not a whole record; otherwise
    /// the tail is reported in `trailingBytes` (recovery truncates it).
    package static func read(path: String, strict: Bool = true) throws(CaptureFileError) -> CaptureFileContents {
        try decode(try readFrames(path: path, strict: strict), path: path)
    }

    package static func parse(_ data: Data, path: String, strict: Bool) throws(CaptureFileError) -> CaptureFileContents {
        try decode(try frames(data, path: path, strict: strict), path: path)
    }

    /// Reads a capture file without decoding its records (see `read` for `strict`). Each record
    /// is still checked to be a protobuf message field by field, so a corrupt one is refused here,
    /// with its offset, rather than by the server.
    package static func readFrames(path: String, strict: Bool = true) throws(CaptureFileError) -> CaptureFileFrames {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CaptureFileError(path: path, offset: 0, message: "cannot read the file (missing or unreadable)")
        }
        return try frames(data, path: path, strict: strict)
    }

    static func decode(_ frames: CaptureFileFrames, path: String) throws(CaptureFileError) -> CaptureFileContents {
        var records: [SensorData] = []
        records.reserveCapacity(frames.records.count)
        for index in frames.records.indices { records.append(try frames.decode(index, path: path)) }
        return CaptureFileContents(
            metadata: frames.metadata, records: records, validLength: frames.validLength, trailingBytes: frames.trailingBytes)
    }

    static func frames(_ data: Data, path: String, strict: Bool) throws(CaptureFileError) -> CaptureFileFrames {
        // Data.withUnsafeBytes rethrows untyped errors; carry ours out in a Result.
        let located = try data.withUnsafeBytes { bytes in
            Result { () throws(CaptureFileError) in try locate(bytes, path: path, strict: strict) }
        }.get()
        // `locate` counts from the buffer's start, `data`'s indices from its own.
        let base = data.startIndex
        return CaptureFileFrames(
            metadata: located.metadata, bytes: data, records: located.records.map { ($0.lowerBound + base)..<($0.upperBound + base) },
            validLength: located.validLength, trailingBytes: located.trailingBytes)
    }

    static func locate(_ bytes: UnsafeRawBufferPointer, path: String, strict: Bool) throws(CaptureFileError)
        -> (metadata: DataCaptureMetadata, records: [Range<Int>], validLength: Int, trailingBytes: Int)
    {
        var offset = 0
        func nextMessage() -> Range<Int>? {
            guard let (length, prefix) = Varint.decode(bytes, at: offset), length <= UInt64(bytes.count - offset - prefix) else {
                return nil
            }
            let start = offset + prefix
            offset = start + Int(length)
            return start..<offset
        }
        guard let header = nextMessage() else {
            throw CaptureFileError(path: path, offset: 0, message: "no complete metadata header; the file was cut short before its first record")
        }
        let metadata: DataCaptureMetadata
        do {
            metadata = try DataCaptureMetadata(serializedBytes: Array(bytes[header]))
        } catch {
            throw CaptureFileError(path: path, offset: 0, message: "the metadata header does not decode (\(error)); this is not a Viam capture file")
        }
        var records: [Range<Int>] = []
        var validLength = offset
        while offset < bytes.count {
            let recordStart = offset
            guard let body = nextMessage() else { break }
            guard ProtobufWire.isMessage(UnsafeRawBufferPointer(rebasing: bytes[body])) else {
                throw CaptureFileError(
                    path: path, offset: recordStart, message: "record \(records.count) does not decode: its fields overrun it or use no valid wire type")
            }
            records.append(body)
            validLength = offset
        }
        let trailing = bytes.count - validLength
        if strict, trailing > 0 {
            throw CaptureFileError(
                path: path, offset: validLength,
                message: "\(trailing) bytes after the last whole record (a write cut short); `ferry run` recovers such files at start-up")
        }
        return (metadata, records, validLength, trailing)
    }
}
