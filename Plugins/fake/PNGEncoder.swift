/// A PNG writer: IHDR, one IDAT (zlib, each row filtered with the adaptive heuristic of the PNG
/// spec: the filter whose output has the smallest sum of absolute values), IEND.
enum PNGEncoder {
    static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    /// 8-bit RGB (colour type 2); `rgb` holds width × height × 3 bytes, rows top to bottom.
    static func rgb(_ rgb: [UInt8], width: Int, height: Int) -> [UInt8] {
        precondition(rgb.count == width * height * 3, "RGB buffer size does not match \(width)×\(height)")
        return encode(rows: rgb, width: width, height: height, bytesPerPixel: 3, bitDepth: 8, colorType: 2)
    }

    /// 16-bit greyscale (colour type 0), e.g. a depth map in millimetres; samples go big-endian.
    static func gray16(_ samples: [UInt16], width: Int, height: Int) -> [UInt8] {
        precondition(samples.count == width * height, "sample count does not match \(width)×\(height)")
        var bytes = [UInt8]()
        bytes.reserveCapacity(samples.count * 2)
        for sample in samples { bytes += [UInt8(sample >> 8), UInt8(sample & 0xFF)] }
        return encode(rows: bytes, width: width, height: height, bytesPerPixel: 2, bitDepth: 16, colorType: 0)
    }

    private static func encode(
        rows: [UInt8], width: Int, height: Int, bytesPerPixel: Int, bitDepth: UInt8, colorType: UInt8
    ) -> [UInt8] {
        var header = bigEndian(UInt32(width)) + bigEndian(UInt32(height))
        header += [bitDepth, colorType, 0, 0, 0]  // compression 0, filter method 0, no interlace
        var png = signature
        png += chunk("IHDR", header)
        png += chunk("IDAT", Zlib.compress(filter(rows, stride: width * bytesPerPixel, bytesPerPixel: bytesPerPixel)))
        png += chunk("IEND", [])
        return png
    }

    static func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let typeBytes = Array(type.utf8)
        return bigEndian(UInt32(data.count)) + typeBytes + data + bigEndian(CRC32.checksum(typeBytes + data))
    }

    static func bigEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
    }

    /// Prefixes every row with its filter type byte and filters it (PNG spec §9).
    static func filter(_ image: [UInt8], stride: Int, bytesPerPixel bpp: Int) -> [UInt8] {
        guard stride > 0 else { return [] }
        let rowCount = image.count / stride
        var out = [UInt8]()
        out.reserveCapacity(image.count + rowCount)
        var candidate = [UInt8](repeating: 0, count: stride)
        var best = [UInt8](repeating: 0, count: stride)
        for row in 0..<rowCount {
            let start = row * stride
            var bestType: UInt8 = 0
            var bestCost = Int.max
            for type: UInt8 in 0...4 {
                var cost = 0
                for i in 0..<stride {
                    let x = image[start + i]
                    let a = i >= bpp ? image[start + i - bpp] : 0
                    let b = row > 0 ? image[start - stride + i] : 0
                    let c = i >= bpp && row > 0 ? image[start - stride + i - bpp] : 0
                    let predicted: UInt8
                    switch type {
                    case 0: predicted = 0
                    case 1: predicted = a
                    case 2: predicted = b
                    case 3: predicted = UInt8((Int(a) + Int(b)) / 2)
                    default: predicted = paeth(a, b, c)
                    }
                    let value = x &- predicted
                    candidate[i] = value
                    cost += abs(Int(Int8(bitPattern: value)))
                }
                if cost < bestCost {
                    (bestCost, bestType) = (cost, type)
                    swap(&best, &candidate)
                }
            }
            out.append(bestType)
            out += best
        }
        return out
    }

    static func paeth(_ a: UInt8, _ b: UInt8, _ c: UInt8) -> UInt8 {
        let p = Int(a) + Int(b) - Int(c)
        let (pa, pb, pc) = (abs(p - Int(a)), abs(p - Int(b)), abs(p - Int(c)))
        if pa <= pb && pa <= pc { return a }
        return pb <= pc ? b : c
    }
}
