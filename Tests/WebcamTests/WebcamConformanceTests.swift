import FerryBSON
import FerryHIL
import FerryHILTestSupport
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
        let report = ConformanceSuite(iterations: 3).run(fakeWebcamModel(device: device), attributes: attributes, subject: "fake V4L2 device")
        #expect(report.passed, "\(report.text)")
        #expect(report.check("capture ReadImage")?.detail == "image/jpeg 320x240")
        #expect(report.check("capture NextPointCloud") == nil, "a webcam does not advertise point clouds")
        // Close really released the device: nothing open, nothing mapped.
        #expect(device.with { $0.openFDs.isEmpty && $0.mapped.isEmpty })
    }

    @Test func aCameraThatLosesItsDeviceFailsTheSuiteWithTheReason() {
        let device = FakeVideoDevice()
        let model = fakeWebcamModel(device: device, afterCreate: { device.unplug() })
        let report = ConformanceSuite(iterations: 1).run(model, attributes: ["video_path": "/dev/video0"], subject: "fake V4L2 device")
        #expect(!report.passed)
        #expect(report.check("capture ReadImage")?.detail.contains("retry-later") == true)
    }
}

/// The webcam driver on a ``FakeVideoDevice``, seen as the suite sees a plugin model;
/// `afterCreate` runs once each instance exists.
func fakeWebcamModel(device: FakeVideoDevice, afterCreate: @escaping () -> Void = {}) -> InProcessModel {
    InProcessModel(api: "rdk:component:camera", model: Webcam.model, captureMethods: Webcam.captureMethods) {
        let webcam = try Webcam(config: $0, io: device)
        afterCreate()
        return webcam
    }
}
