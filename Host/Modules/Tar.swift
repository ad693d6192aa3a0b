import FerrySystem
import Foundation

/// One entry of a tar stream, as the archive states it (nothing checked yet).
struct TarHeaderEntry {
    enum Kind: Equatable {
        case file
        case directory
        case symlink(target: String)
        case hardLink(target: String)
        /// Devices, FIFOs, sparse files…: never accepted in a module.
        case other(typeflag: UInt8)
    }
    var path: String
    var kind: Kind
    var mode: UInt32
    var size: Int64
}

/// Reads ustar, pax (`x` headers: path, linkpath, size) and GNU long names (`L`, `K`), the forms
/// GNU tar, bsdtar, Python's tarfile and `ferry module build` write. Validation of what entries
/// may do is `ModuleArchive`'s; this only decodes, refusing a damaged header.
final class TarReader {
    private let input: GzipReader
    private var remaining: Int64 = 0
    private var padding = 0
    private var header = [UInt8](repeating: 0, count: 512)

    init(_ input: GzipReader) { self.input = input }

    var source: String { input.path }

    func next() throws(RegistryError) -> TarHeaderEntry? {
        try skipRemaining()
        var longName: String?
        var longLink: String?
        var pax: [String: String] = [:]
        while true {
            guard try readBlock() else {
                throw RegistryError(.refused, "\(source): the tar stream ends without its end marker; the archive is truncated")
            }
            if header.allSatisfy({ $0 == 0 }) { return nil }
            try checkChecksum()
            let typeflag = header[156]
            let size = try number(at: 124, length: 12, field: "size")
            switch typeflag {
            case UInt8(ascii: "x"):
                pax.merge(try paxRecords(try readPayload(size)), uniquingKeysWith: { $1 })
                continue
            case UInt8(ascii: "g"):
                _ = try readPayload(size)  // global defaults (comments, mtimes): nothing a module needs
                continue
            case UInt8(ascii: "L"):
                longName = Self.cString(try readPayload(size)[...])
                continue
            case UInt8(ascii: "K"):
                longLink = Self.cString(try readPayload(size)[...])
                continue
            default:
                break
            }
            var path = Self.cString(header[0..<100])
            let isUstar = header[257..<262].elementsEqual(Array("ustar".utf8))
            if isUstar {
                let prefix = Self.cString(header[345..<500])
                if !prefix.isEmpty { path = prefix + "/" + path }
            }
            path = pax["path"] ?? longName ?? path
            let link = pax["linkpath"] ?? longLink ?? Self.cString(header[157..<257])
            let entrySize: Int64
            if let paxSize = pax["size"] {
                guard let value = Int64(paxSize), value >= 0 else {
                    throw RegistryError(.refused, "\(source): entry \(path) has a bad pax size \"\(paxSize)\"; the archive is damaged")
                }
                entrySize = value
            } else {
                entrySize = size
            }
            let mode = UInt32(truncatingIfNeeded: try number(at: 100, length: 8, field: "mode"))
            let kind: TarHeaderEntry.Kind =
                switch typeflag {
                case 0, UInt8(ascii: "0"), UInt8(ascii: "7"): path.hasSuffix("/") ? .directory : .file
                case UInt8(ascii: "5"): .directory
                case UInt8(ascii: "2"): .symlink(target: link)
                case UInt8(ascii: "1"): .hardLink(target: link)
                default: .other(typeflag: typeflag)
                }
            // Only regular files carry data; the rest of the stream is skipped past otherwise.
            remaining = kind == .file || kind.isOther ? entrySize : 0
            padding = remaining == 0 ? 0 : Int((512 - remaining % 512) % 512)
            return TarHeaderEntry(path: path, kind: kind, mode: mode, size: kind == .file ? entrySize : 0)
        }
    }

    /// After the end marker: reads the rest of the stream (tar's zero padding) so zlib checks
    /// the gzip trailer's CRC and length too.
    func finish() throws(RegistryError) {
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        var trailing = 0
        while true {
            let got = try Bytes.mutating(&chunk) { buffer throws(RegistryError) in try input.read(into: buffer) }
            if got == 0 { return }
            trailing += got
            guard trailing <= 1 << 20, chunk[0..<got].allSatisfy({ $0 == 0 }) else {
                throw RegistryError(.refused, "\(source): data after the end of the tar stream; the archive is damaged")
            }
        }
    }

