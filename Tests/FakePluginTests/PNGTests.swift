import FerryBSON
import FerrySDK
import Foundation
import Testing

@testable import FerryFake

/// Decodes a PNG with Python's zlib (an independent inflater that also checks the Adler-32),
/// checking every chunk's CRC and undoing the row filters; writes the raw samples to argv[2] and
/// prints "width height bit_depth colour_type".
let pngDecoder = """
    import struct, sys, zlib
    data = open(sys.argv[1], 'rb').read()
    assert data[:8] == b'\\x89PNG\\r\\n\\x1a\\n', 'bad signature'
    pos, idat, types = 8, b'', []
    while pos < len(data):
        length, kind = struct.unpack('>I4s', data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        crc, = struct.unpack('>I', data[pos + 8 + length:pos + 12 + length])
        assert zlib.crc32(kind + body) == crc, 'CRC mismatch in ' + kind.decode()
        types.append(kind)
        if kind == b'IHDR':
            width, height, depth, colour, _, _, interlace = struct.unpack('>IIBBBBB', body)
        elif kind == b'IDAT':
            idat += body
        pos += 12 + length
    assert types[0] == b'IHDR' and types[-1] == b'IEND', types
    bpp = {(8, 2): 3, (16, 0): 2}[(depth, colour)]
    raw = zlib.decompress(idat)
    stride = width * bpp
    assert len(raw) == height * (stride + 1), 'inflated size'
    out, prev = bytearray(), bytearray(stride)
    for y in range(height):
        kind, row = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = row[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if kind == 1: row[i] = (row[i] + a) & 255
            elif kind == 2: row[i] = (row[i] + b) & 255
            elif kind == 3: row[i] = (row[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                row[i] = (row[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
            else: assert kind == 0, 'filter type %d' % kind
        out += row
        prev = row
    open(sys.argv[2], 'wb').write(out)
    print(width, height, depth, colour)
    """

/// Decodes `png` independently; returns the header line and the raw samples.
func decodePNG(_ png: [UInt8]) throws -> (header: String, samples: [UInt8]) {
    let directory = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    let input = directory.appendingPathComponent("image.png"), output = directory.appendingPathComponent("raw")
    try write(png, to: input)
    let (status, text) = try python(pngDecoder, [input.path, output.path])
    #expect(status == 0, "Python could not decode the PNG: \(text)")
    return (text.trimmingCharacters(in: .whitespacesAndNewlines), status == 0 ? try read(output) : [])
}

@Suite struct PNGTests {
    @Test func colourImageDecodesToTheScenePixels() throws {
        let scene = TestScene(width: 320, height: 240)
        let pixels = scene.color(at: 1_700_000_000)
        let (header, samples) = try decodePNG(PNGEncoder.rgb(pixels, width: 320, height: 240))
        #expect(header == "320 240 8 2")
        #expect(samples == pixels)
    }

    @Test func depthMapDecodesToTheSceneDepths() throws {
        let scene = TestScene(width: 64, height: 48)
        let depths = scene.depth(at: 12.5)
        let (header, samples) = try decodePNG(PNGEncoder.gray16(depths, width: 64, height: 48))
        #expect(header == "64 48 16 0")
        #expect(samples == depths.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] })
    }

    @Test func oddSizesAndNoiseStillRoundTrip() throws {
        // Pseudo-random pixels defeat the matcher and exercise every filter type.
        let pixels = (0..<(13 * 7 * 3)).map { UInt8(truncatingIfNeeded: Signal.mix(UInt64($0)) >> 40) }
        let (header, samples) = try decodePNG(PNGEncoder.rgb(pixels, width: 13, height: 7))
        #expect(header == "13 7 8 2")
        #expect(samples == pixels)
    }
}

@Suite struct DeflateTests {
    static let inflater = """
        import sys, zlib
        data = open(sys.argv[1], 'rb').read()
        sys.stdout.write(zlib.decompress(data).hex())
        """

    func inflate(_ stream: [UInt8]) throws -> [UInt8] {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("stream.z")
        try write(stream, to: file)
        let (status, hex) = try python(Self.inflater, [file.path])
        try #require(status == 0, "zlib refused the stream: \(hex)")
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            bytes.append(UInt8(hex[index..<next], radix: 16)!)
            index = next
        }
        return bytes
    }

    static func noise(_ count: Int, seed: UInt64) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: Signal.mix(UInt64($0) &+ seed) >> 32) }
    }

    static let inputs: [(String, [UInt8])] = {
        var inputs: [(String, [UInt8])] = []
        inputs.append(("empty", []))
        inputs.append(("one byte", [42]))
        inputs.append(("long run", [UInt8](repeating: 7, count: 100_000)))
        inputs.append(("text", Array(String(repeating: "the quick brown fox jumps over the lazy dog. ", count: 300).utf8)))
        inputs.append(("noise", noise(70_000, seed: 1)))
        // A 40 KiB random block twice: matches at distances near and beyond the 32 KiB window.
        let block = noise(40_000, seed: 2)
        inputs.append(("far repeats", block + block))
        inputs.append(("all byte values", (0..<4096).map { UInt8($0 % 256) }))
        return inputs
    }()

    // The name alone is the argument, so the test log stays readable.
    @Test(arguments: DeflateTests.inputs.map(\.0))
    func zlibStreamsInflateToTheirInput(_ name: String) throws {
        let input = try #require(Self.inputs.first { $0.0 == name }?.1)
        let stream = Zlib.compress(input)
        #expect(try inflate(stream) == input, "\(name) did not round-trip")
    }

    @Test func compressesRedundantData() {
        #expect(Zlib.compress([UInt8](repeating: 0, count: 100_000)).count < 1_000)
    }

    @Test func checksumsMatchPublishedVectors() {
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(Adler32.checksum(Array("Wikipedia".utf8)) == 0x11E6_0398)
        #expect(Adler32.checksum([]) == 1)
        // Long enough to need the modulo more than once.
        #expect(Adler32.checksum([UInt8](repeating: 255, count: 20_000)) == 0x9F51_D664)  // Python zlib.adler32
    }
}
