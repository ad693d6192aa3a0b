import FerryBSON
import FerrySDK
import Foundation
import Testing

@testable import FerryFake

@Suite struct CameraTests {
    @Test func readImageIsAPNGOfTheSceneByDefault() throws {
        let clock = ManualClock()
        let camera = try FakeCamera(config: config(.camera), clock: clock.read)
        let payloads = try binary(camera.capture(method: "ReadImage", parameters: [:]))
        #expect(payloads.count == 1)
        #expect(payloads.first?.mimeType == "image/png")
        let (header, samples) = try decodePNG(payloads.first?.bytes ?? [])
        #expect(header == "320 240 8 2")
        #expect(samples == TestScene(width: 320, height: 240).color(at: clock.read()))
    }

    @Test func theImageMovesOverTime() throws {
        let clock = ManualClock()
        let camera = try FakeCamera(config: config(.camera, ["width": 64, "height": 48]), clock: clock.read)
        let first = try camera.image(mimeType: nil).bytes
        #expect(try camera.image(mimeType: nil).bytes == first)  // same time, same picture
        clock.advance(0.5)
        #expect(try camera.image(mimeType: nil).bytes != first)
    }

    @Test func readImageHonoursTheRequestedType() throws {
        let camera = try FakeCamera(config: config(.camera, ["width": 32, "height": 24]), clock: { 100 })
        let jpeg = try binary(camera.capture(method: "ReadImage", parameters: ["mime_type": "image/jpeg"]))
        #expect(jpeg.first?.mimeType == "image/jpeg")
        #expect(jpeg.first?.bytes.prefix(2) == [0xFF, 0xD8])
        #expect(try camera.image(mimeType: "image/png+lazy").mimeType == "image/png")
        expectInvalid("\"image/gif\"", "image/png, image/jpeg") { try camera.image(mimeType: "image/gif") }
    }

    @Test func getImagesGivesColourAndAMatchingDepthMap() throws {
        let clock = ManualClock()
        let camera = try FakeCamera(config: config(.camera, ["width": 80, "height": 60, "mime_type": "image/jpeg"]), clock: clock.read)
        let payloads = try binary(camera.capture(method: "GetImages", parameters: [:]))
        #expect(payloads.map(\.mimeType) == ["image/jpeg", "image/png"])
        let (header, samples) = try decodePNG(payloads[1].bytes)
        #expect(header == "80 60 16 0")
        let depths = stride(from: 0, to: samples.count, by: 2).map { UInt16(samples[$0]) << 8 | UInt16(samples[$0 + 1]) }
        #expect(depths == TestScene(width: 80, height: 60).depth(at: clock.read()))
        // Millimetres a camera would plausibly see: the ball in front of a wall 1.8–2.5 m away.
        #expect(depths.allSatisfy { (700...2500).contains($0) })
        #expect(depths.min()! < 1800)
    }

    @Test func pointCloudIsAValidPCD() throws {
        let camera = try FakeCamera(config: config(.camera), clock: { 1_700_000_000 })
        let payload = try #require(binary(camera.capture(method: "NextPointCloud", parameters: [:])).first)
        #expect(payload.mimeType == "pointcloud/pcd")
        let lines = String(decoding: payload.bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        var header: [String: [String]] = [:]
        var index = 0
        while index < lines.count, !lines[index].hasPrefix("DATA") {
            let words = lines[index].split(separator: " ").map(String.init)
            if let key = words.first, key != "#" { header[key] = Array(words.dropFirst()) }
            index += 1
        }
        #expect(lines[0].hasPrefix("# .PCD v0.7"))
        #expect(header["VERSION"] == ["0.7"])
        #expect(header["FIELDS"] == ["x", "y", "z", "rgb"])
        #expect(header["SIZE"] == ["4", "4", "4", "4"])
        #expect(header["TYPE"] == ["F", "F", "F", "I"])
        #expect(header["COUNT"] == ["1", "1", "1", "1"])
        #expect(lines[index] == "DATA ascii")
        let points = lines[(index + 1)...].filter { !$0.isEmpty }
        let count = try #require(header["POINTS"]?.first.flatMap { Int($0) })
        #expect(count == points.count)
        #expect(header["WIDTH"] == ["\(count)"] && header["HEIGHT"] == ["1"])
        #expect((1000...5000).contains(count))
        for point in points {
            let values = point.split(separator: " ")
            #expect(values.count == 4)
            let (x, y, z) = (Double(values[0])!, Double(values[1])!, Double(values[2])!)
            #expect((0.7...2.5).contains(z) && abs(x) < z && abs(y) < z)
            #expect(UInt32(values[3]).map { $0 <= 0xFF_FFFF } == true)
        }
    }

    @Test func badAttributes() {
        expectInvalid("width", "8 to 4096") { try FakeCamera(config: config(.camera, ["width": 5]), clock: { 0 }) }
        expectInvalid("mime_type", "image/png") { try FakeCamera(config: config(.camera, ["mime_type": "image/bmp"]), clock: { 0 }) }
        expectInvalid("jpeg_quality") { try FakeCamera(config: config(.camera, ["jpeg_quality": 0]), clock: { 0 }) }
    }
}

@Suite struct PCDWriterTests {
    @Test func fixedPointNeverUsesExponents() {
        #expect(PCDWriter.fixed(0) == "0.0000")
        #expect(PCDWriter.fixed(1e-7) == "0.0000")
        #expect(PCDWriter.fixed(-0.00005) == "-0.0001")
        #expect(PCDWriter.fixed(-1.23456) == "-1.2346")
        #expect(PCDWriter.fixed(12.5) == "12.5000")
    }
}
