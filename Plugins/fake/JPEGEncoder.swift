#if canImport(Glibc)
    import Glibc
#endif

/// A baseline JPEG (JFIF) writer: YCbCr 4:4:4, 8×8 DCT, the example quantization tables of the JPEG
/// standard (ITU T.81 Annex K) scaled by quality as libjpeg does, and Annex K's Huffman tables.
/// Written here rather than linking libjpeg so the plugin needs nothing but libc.
enum JPEGEncoder {
    /// `rgb` holds width × height × 3 bytes, rows top to bottom. `quality` is 1–100.
    static func rgb(_ rgb: [UInt8], width: Int, height: Int, quality: Int) -> [UInt8] {
        precondition(rgb.count == width * height * 3, "RGB buffer size does not match \(width)×\(height)")
        precondition((1...65_535).contains(width) && (1...65_535).contains(height), "JPEG sides are 1–65535")
        let luma = scaled(Tables.luminanceQuantization, quality: quality)
        let chroma = scaled(Tables.chrominanceQuantization, quality: quality)

        var out: [UInt8] = [0xFF, 0xD8]  // SOI
        out += segment(0xE0, Array("JFIF".utf8) + [0, 1, 1, 0, 0, 1, 0, 1, 0, 0])  // APP0: v1.1, 1:1 aspect
        out += segment(0xDB, [0] + Tables.zigzag.map { UInt8(luma[$0]) } + [1] + Tables.zigzag.map { UInt8(chroma[$0]) })
        out += segment(
            0xC0,
            [8, UInt8(height >> 8), UInt8(height & 0xFF), UInt8(width >> 8), UInt8(width & 0xFF), 3]
                + [1, 0x11, 0, 2, 0x11, 1, 3, 0x11, 1])  // SOF0: Y, Cb, Cr, no subsampling
        var huffman: [UInt8] = []
        for (classAndID, table) in [
            (0x00, Tables.dcLuminance), (0x10, Tables.acLuminance), (0x01, Tables.dcChrominance), (0x11, Tables.acChrominance),
        ] {
            huffman += [UInt8(classAndID)] + table.bits + table.values
        }
        out += segment(0xC4, huffman)
        out += segment(0xDA, [3, 1, 0x00, 2, 0x11, 3, 0x11, 0, 63, 0])  // SOS: all three components

        var writer = EntropyWriter()
        var predictors = [0, 0, 0]
        var planes = [[Double]](repeating: [Double](repeating: 0, count: 64), count: 3)
        for blockY in stride(from: 0, to: height, by: 8) {
            for blockX in stride(from: 0, to: width, by: 8) {
                for y in 0..<8 {
                    for x in 0..<8 {
                        // Edge blocks repeat the last row and column, which costs the fewest bits.
                        let offset = (min(blockY + y, height - 1) * width + min(blockX + x, width - 1)) * 3
                        let (r, g, b) = (Double(rgb[offset]), Double(rgb[offset + 1]), Double(rgb[offset + 2]))
                        planes[0][y * 8 + x] = 0.299 * r + 0.587 * g + 0.114 * b - 128
                        planes[1][y * 8 + x] = -0.168_736 * r - 0.331_264 * g + 0.5 * b
                        planes[2][y * 8 + x] = 0.5 * r - 0.418_688 * g - 0.081_312 * b
                    }
                }
                writer.block(planes[0], quantization: luma, dc: &predictors[0], Tables.dcLuminance, Tables.acLuminance)
                writer.block(planes[1], quantization: chroma, dc: &predictors[1], Tables.dcChrominance, Tables.acChrominance)
                writer.block(planes[2], quantization: chroma, dc: &predictors[2], Tables.dcChrominance, Tables.acChrominance)
            }
        }
        out += writer.finish()
        out += [0xFF, 0xD9]  // EOI
        return out
    }

    /// libjpeg's quality scaling of a base table.
    static func scaled(_ base: [Int], quality: Int) -> [Int] {
        let q = min(100, max(1, quality))
        let scale = q < 50 ? 5000 / q : 200 - 2 * q
        return base.map { min(255, max(1, ($0 * scale + 50) / 100)) }
    }

    static func segment(_ marker: UInt8, _ payload: [UInt8]) -> [UInt8] {
        let length = payload.count + 2
        return [0xFF, marker, UInt8(length >> 8), UInt8(length & 0xFF)] + payload
    }

