import CZlib
import Foundation

/// Reads a gzip file through zlib, refusing a file that is not gzip (zlib would pass it through).
final class GzipReader {
    private let file: gzFile
    let path: String
    private var checkedFormat = false

    init(path: String) throws(RegistryError) {
        guard let file = gzopen(path, "rb") else {
            throw RegistryError(.install, "cannot open the archive \(path): \(String(cString: strerror(errno)))")
        }
        self.file = file
        self.path = path
        gzbuffer(file, 128 * 1024)
    }

    deinit { gzclose(file) }

    /// Fills `buffer` completely unless the stream ends first; returns the bytes read.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws(RegistryError) -> Int {
        var total = 0
        while total < buffer.count {
            let count = gzread(file, buffer.baseAddress! + total, UInt32(min(buffer.count - total, 1 << 20)))
            if count < 0 {
                var code: Int32 = 0
                let message = gzerror(file, &code).map { String(cString: $0) } ?? "unknown error"
                throw RegistryError(.refused, "\(path): the gzip stream is damaged (\(message)); the archive is not usable")
            }
            if !checkedFormat {
                checkedFormat = true
                if gzdirect(file) != 0 {
                    throw RegistryError(.refused, "\(path): not a gzip file; a module archive is a .tar.gz (`ferry module build` makes one)")
                }
            }
            if count == 0 { break }
            total += Int(count)
        }
        return total
    }
}

/// Writes a gzip file at the best compression; `finish` reports whether every byte reached it.
final class GzipWriter {
    private var file: gzFile?
    let path: String

    init(path: String) throws(RegistryError) {
        guard let file = gzopen(path, "wb9") else {
            throw RegistryError(.invalid, "cannot create \(path): \(String(cString: strerror(errno)))")
        }
        self.file = file
        self.path = path
    }

    deinit { if let file { gzclose(file) } }

    func write(_ bytes: UnsafeRawBufferPointer) throws(RegistryError) {
        guard let file, bytes.count > 0 else { return }
        if gzwrite(file, bytes.baseAddress, UInt32(bytes.count)) != Int32(bytes.count) {
            throw RegistryError(.invalid, "cannot write \(path): \(String(cString: strerror(errno)))")
        }
    }

    func finish() throws(RegistryError) {
        guard let file else { return }
        self.file = nil
        if gzclose(file) != Z_OK { throw RegistryError(.invalid, "cannot finish \(path): \(String(cString: strerror(errno)))") }
    }
}
