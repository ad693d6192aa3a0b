import FerryBSON
import FerrySDK

/// A vision service that "sees" the fake camera's test scene (``TestScene``): it takes the image
/// from the camera named in `camera_name` (any camera of the machine, through the host), and
/// reports what the scene holds at that moment. Detections: the orange ball (confidence rises as it
/// comes closer: 0.5 at 1.7 m, 0.95 at 0.9 m) and the colour bars along the top (0.98).
/// Classifications: "test-scene" (0.99) and "ball-near" (the ball's confidence). Boxes are
/// normalised to the image, whose size is read from the image itself (PNG or JPEG).
final class FakeVision: Vision, EchoesCommands {
    let name: String
    let clock: FakeClock

    init(config: ComponentConfig, clock: @escaping FakeClock) throws {
        let attributes = Attributes(config, model: "fake vision")
        attributes.warnAboutUnknown(known: [])
        name = config.name
        self.clock = clock
    }

    func captureAllFromCamera(_ cameraName: String, mimeType: String?) throws -> VisionResult {
        guard cameraName != name else { throw PluginError.invalidArgument("fake vision \"\(name)\" cannot look through itself") }
        let parameters: BSONDocument = mimeType.map { ["mime_type": .string($0)] } ?? [:]
        guard case .binary(let payloads) = try FerryPlugin.captureResource(cameraName, method: "ReadImage", parameters: parameters),
            let image = payloads.first
        else { throw PluginError.retryLater("camera \(cameraName) returned no image") }
        guard let (width, height) = ImageSize.of(image.bytes) else {
            throw PluginError.invalidArgument("fake vision reads PNG and JPEG images; camera \(cameraName) sent \(image.mimeType)")
        }
        return Self.see(TestScene(width: width, height: height), at: clock(), image: image)
    }

    /// What the scene holds at time `t`, as detections and classifications.
    static func see(_ scene: TestScene, at t: Double, image: BinaryPayload) -> VisionResult {
        let ball = scene.ball(at: t)
        let (w, h) = (Double(scene.width), Double(scene.height))
        let near = min(0.95, max(0.5, 0.5 + 0.45 * (1700 - ball.depth) / 800))
        func clamp(_ value: Double) -> Double { min(1, max(0, value)) }
        // The ball is hidden behind nothing, but the bars cover the top rows: clip it below them.
        let top = Double(scene.barRows) / h
        let detections = [
            VisionResult.Detection(
                label: "ball", confidence: near, xMin: clamp((ball.u - ball.radius) / w), yMin: max(top, clamp((ball.v - ball.radius) / h)),
                xMax: clamp((ball.u + ball.radius) / w), yMax: clamp((ball.v + ball.radius) / h)),
            VisionResult.Detection(label: "color-bars", confidence: 0.98, xMin: 0, yMin: 0, xMax: 1, yMax: top),
        ]
        let classifications = [
            VisionResult.Classification(label: "test-scene", confidence: 0.99),
            VisionResult.Classification(label: "ball-near", confidence: near),
        ]
        return VisionResult(image: image, detections: detections, classifications: classifications)
    }
}

/// The pixel size written in a PNG's IHDR or a JPEG's start-of-frame header.
enum ImageSize {
    static func of(_ bytes: [UInt8]) -> (width: Int, height: Int)? {
        if bytes.count >= 24, bytes[0...7] == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] {
            return (bigEndian(bytes, 16, 4), bigEndian(bytes, 20, 4))
        }
        guard bytes.count > 4, bytes[0] == 0xFF, bytes[1] == 0xD8 else { return nil }
        var offset = 2
        while offset + 9 < bytes.count, bytes[offset] == 0xFF {
            let marker = bytes[offset + 1]
            let length = bigEndian(bytes, offset + 2, 2)
            // SOF0…SOF15, except DHT (C4), JPG (C8) and DAC (CC): height then width.
            if (0xC0...0xCF).contains(marker), ![0xC4, 0xC8, 0xCC].contains(marker) {
                return (bigEndian(bytes, offset + 7, 2), bigEndian(bytes, offset + 5, 2))
            }
            offset += 2 + length
        }
        return nil
    }

    static func bigEndian(_ bytes: [UInt8], _ offset: Int, _ count: Int) -> Int {
        bytes[offset..<(offset + count)].reduce(0) { $0 << 8 | Int($1) }
    }
}
