import FerryBSON
import FerrySDK
import FerryTestSupport
import Foundation
import Testing

@testable import FerryFake

/// libjpeg (libjpeg-dev) as the independent decoder: a ten-line C program compiled once.
enum LibJPEG {
    static let source = """
        #include <stdio.h>
        #include <stdlib.h>
        #include <jpeglib.h>
        int main(int argc, char **argv) {
            FILE *in = fopen(argv[1], "rb"), *out = fopen(argv[2], "wb");
            struct jpeg_decompress_struct d; struct jpeg_error_mgr e;
            d.err = jpeg_std_error(&e); jpeg_create_decompress(&d); jpeg_stdio_src(&d, in);
            jpeg_read_header(&d, TRUE); jpeg_start_decompress(&d);
            unsigned char *row = malloc(d.output_width * d.output_components);
            while (d.output_scanline < d.output_height) {
                jpeg_read_scanlines(&d, &row, 1); fwrite(row, 1, d.output_width * d.output_components, out);
            }
            jpeg_finish_decompress(&d);
            printf("%u %u %d %ld", d.output_width, d.output_height, d.output_components, e.num_warnings);
            return 0;
        }
        """

    /// Decodes with libjpeg; returns "width height components warnings" and the RGB bytes.
    static func decode(_ jpeg: [UInt8]) throws -> (header: String, rgb: [UInt8]) {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (program, input, output) = (
            directory.appendingPathComponent("djpeg"), directory.appendingPathComponent("in.jpg"),
            directory.appendingPathComponent("out.rgb")
        )
        try source.write(to: directory.appendingPathComponent("djpeg.c"), atomically: true, encoding: .utf8)
        let compiled = try run("/usr/bin/cc", ["-o", program.path, directory.appendingPathComponent("djpeg.c").path, "-ljpeg"])
        try #require(
            compiled.status == 0, "cannot build the libjpeg decoder (bash .ci/install-packages test installs libjpeg-dev and gcc): \(compiled.output)")
        try write(jpeg, to: input)
        let (status, text) = try run(program.path, [input.path, output.path])
        try #require(status == 0, "libjpeg failed: \(text)")
        return (text, try read(output))
    }

    static func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let result = try FerryProcess.run(arguments, executable: executable)
        return (result.status, result.stdout + result.stderr)
    }
}

/// Peak signal-to-noise ratio in dB between two 8-bit images.
func psnr(_ a: [UInt8], _ b: [UInt8]) -> Double {
    let squared = zip(a, b).reduce(0.0) { $0 + pow(Double($1.0) - Double($1.1), 2) }
    return 10 * log10(255 * 255 / (squared / Double(a.count)))
}

@Suite struct JPEGTests {
    @Test func hasTheBaselineJFIFStructure() {
        let scene = TestScene(width: 100, height: 60)
        let jpeg = JPEGEncoder.rgb(scene.color(at: 3), width: 100, height: 60, quality: 85)
        #expect(jpeg.prefix(4) == [0xFF, 0xD8, 0xFF, 0xE0])
        #expect(jpeg.suffix(2) == [0xFF, 0xD9])
        let sof = try! #require(jpeg.indices.first { jpeg[$0] == 0xFF && jpeg[$0 + 1] == 0xC0 })
        #expect(Array(jpeg[(sof + 5)..<(sof + 10)]) == [0, 60, 0, 100, 3])  // height, width, components
    }

    @Test func huffmanTablesCodeEverySymbolOnce() {
        let expected = Set([0x00, 0xF0] + (0..<16).flatMap { run in (1...10).map { run << 4 | $0 } })
        for table in [JPEGEncoder.Tables.acLuminance, JPEGEncoder.Tables.acChrominance] {
            #expect(Set(table.values.map(Int.init)) == expected)
            #expect(table.values.count == 162)
        }
    }

    @Test func libjpegDecodesItFaithfully() throws {
        // Odd sizes exercise the partial edge blocks. (At 9×17 the colour bars are one pixel wide:
        // at quality 50 libjpeg's own encoder manages only 23 dB there, as this one does.)
        for (width, height, quality) in [(320, 240, 85), (333, 201, 95), (320, 240, 50), (9, 17, 95)] {
            let pixels = TestScene(width: width, height: height).color(at: 1_700_000_123)
            let (header, decoded) = try LibJPEG.decode(JPEGEncoder.rgb(pixels, width: width, height: height, quality: quality))
            #expect(header == "\(width) \(height) 3 0")  // no warnings: a clean, standard stream
            #expect(decoded.count == pixels.count)
            let fidelity = psnr(pixels, decoded)
            #expect(fidelity > 30, "PSNR \(fidelity) dB at \(width)×\(height), quality \(quality)")
        }
    }
}
