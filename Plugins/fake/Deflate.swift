/// DEFLATE (RFC 1951): LZ77 matching over a 32 KiB window with hash chains, coded with the fixed
/// Huffman code (one BTYPE=01 block). Much smaller than stored blocks on images and simple enough
/// to be obviously right; a dynamic-Huffman coder would gain a further 10–20 %.
enum Deflate {
    static let windowSize = 32_768
    static let minMatch = 3
    static let maxMatch = 258
    /// How many earlier positions with the same 3-byte hash are tried: speed against ratio.
    static let maxChain = 48
    static let hashBits = 15

    static let lengthBase: [Int] = [
        3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258,
    ]
    static let lengthExtra: [Int] = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]
    static let distanceBase: [Int] = [
        1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097,
        6145, 8193, 12289, 16385, 24577,
    ]
    static let distanceExtra: [Int] = [
        0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13,
    ]

    /// Raw DEFLATE data (no zlib or gzip wrapper).
    static func compress(_ data: [UInt8]) -> [UInt8] {
        var out = BitWriter()
        out.write(1, count: 1)  // BFINAL: this is the last block
        out.write(1, count: 2)  // BTYPE 01: fixed Huffman codes
        var head = [Int32](repeating: -1, count: 1 << hashBits)
        var previous = [Int32](repeating: -1, count: windowSize)
        data.withUnsafeBufferPointer { bytes in
            let count = bytes.count
            func hash(_ i: Int) -> Int {
                let key = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
                return Int((key &* 2_654_435_761) >> (32 - UInt32(hashBits)))
            }
            func insert(_ i: Int) {
                guard i + minMatch <= count else { return }
                let h = hash(i)
                previous[i & (windowSize - 1)] = head[h]
                head[h] = Int32(i)
            }
            var i = 0
            while i < count {
                var bestLength = 0, bestDistance = 0
                if i + minMatch <= count {
                    let limit = min(maxMatch, count - i)
                    var candidate = Int(head[hash(i)])
                    var chain = maxChain
                    while candidate >= 0, i - candidate <= windowSize, chain > 0 {
                        // Checking the byte that would extend the best match first rejects most candidates cheaply.
                        if bytes[candidate + bestLength] == bytes[i + bestLength] {
                            var length = 0
                            while length < limit, bytes[candidate + length] == bytes[i + length] { length += 1 }
                            if length > bestLength {
                                (bestLength, bestDistance) = (length, i - candidate)
                                if length == limit { break }
                            }
                        }
                        let next = Int(previous[candidate & (windowSize - 1)])
                        guard next < candidate else { break }  // a slot reused by a newer position: the chain ends
                        candidate = next
                        chain -= 1
                    }
                }
                if bestLength >= minMatch {
                    out.writeLength(bestLength)
                    out.writeDistance(bestDistance)
                    for position in i..<(i + bestLength) { insert(position) }
                    i += bestLength
                } else {
                    out.writeLiteral(Int(bytes[i]))
                    insert(i)
                    i += 1
                }
            }
        }
        out.writeLiteral(256)  // end of block
        return out.finish()
    }

    /// Bits go out least-significant first; Huffman codes, defined most-significant first, are
    /// reversed before writing (RFC 1951 §3.1.1).
    struct BitWriter {
        var bytes: [UInt8] = []
        var buffer: UInt64 = 0
        var count = 0

        mutating func write(_ value: Int, count bits: Int) {
            buffer |= UInt64(value) << UInt64(count)
            count += bits
            while count >= 8 {
                bytes.append(UInt8(truncatingIfNeeded: buffer))
                buffer >>= 8
                count -= 8
            }
        }

        mutating func writeCode(_ code: Int, length: Int) {
            var reversed = 0
            for bit in 0..<length where code & (1 << bit) != 0 { reversed |= 1 << (length - 1 - bit) }
            write(reversed, count: length)
        }

        /// The fixed literal/length code of RFC 1951 §3.2.6.
        mutating func writeLiteral(_ symbol: Int) {
            switch symbol {
            case 0...143: writeCode(0x30 + symbol, length: 8)
            case 144...255: writeCode(0x190 + symbol - 144, length: 9)
            case 256...279: writeCode(symbol - 256, length: 7)
            default: writeCode(0xC0 + symbol - 280, length: 8)
            }
        }

        mutating func writeLength(_ length: Int) {
            let index = Deflate.lengthBase.lastIndex { $0 <= length }!
            writeLiteral(257 + index)
            write(length - Deflate.lengthBase[index], count: Deflate.lengthExtra[index])
        }

        mutating func writeDistance(_ distance: Int) {
            let index = Deflate.distanceBase.lastIndex { $0 <= distance }!
            writeCode(index, length: 5)  // fixed distance codes are 5 bits
            write(distance - Deflate.distanceBase[index], count: Deflate.distanceExtra[index])
        }

        mutating func finish() -> [UInt8] {
            if count > 0 { bytes.append(UInt8(truncatingIfNeeded: buffer)) }
            buffer = 0
            count = 0
            return bytes
        }
    }
}

/// A zlib stream (RFC 1950): 2-byte header, DEFLATE data, Adler-32 of the input, big-endian.
enum Zlib {
    static func compress(_ data: [UInt8]) -> [UInt8] {
        // CMF 0x78: deflate with a 32 KiB window; FLG 0x01 makes the header a multiple of 31.
        var out: [UInt8] = [0x78, 0x01]
        out += Deflate.compress(data)
        let adler = Adler32.checksum(data)
        out += [UInt8(adler >> 24), UInt8(adler >> 16 & 0xFF), UInt8(adler >> 8 & 0xFF), UInt8(adler & 0xFF)]
        return out
    }
}