    /// cos table of the orthonormal 8-point DCT-II: row u, column x.
    static let dctBasis: [Double] = (0..<64).map { index in
        let (u, x) = (index / 8, index % 8)
        let scale = u == 0 ? (1.0 / 8).squareRoot() : (2.0 / 8).squareRoot()
        return scale * cos(Double(2 * x + 1) * Double(u) * .pi / 16)
    }

    /// Huffman-codes blocks into the scan, most significant bit first, with 0xFF byte stuffing.
    struct EntropyWriter {
        var bytes: [UInt8] = []
        var buffer = 0
        var count = 0

        mutating func write(_ bits: Int, _ length: Int) {
            buffer = buffer << length | (bits & ((1 << length) - 1))
            count += length
            while count >= 8 {
                let byte = UInt8((buffer >> (count - 8)) & 0xFF)
                bytes.append(byte)
                if byte == 0xFF { bytes.append(0) }  // a 0xFF in the scan must not look like a marker
                count -= 8
            }
            buffer &= (1 << count) - 1
        }

        mutating func write(symbol: Int, _ table: HuffmanTable) {
            write(Int(table.codes[symbol]), Int(table.lengths[symbol]))
        }

        /// The magnitude category (bit length) and the value's bits, as T.81 F.1.2 codes them.
        static func category(_ value: Int) -> (size: Int, bits: Int) {
            let magnitude = abs(value)
            let size = magnitude == 0 ? 0 : Int.bitWidth - magnitude.leadingZeroBitCount
            return (size, value >= 0 ? value : value + (1 << size) - 1)
        }

        mutating func block(
            _ samples: [Double], quantization: [Int], dc: inout Int, _ dcTable: HuffmanTable, _ acTable: HuffmanTable
        ) {
            let basis = JPEGEncoder.dctBasis
            var rows = [Double](repeating: 0, count: 64)
            for y in 0..<8 {
                for u in 0..<8 {
                    var sum = 0.0
                    for x in 0..<8 { sum += samples[y * 8 + x] * basis[u * 8 + x] }
                    rows[y * 8 + u] = sum
                }
            }
            var quantized = [Int](repeating: 0, count: 64)
            for v in 0..<8 {
                for u in 0..<8 {
                    var sum = 0.0
                    for y in 0..<8 { sum += rows[y * 8 + u] * basis[v * 8 + y] }
                    quantized[v * 8 + u] = Int((sum / Double(quantization[v * 8 + u])).rounded())
                }
            }
            let coefficients = Tables.zigzag.map { quantized[$0] }

            let difference = Self.category(coefficients[0] - dc)
            dc = coefficients[0]
            write(symbol: difference.size, dcTable)
            if difference.size > 0 { write(difference.bits, difference.size) }

            var run = 0
            for k in 1..<64 {
                guard coefficients[k] != 0 else {
                    run += 1
                    continue
                }
                while run > 15 {
                    write(symbol: 0xF0, acTable)  // ZRL: sixteen zeros
                    run -= 16
                }
                let (size, bits) = Self.category(coefficients[k])
                write(symbol: run << 4 | size, acTable)
                write(bits, size)
                run = 0
            }
            if run > 0 { write(symbol: 0x00, acTable) }  // EOB
        }

        mutating func finish() -> [UInt8] {
            if count > 0 { write((1 << (8 - count)) - 1, 8 - count) }  // pad with one bits (T.81 F.1.2.3)
            return bytes
        }
    }

    /// A canonical Huffman table from its DHT form: code counts per length 1–16, then the symbols.
    struct HuffmanTable: Sendable {
        let bits: [UInt8]
        let values: [UInt8]
        let codes: [UInt16]
        let lengths: [UInt8]

        init(bits: [UInt8], values: [UInt8]) {
            precondition(bits.count == 16 && bits.reduce(0, { $0 + Int($1) }) == values.count, "malformed Huffman table")
            self.bits = bits
            self.values = values
            var codes = [UInt16](repeating: 0, count: 256)
            var lengths = [UInt8](repeating: 0, count: 256)
            var code = 0
            var k = 0
            for length in 1...16 {
                for _ in 0..<bits[length - 1] {
                    codes[Int(values[k])] = UInt16(code)
                    lengths[Int(values[k])] = UInt8(length)
                    code += 1
                    k += 1
                }
                code <<= 1
            }
            self.codes = codes
            self.lengths = lengths
        }
    }
}