    /// Streams the current file's bytes to `body`, in chunks.
    func readContents(_ body: (UnsafeRawBufferPointer) throws(RegistryError) -> Void) throws(RegistryError) {
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while remaining > 0 {
            let want = Int(min(Int64(chunk.count), remaining))
            let got = try Bytes.mutating(&chunk) { buffer throws(RegistryError) -> Int in
                try input.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<want]))
            }
            guard got == want else { throw RegistryError(.refused, "\(source): the archive ends inside a file; it is truncated") }
            remaining -= Int64(got)
            try Bytes.reading(chunk) { buffer throws(RegistryError) in try body(UnsafeRawBufferPointer(rebasing: buffer[0..<got])) }
        }
        try skipPadding()
    }

    private func skipRemaining() throws(RegistryError) {
        if remaining > 0 { try readContents { _ in } } else { try skipPadding() }
    }

    private func skipPadding() throws(RegistryError) {
        guard padding > 0 else { return }
        var pad = [UInt8](repeating: 0, count: padding)
        let got = try Bytes.mutating(&pad) { buffer throws(RegistryError) in try input.read(into: buffer) }
        guard got == padding else { throw RegistryError(.refused, "\(source): the archive is truncated") }
        padding = 0
    }

    private func readBlock() throws(RegistryError) -> Bool {
        let got = try Bytes.mutating(&header) { buffer throws(RegistryError) in try input.read(into: buffer) }
        if got == 0 { return false }
        guard got == 512 else { throw RegistryError(.refused, "\(source): the archive is truncated inside a header") }
        return true
    }

    /// A pax or GNU long-name payload: small by nature, so held whole (and capped).
    private func readPayload(_ size: Int64) throws(RegistryError) -> [UInt8] {
        guard size <= 1 << 20 else { throw RegistryError(.refused, "\(source): an extended header of \(size) bytes; the archive is damaged") }
        var payload = [UInt8](repeating: 0, count: Int(size))
        let got = try Bytes.mutating(&payload) { buffer throws(RegistryError) in try input.read(into: buffer) }
        guard got == Int(size) else { throw RegistryError(.refused, "\(source): the archive is truncated") }
        padding = Int((512 - size % 512) % 512)
        try skipPadding()
        return payload
    }

    private func paxRecords(_ bytes: [UInt8]) throws(RegistryError) -> [String: String] {
        // Each record: "<length> <key>=<value>\n", the length counting the whole record.
        var records: [String: String] = [:]
        var index = 0
        while index < bytes.count {
            guard let space = bytes[index...].firstIndex(of: UInt8(ascii: " ")),
                let length = Int(String(decoding: bytes[index..<space], as: UTF8.self)), length > 0, index + length <= bytes.count,
                bytes[index + length - 1] == UInt8(ascii: "\n"),
                let equals = bytes[(space + 1)..<(index + length)].firstIndex(of: UInt8(ascii: "="))
            else { throw RegistryError(.refused, "\(source): a malformed pax header; the archive is damaged") }
            let key = String(decoding: bytes[(space + 1)..<equals], as: UTF8.self)
            records[key] = String(decoding: bytes[(equals + 1)..<(index + length - 1)], as: UTF8.self)
            index += length
        }
        return records
    }

    private func checkChecksum() throws(RegistryError) {
        let stored = try number(at: 148, length: 8, field: "checksum")
        var sum: Int64 = 0
        for (offset, byte) in header.enumerated() { sum += (148..<156).contains(offset) ? 32 : Int64(byte) }
        guard sum == stored else {
            throw RegistryError(.refused, "\(source): a tar header's checksum does not match; the archive is damaged")
        }
    }

    /// Octal text, or base-256 (high bit set) for large values, as GNU tar writes them.
    private func number(at offset: Int, length: Int, field: String) throws(RegistryError) -> Int64 {
        let bytes = header[offset..<(offset + length)]
        if let first = bytes.first, first & 0x80 != 0 {
            var value: Int64 = Int64(first & 0x7F)
            for byte in bytes.dropFirst() {
                guard value < (Int64.max >> 8) else { throw RegistryError(.refused, "\(source): a tar \(field) out of range") }
                value = value << 8 | Int64(byte)
            }
            return value
        }
        let text = String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self).trimmedWhitespace
        if text.isEmpty { return 0 }
        guard let value = Int64(text, radix: 8), value >= 0 else {
            throw RegistryError(.refused, "\(source): a tar header's \(field) \"\(text)\" is not octal; the archive is damaged")
        }
        return value
    }

    static func cString(_ bytes: ArraySlice<UInt8>) -> String {
        String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
    }
}

extension TarHeaderEntry.Kind {
    var isOther: Bool {
        if case .other = self { return true }
        return false
    }
}

/// Writes a ustar stream; names longer than ustar holds go in pax `path` records. Owner, group
/// and times are zero, so the same files always make the same archive.
final class TarWriter {
    private let output: GzipWriter

