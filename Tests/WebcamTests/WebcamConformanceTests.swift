import FerryBSON
import FerryHIL
import FerryLoader
import FerrySDK
import FerryWebcamDriver
import Testing

/// `ferry hil`'s camera suite against the webcam driver on the in-process fake device: the path
/// umockdev cannot reach (mmap streaming) goes through the very same checks as a real camera.
@Suite struct WebcamConformanceTests {
    @Test(arguments: [("MJPG", true), ("YUYV", true), ("MJPG", false), ("YUYV", false)])
    func theWebcamConformsOnTheFakeDevice(format: String, streaming: Bool) {
        let device = FakeVideoDevice()
        device.with { $0.streamingCapable = streaming }
        let attributes: BSONDocument = ["video_path": "/dev/video0", "width_px": 320, "height_px": 240, "format": .string(format)]
        let report = ConformanceSuite(iterations: 3).run(FakeWebcamModel(device: device), attributes: attributes, subject: "fake V4L2 device")
        #expect(report.passed, "\(report.text)")
        #expect(report.check("capture ReadImage")?.detail == "image/jpeg 320x240")
        #expect(report.check("capture NextPointCloud")?.detail.contains("unsupported") == true)
        // Close really released the device: nothing open, nothing mapped.
        #expect(device.with { $0.openFDs.isEmpty && $0.mapped.isEmpty })
    }

    @Test func aCameraThatLosesItsDeviceFailsTheSuiteWithTheReason() {
        let device = FakeVideoDevice()
        let model = FakeWebcamModel(device: device, afterCreate: { device.unplug() })
        let report = ConformanceSuite(iterations: 1).run(model, attributes: ["video_path": "/dev/video0"], subject: "fake V4L2 device")
        #expect(!report.passed)
        #expect(report.check("capture ReadImage")?.detail.contains("retry-later") == true)
    }
}

/// The webcam driver on a ``FakeVideoDevice``, seen as the suite sees a plugin model.
struct FakeWebcamModel: ConformanceModel {
    let device: FakeVideoDevice
    var afterCreate: @Sendable () -> Void = {}
    var api: String { "rdk:component:camera" }
    var model: String { Webcam.model }
    var captureMethods: [String] { ["GetImages", "ReadImage", "NextPointCloud"] }

    func makeInstance(config: BSONDocument) throws(PluginCallError) -> any ConformanceInstance {
        let instance = try WebcamInstance.calling { try Webcam(config: ComponentConfig(document: config), io: device) }
        afterCreate()
        return WebcamInstance(webcam: instance)
    }
}

final class WebcamInstance: ConformanceInstance {
    let webcam: Webcam
    init(webcam: Webcam) { self.webcam = webcam }

    /// Maps the SDK's errors to the statuses the host would see across the C ABI.
    static func calling<T>(_ body: () throws -> T) throws(PluginCallError) -> T {
        do { return try body() } catch let error as PluginError {
            let status: PluginCallError.Status =
                switch error.kind {
                case .retryLater: .retryLater
                case .invalidArgument: .invalidArgument
                case .unsupported: .unsupported
                case .fatal: .fatal
                }
            throw PluginCallError(status: status, message: error.message)
        } catch {
            throw PluginCallError(status: .fatal, message: "\(error)")
        }
    }

    func capture(method: String, parameters: BSONDocument) throws(PluginCallError) -> CapturedValue {
        switch try Self.calling({ try webcam.capture(method: method, parameters: parameters) }) {
        case .tabular(let document): .tabular(document)
        case .binary(let payloads): .binary(payloads.map { CapturedBinary(bytes: $0.bytes, mimeType: $0.mimeType) })
        }
    }

    func reconfigure(config: BSONDocument) throws(PluginCallError) -> Bool {
        try Self.calling { try webcam.reconfigure(ComponentConfig(document: config)) }
        return true
    }

    func close() { webcam.close() }
}
