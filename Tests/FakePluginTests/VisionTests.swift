import FerryBSON
import FerrySDK
import Testing

@testable import FerryFake

@Suite struct VisionTests {
    @Test func seesTheBallWhereTheCameraDrawsIt() throws {
        let scene = TestScene(width: 320, height: 240)
        let image = BinaryPayload(bytes: [], mimeType: "image/png")
        for t in stride(from: 0.0, to: 30, by: 1.7) {
            let result = FakeVision.see(scene, at: t, image: image)
            let ball = try #require(result.detections.first { $0.label == "ball" })
            let expected = scene.ball(at: t)
            #expect(abs((ball.xMin + ball.xMax) / 2 * 320 - expected.u) < 1 || ball.xMin == 0 || ball.xMax == 1, "centred on the ball")
            #expect((0.5...0.95).contains(ball.confidence))
            #expect(ball.yMin >= Double(scene.barRows) / 240, "below the colour bars")
            #expect(result.classifications.first { $0.label == "ball-near" }?.confidence == ball.confidence)
            #expect(result.detections.contains { $0.label == "color-bars" && $0.yMax == Double(scene.barRows) / 240 })
        }
        // Nearer is surer: the confidence follows the ball's distance.
        let depths = stride(from: 0.0, to: 9, by: 0.5).map { (scene.ball(at: $0).depth, FakeVision.see(scene, at: $0, image: image).detections[0].confidence) }
        let nearest = try #require(depths.min { $0.0 < $1.0 }), farthest = try #require(depths.max { $0.0 < $1.0 })
        #expect(nearest.1 > farthest.1)
    }

    @Test func readsTheImageSizeFromPNGAndJPEGHeaders() throws {
        let pixels = [UInt8](repeating: 128, count: 40 * 24 * 3)
        #expect(ImageSize.of(PNGEncoder.rgb(pixels, width: 40, height: 24))! == (40, 24))
        #expect(ImageSize.of(JPEGEncoder.rgb(pixels, width: 40, height: 24, quality: 80))! == (40, 24))
        #expect(ImageSize.of(Array("not an image".utf8)) == nil)
    }

    /// The SDK's Vision protocol turns a service's results into Viam's capture: the image as binary
    /// data, what scored at least min_confidence_score as its annotations.
    @Test func captureKeepsWhatScoresAtLeastTheMinimum() throws {
        let image = BinaryPayload(bytes: [1, 2, 3], mimeType: "image/jpeg")
        let vision = StubVision(
            result: VisionResult(
                image: image,
                detections: [
                    .init(label: "ball", confidence: 0.9, xMin: 0.1, yMin: 0.2, xMax: 0.3, yMax: 0.4),
                    .init(label: "shadow", confidence: 0.6, xMin: 0, yMin: 0, xMax: 1, yMax: 1),
                ],
                classifications: [.init(label: "indoor", confidence: 0.75), .init(label: "outdoor", confidence: 0.2)]))
        let output = try vision.capture(method: "CaptureAllFromCamera", parameters: ["camera_name": "cam", "min_confidence_score": "0.7"])
        guard case .binary(let payloads) = output, let payload = payloads.first else { Issue.record("binary expected"); return }
        #expect(payload.bytes == [1, 2, 3] && payload.mimeType == "image/jpeg")
        #expect(payload.annotations?.boxes.map(\.label) == ["ball"])
        #expect(payload.annotations?.classifications.map(\.label) == ["indoor"])
        #expect(vision.asked == ["cam"])
        // The default minimum is 0.5, as Viam's.
        guard case .binary(let all) = try vision.capture(method: "CaptureAllFromCamera", parameters: ["camera_name": "cam"]) else { return }
        #expect(all[0].annotations?.boxes.count == 2 && all[0].annotations?.classifications.count == 1)
        let document = try #require(payload.annotations?.document)
        #expect(try Annotations(document: document) == payload.annotations, "the ABI's document reads back")
        expectInvalid("camera_name") { try vision.capture(method: "CaptureAllFromCamera", parameters: [:]) }
        expectInvalid("min_confidence_score") {
            try vision.capture(method: "CaptureAllFromCamera", parameters: ["camera_name": "cam", "min_confidence_score": 1.5])
        }
    }
}

final class StubVision: Vision, @unchecked Sendable {
    // @unchecked: used from one test's thread only.
    let result: VisionResult
    var asked: [String] = []
    init(result: VisionResult) { self.result = result }
    func captureAllFromCamera(_ cameraName: String, mimeType: String?) throws -> VisionResult {
        asked.append(cameraName)
        return result
    }
}
