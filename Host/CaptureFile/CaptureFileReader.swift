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

package enum CaptureFileReader {
    /// Reads a capture file. `strict` refuses a file whose tail is not a whole record; otherwise
    /// the tail is reported in `trailingBytes` (recovery truncates it).
    package static func read(path: String, strict: Bool = true) throws(CaptureFileError) -> CaptureFileContents {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CaptureFileError(path: path, offset: 0, message: "cannot read the file (missing or unreadable)")
        }
        return try parse(data, path: path, strict: strict)
    }

    package static func parse(_ data: Data, path: String, strict: Bool) throws(CaptureFileError) -> CaptureFileContents {
        // Data.withUnsafeBytes rethrows untyped errors; carry ours out in a Result.
        try data.withUnsafeBytes { bytes in Result { () throws(CaptureFileError) in try parse(bytes, path: path, strict: strict) } }.get()
    }

    static func parse(_ bytes: UnsafeRawBufferPointer, path: String, strict: Bool) throws(CaptureFileError) -> CaptureFileContents {
        do {
            var offset = 0
            func nextMessage() -> UnsafeRawBufferPointer? {
                guard let (length, prefix) = Varint.decode(bytes, at: offset), length <= UInt64(bytes.count - offset - prefix) else {
                    return nil
                }
                let start = offset + prefix
                offset = start + Int(length)
                return UnsafeRawBufferPointer(rebasing: bytes[start..<offset])
            }
            guard let header = nextMessage() else {
                throw CaptureFileError(path: path, offset: 0, message: "no complete metadata header; the file was cut short before its first record")
            }
            let metadata: DataCaptureMetadata
            do {
                metadata = try DataCaptureMetadata(serializedBytes: Array(header))
            } catch {
                throw CaptureFileError(path: path, offset: 0, message: "the metadata header does not decode (\(error)); this is not a Viam capture file")
            }
            var records: [SensorData] = []
            var validLength = offset
            while offset < bytes.count {
                let recordStart = offset
                guard let body = nextMessage() else { break }
                do {
                    records.append(try SensorData(serializedBytes: Array(body)))
                } catch {
                    throw CaptureFileError(path: path, offset: recordStart, message: "record \(records.count) does not decode: \(error)")
                }
                validLength = offset
            }
            let trailing = bytes.count - validLength
            if strict, trailing > 0 {
                throw CaptureFileError(
                    path: path, offset: validLength,
                    message: "\(trailing) bytes after the last whole record (a write cut short); `ferry run` recovers such files at start-up")
            }
            return CaptureFileContents(metadata: metadata, records: records, validLength: validLength, trailingBytes: trailing)
        }
    }
}
