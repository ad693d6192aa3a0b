import CFerryImageCheck

/// Decodes a camera's image enough to prove a viewer could show it, and reports its size.
/// JPEG: every scanline through libjpeg-turbo. PNG: signature, chunk CRCs, IHDR, and the IDAT
/// stream inflated to exactly the size IHDR implies.
package enum ImageCheck {
    package struct Decoded: Equatable, Sendable {
        package var mimeType: String
        package var width: Int
        package var height: Int
        /// Colour components per pixel (3 for YCbCr/RGB, 1 for greyscale); nil for PNG.
        package var components: Int?
    }

    package struct Failure: Error, CustomStringConvertible {
        package var description: String
    }

    package static func decode(_ bytes: [UInt8], mimeType: String) throws(Failure) -> Decoded {
        switch mimeType {
        case "image/jpeg": return try jpeg(bytes)
        case "image/png": return try png(bytes)
        default: throw Failure(description: "MIME type \"\(mimeType)\" is not an image type ferry hil can decode (image/jpeg, image/png)")
        }
    }

    static func jpeg(_ bytes: [UInt8]) throws(Failure) -> Decoded {
        var width: UInt32 = 0, height: UInt32 = 0, components: UInt32 = 0
        var error = [CChar](repeating: 0, count: 256)
        let status = bytes.withUnsafeBufferPointer { b in
            error.withUnsafeMutableBufferPointer {
                ferry_check_jpeg(b.baseAddress, b.count, &width, &height, &components, $0.baseAddress, $0.count)
            }
        }
        guard status == 0 else { throw Failure(description: "the JPEG (\(bytes.count) bytes) does not decode: \(text(error))") }
        return Decoded(mimeType: "image/jpeg", width: Int(width), height: Int(height), components: Int(components))
    }

    static func png(_ bytes: [UInt8]) throws(Failure) -> Decoded {
        let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        guard bytes.count > 8, Array(bytes[0..<8]) == signature else { throw Failure(description: "not a PNG: no PNG signature") }
        var offset = 8
        var header: (width: Int, height: Int, bitDepth: Int, colourType: Int, interlaced: Bool)?
        var data: [UInt8] = []
        var ended = false
        func be32(_ at: Int) -> Int { bytes[at..<at + 4].reduce(0) { $0 << 8 | Int($1) } }
        while offset + 12 <= bytes.count, !ended {
            let length = be32(offset)
            let type = String(decoding: bytes[offset + 4..<offset + 8], as: UTF8.self)
            guard length <= bytes.count - offset - 12 else { throw Failure(description: "PNG chunk \(type) runs past the end of the file") }
            let body = offset + 8..<offset + 8 + length
            guard CRC32.of(bytes[offset + 4..<body.upperBound]) == UInt32(be32(body.upperBound)) else {
                throw Failure(description: "PNG chunk \(type) has a bad CRC")
            }
            switch type {
            case "IHDR":
                guard length == 13 else { throw Failure(description: "PNG IHDR is \(length) bytes, not 13") }
                header = (be32(body.lowerBound), be32(body.lowerBound + 4), Int(bytes[body.lowerBound + 8]), Int(bytes[body.lowerBound + 9]), bytes[body.lowerBound + 12] != 0)
            case "IDAT": data += bytes[body]
            case "IEND": ended = true
            default: break
            }
            offset = body.upperBound + 4
        }
        guard let header else { throw Failure(description: "PNG has no IHDR chunk") }
        guard ended else { throw Failure(description: "PNG ends without an IEND chunk (truncated?)") }
        let channels: [Int: Int] = [0: 1, 2: 3, 3: 1, 4: 2, 6: 4]
        guard let perPixel = channels[header.colourType], header.width > 0, header.height > 0 else {
            throw Failure(description: "PNG IHDR is invalid (colour type \(header.colourType), \(header.width)x\(header.height))")
        }
        let rowBytes = (header.width * perPixel * header.bitDepth + 7) / 8
        // Interlaced images have seven passes with their own filter bytes; bound them loosely.
        let expected = header.height * (1 + rowBytes)
        let limit = header.interlaced ? expected * 2 : expected
        var inflated = 0
        var error = [CChar](repeating: 0, count: 256)
        let status = data.withUnsafeBufferPointer { d in
            error.withUnsafeMutableBufferPointer { ferry_check_zlib(d.baseAddress, d.count, limit, &inflated, $0.baseAddress, $0.count) }
        }
        guard status == 0 else { throw Failure(description: "PNG image data does not inflate: \(text(error))") }
        guard header.interlaced || inflated == expected else {
            throw Failure(description: "PNG image data holds \(inflated) bytes; \(header.width)x\(header.height) needs \(expected)")
        }
        return Decoded(mimeType: "image/png", width: header.width, height: header.height)
    }

    private static func text(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

enum CRC32 {
    static let table: [UInt32] = (0..<256).map { n in
        (0..<8).reduce(UInt32(n)) { c, _ in c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
    }
    static func of(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        ~bytes.reduce(~UInt32(0)) { table[Int(($0 ^ UInt32($1)) & 0xFF)] ^ ($0 >> 8) }
    }
}