    init(_ output: GzipWriter) { self.output = output }

    func addDirectory(_ path: String) throws(RegistryError) {
        try writeHeader(path: path.hasSuffix("/") ? path : path + "/", typeflag: UInt8(ascii: "5"), mode: 0o755, size: 0)
    }

    func addFile(_ path: String, mode: UInt32, contentsOf source: String) throws(RegistryError) {
        let size = Files.size(source) ?? 0
        try writeHeader(path: path, typeflag: UInt8(ascii: "0"), mode: mode, size: size)
        var written: Int64 = 0
        let opened = try Files.readChunks(source) { (chunk) throws(RegistryError) in
            let piece = chunk.prefix(Int(size - written))
            try Bytes.reading(Array(piece)) { bytes throws(RegistryError) in try output.write(bytes) }
            written += Int64(piece.count)
        }
        guard opened else { throw RegistryError(.invalid, "cannot read \(source): \(String(cString: strerror(errno)))") }
        guard written == size else { throw RegistryError(.invalid, "\(source) changed while it was being packed; pack again") }
        try pad(size)
    }

    func finish() throws(RegistryError) {
        let end = [UInt8](repeating: 0, count: 1024)
        try Bytes.reading(end) { bytes throws(RegistryError) in try output.write(bytes) }
        try output.finish()
    }

    private func writeHeader(path: String, typeflag: UInt8, mode: UInt32, size: Int64) throws(RegistryError) {
        let name = Array(path.utf8)
        if name.count > 100 {
            let record = Self.paxRecord(key: "path", value: path)
            try writeHeader(name: Array("PaxHeaders/entry".utf8), typeflag: UInt8(ascii: "x"), mode: 0o644, size: Int64(record.count))
            try Bytes.reading(record) { bytes throws(RegistryError) in try output.write(bytes) }
            try pad(Int64(record.count))
        }
        try writeHeader(name: Array(name.prefix(100)), typeflag: typeflag, mode: mode, size: size)
    }

    private func writeHeader(name: [UInt8], typeflag: UInt8, mode: UInt32, size: Int64) throws(RegistryError) {
        var header = [UInt8](repeating: 0, count: 512)
        func put(_ bytes: [UInt8], at offset: Int) { for (i, byte) in bytes.enumerated() { header[offset + i] = byte } }
        func octal(_ value: Int64, at offset: Int, length: Int) {
            let text = String(value, radix: 8)
            put(Array((String(repeating: "0", count: max(0, length - 1 - text.count)) + text).utf8), at: offset)
        }
        put(name, at: 0)
        octal(Int64(mode), at: 100, length: 8)
        octal(0, at: 108, length: 8)
        octal(0, at: 116, length: 8)
        octal(size, at: 124, length: 12)
        octal(0, at: 136, length: 12)
        header[156] = typeflag
        put(Array("ustar\u{0}00".utf8), at: 257)
        put(Array(repeating: 32, count: 8), at: 148)
        let sum = header.reduce(0) { $0 + Int64($1) }
        octal(sum, at: 148, length: 7)
        header[154] = 0
        header[155] = 32
        try Bytes.reading(header) { bytes throws(RegistryError) in try output.write(bytes) }
    }

    private func pad(_ size: Int64) throws(RegistryError) {
        let count = Int((512 - size % 512) % 512)
        guard count > 0 else { return }
        let zeros = [UInt8](repeating: 0, count: count)
        try Bytes.reading(zeros) { bytes throws(RegistryError) in try output.write(bytes) }
    }

    static func paxRecord(key: String, value: String) -> [UInt8] {
        // The length prefix counts itself, so find the length that is stable.
        let body = " \(key)=\(value)\n"
        var length = body.utf8.count + 1
        while String(length).count + body.utf8.count != length { length = String(length).count + body.utf8.count }
        return Array("\(length)\(body)".utf8)
    }
}

/// `withUnsafe…Bytes` for closures with typed throws (the standard library's rethrow `any Error`).
enum Bytes {
    static func mutating<R>(_ array: inout [UInt8], _ body: (UnsafeMutableRawBufferPointer) throws(RegistryError) -> R) throws(RegistryError) -> R {
        let result: Result<R, RegistryError> = array.withUnsafeMutableBytes { buffer in Result { () throws(RegistryError) in try body(buffer) } }
        return try result.get()
    }

    static func reading<R>(_ array: [UInt8], _ body: (UnsafeRawBufferPointer) throws(RegistryError) -> R) throws(RegistryError) -> R {
        let result: Result<R, RegistryError> = array.withUnsafeBytes { buffer in Result { () throws(RegistryError) in try body(buffer) } }
        return try result.get()
    }
}
