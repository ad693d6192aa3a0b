import FerryHIL
import FerryWebcamDriver
import Testing

@Suite struct YUYVToJPEGTests {
    /// A YUYV frame of vertical colour bars (each bar one Y/U/V triple), `padding` bytes past each row.
    static func bars(width: Int, height: Int, padding: Int = 0) -> [UInt8] {
        let colours: [(y: UInt8, u: UInt8, v: UInt8)] = [(235, 128, 128), (210, 16, 146), (170, 166, 16), (41, 240, 110)]
        var frame: [UInt8] = []
        for _ in 0..<height {
            for x in stride(from: 0, to: width, by: 2) {
                let c = colours[(x * colours.count) / width]
                frame += [c.y, c.u, c.y, c.v]
            }
            frame += [UInt8](repeating: 0, count: padding)
        }
        return frame
    }

    @Test(arguments: [(640, 480), (320, 240), (2, 1), (1280, 720)])
    func decodesToTheFrameSize(width: Int, height: Int) throws {
        let frame = Self.bars(width: width, height: height)
        let jpeg = try frame.withUnsafeBytes {
            try JPEG.encodeYUYV($0, width: width, height: height, bytesPerLine: width * 2, quality: 85)
        }
        #expect(jpeg.prefix(2) == [0xFF, 0xD8])
        #expect(jpeg.suffix(2) == [0xFF, 0xD9])
        let decoded = try ImageCheck.decode(jpeg, mimeType: "image/jpeg")
        #expect(decoded.width == width)
        #expect(decoded.height == height)
        #expect(decoded.components == 3)
    }

    @Test func honoursTheRowStride() throws {
        // Drivers may pad rows (bytesperline > width * 2); the padding must not shear the image.
        let frame = Self.bars(width: 64, height: 8, padding: 32)
        let jpeg = try frame.withUnsafeBytes {
            try JPEG.encodeYUYV($0, width: 64, height: 8, bytesPerLine: 160, quality: 90)
        }
        let decoded = try ImageCheck.decode(jpeg, mimeType: "image/jpeg")
        #expect(decoded.width == 64 && decoded.height == 8)
    }

    @Test func refusesAFrameTooShortForItsSize() {
        let frame = [UInt8](repeating: 128, count: 100)
        #expect(throws: JPEG.Failure.self) {
            try frame.withUnsafeBytes { try JPEG.encodeYUYV($0, width: 640, height: 480, bytesPerLine: 1280, quality: 85) }
        }
    }

    @Test func decodingRejectsDamagedJPEG() throws {
        let frame = Self.bars(width: 64, height: 64)
        var jpeg = try frame.withUnsafeBytes {
            try JPEG.encodeYUYV($0, width: 64, height: 64, bytesPerLine: 128, quality: 85)
        }
        jpeg.removeLast(jpeg.count / 2)
        #expect(throws: ImageCheck.Failure.self) { try ImageCheck.decode(jpeg, mimeType: "image/jpeg") }
        #expect(throws: ImageCheck.Failure.self) { try ImageCheck.decode([0x00, 0x01, 0x02], mimeType: "image/jpeg") }
    }
}
