import FerryBSON
import FerryDevice
import FerryHIL
import FerrySDK
import FerryWebcamDriver
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite struct WebcamTests {
    static func config(_ attributes: BSONDocument) -> ComponentConfig {
        ComponentConfig(name: "cam", api: "rdk:component:camera", model: Webcam.model, attributes: attributes)
    }

    static func webcam(_ device: FakeVideoDevice, _ attributes: BSONDocument = [:]) throws -> Webcam {
        var all: BSONDocument = ["video_path": "/dev/video0"]
        for element in attributes { all[element.key] = element.value }
        return try Webcam(config: config(all), io: device)
    }

    static func jpegSize(_ payload: BinaryPayload) throws -> (Int, Int) {
        #expect(payload.mimeType == "image/jpeg")
        let decoded = try ImageCheck.decode(payload.bytes, mimeType: payload.mimeType)
        return (decoded.width, decoded.height)
    }

    static func pluginError(_ body: () throws -> Void) -> PluginError? {
        do { try body() } catch let error as PluginError { return error } catch { Issue.record("not a PluginError: \(error)") }
        return nil
    }

    @Test func streamsMJPEGThroughMMapAndPassesFramesThrough() throws {
        let device = FakeVideoDevice()
        let camera = try Self.webcam(device, ["width_px": 640, "height_px": 480, "format": "MJPG"])
        #expect(camera.usesStreaming == true)
        #expect(camera.format?.pixelFormat == .mjpeg)
        let image = try camera.image(mimeType: nil)
        #expect(try Self.jpegSize(image) == (640, 480))
        // Passed through untouched: the device's own frame, comment and all.
        let frame = FakeVideoDevice.frame(.init(format: .mjpeg, width: 640, height: 480), sequence: 1)
        #expect(image.bytes == frame)
        let log = device.with { $0.log }
        #expect(log.contains("VIDIOC_REQBUFS") && log.contains("VIDIOC_STREAMON") && log.contains("VIDIOC_DQBUF"))
    }

    @Test func encodesYUYVFramesAsJPEG() throws {
        let device = FakeVideoDevice()
        let camera = try Self.webcam(device, ["width_px": 320, "height_px": 240, "format": "YUYV"])
        #expect(camera.format?.pixelFormat == .yuyv)
        #expect(try Self.jpegSize(try camera.image(mimeType: "image/jpeg")) == (320, 240))
    }

    @Test func prefersMJPEGAndFallsBackToYUYV() throws {
        let both = FakeVideoDevice()
        #expect(try Self.webcam(both).format?.pixelFormat == .mjpeg)
        let yuyvOnly = FakeVideoDevice()
        yuyvOnly.with { $0.modes = [(.yuyv, [(640, 480)])]; $0.current = .init(format: .yuyv, width: 640, height: 480) }
        let camera = try Self.webcam(yuyvOnly)
        #expect(camera.format?.pixelFormat == .yuyv)
        #expect(try Self.jpegSize(try camera.image(mimeType: nil)) == (640, 480))
    }

    @Test func fallsBackToReadWithoutStreaming() throws {
        let device = FakeVideoDevice()
        device.with { $0.streamingCapable = false }
        for format in ["MJPG", "YUYV"] {
            let camera = try Self.webcam(device, ["width_px": 320, "height_px": 240, "format": .string(format)])
            #expect(camera.usesStreaming == false)
            #expect(try Self.jpegSize(try camera.image(mimeType: nil)) == (320, 240))
            camera.close()
        }
        #expect(!device.with { $0.log }.contains("VIDIOC_REQBUFS"))
    }

    @Test func returnsTheNewestFrameAndRequeuesEveryBuffer() throws {
        let device = FakeVideoDevice()
        let camera = try Self.webcam(device)
        device.with { $0.framesPerPoll = 3 }
        let image = try camera.image(mimeType: nil)
        #expect(image.bytes == FakeVideoDevice.frame(.init(format: .mjpeg, width: 640, height: 480), sequence: 3))
        #expect(device.with { $0.queued.count } == 4)
    }

    @Test func discardsFramesFilledBeforeTheCapture() throws {
        let device = FakeVideoDevice()
        let camera = try Self.webcam(device)
        // The camera fills a buffer long before anyone asks (a slow capture rate): it is stale.
        _ = try device.poll(0, events: Int16(POLLIN), timeoutMilliseconds: 0)
        let image = try camera.image(mimeType: nil)
        #expect(image.bytes == FakeVideoDevice.frame(.init(format: .mjpeg, width: 640, height: 480), sequence: 2))
        #expect(device.with { $0.queued.count } == 4)
    }

    @Test func recoversFromUnplugWithoutBeingRecreated() throws {
        let device = FakeVideoDevice()
        let camera = try Self.webcam(device)
        _ = try camera.image(mimeType: nil)

        device.unplug()
        let lost = Self.pluginError { _ = try camera.image(mimeType: nil) }
        #expect(lost?.kind == .retryLater)
        #expect(lost?.message.contains("/dev/video0") == true)
        #expect(lost?.message.contains("re-opens") == true)
        // Everything released: no descriptor, no mapping left behind.
        #expect(device.with { $0.openFDs.isEmpty && $0.mapped.isEmpty })

        let stillGone = Self.pluginError { _ = try camera.image(mimeType: nil) }
        #expect(stillGone?.kind == .retryLater)
        #expect(stillGone?.message.contains("not back yet") == true)

        device.replug()
        #expect(try Self.jpegSize(try camera.image(mimeType: nil)) == (640, 480))
        #expect(device.with { $0.opens } == 2)
    }

    @Test func aMissingDeviceFailsCreateWithThePath() {
        let device = FakeVideoDevice()
        device.unplug()
        let error = Self.pluginError { _ = try Self.webcam(device) }
        #expect(error?.kind == .retryLater)
        #expect(error?.message.contains("/dev/video0") == true)
        #expect(error?.message.contains("no such device") == true)
    }

    @Test func aBusyDeviceSaysSo() {
        let device = FakeVideoDevice()
        device.with { $0.busy = true }
        let error = Self.pluginError { _ = try Self.webcam(device) }
        #expect(error?.kind == .retryLater)
        #expect(error?.message.contains("busy") == true)
        #expect(device.with { $0.openFDs.isEmpty })
    }

    @Test func anUnofferedFormatListsWhatTheDeviceOffers() {
        let device = FakeVideoDevice()
        device.with { $0.modes = [(.mjpeg, [(640, 480)])] }
        let error = Self.pluginError { _ = try Self.webcam(device, ["format": "YUYV"]) }
        #expect(error?.kind == .invalidArgument)
        #expect(error?.message.contains("does not offer format \"YUYV\"; it offers MJPG") == true)
    }

    @Test func aFormatTheWebcamCannotReadIsUnsupported() {
        let device = FakeVideoDevice()
        device.with { $0.modes = [(PixelFormat(fourCC: "NV12")!, [(640, 480)])] }
        let error = Self.pluginError { _ = try Self.webcam(device) }
        #expect(error?.kind == .unsupported)
        #expect(error?.message.contains("offers only NV12") == true)
    }

    @Test func anUnofferedSizeListsTheSizesInstead() {
        let device = FakeVideoDevice()
        let error = Self.pluginError { _ = try Self.webcam(device, ["width_px": 1920, "height_px": 1080]) }
        #expect(error?.kind == .invalidArgument)
        #expect(error?.message.contains("640x480, 320x240") == true)
        #expect(device.with { $0.openFDs.isEmpty })
    }

    @Test func aMetadataNodeIsNotACamera() {
        let device = FakeVideoDevice()
        device.with { $0.captureCapable = false }
        let error = Self.pluginError { _ = try Self.webcam(device) }
        #expect(error?.kind == .invalidArgument)
        #expect(error?.message.contains("not a video capture device") == true)
    }

    @Test func attributeErrorsNameTheAttribute() {
        let device = FakeVideoDevice()
        let noPath = Self.pluginError { _ = try Webcam(config: Self.config([:]), io: device) }
        #expect(noPath?.message.contains("video_path") == true)
        let halfSize = Self.pluginError { _ = try Self.webcam(device, ["width_px": 640]) }
        #expect(halfSize?.message.contains("height_px") == true)
        let badFormat = Self.pluginError { _ = try Self.webcam(device, ["format": "H264"]) }
        #expect(badFormat?.message.contains("format") == true)
        #expect(device.with { $0.opens } == 0)
    }

    @Test func aBareDeviceNameMeansTheNodeUnderDev() throws {
        let device = FakeVideoDevice()
        _ = try Webcam(config: Self.config(["video_path": "video0"]), io: device)
        #expect(device.with { $0.openedPaths } == ["/dev/video0"], "Viam's docs write video_path as \"video0\"")
        #expect(try WebcamConfig(Self.config(["video_path": "/dev/v4l/by-id/usb-cam"])).videoPath == "/dev/v4l/by-id/usb-cam")
    }

    @Test func setsTheFrameRate() throws {
        let device = FakeVideoDevice()
        _ = try Self.webcam(device, ["frame_rate": 15])
        let interval = device.with { $0.frameInterval }
        #expect(interval.map { Double($0.0) / Double($0.1) } == 1.0 / 15)
    }

    @Test func capturesThroughTheSDKMethods() throws {
        let device = FakeVideoDevice()
        let camera = try Self.webcam(device, ["width_px": 320, "height_px": 240])
        guard case .binary(let read) = try camera.capture(method: "ReadImage", parameters: [:]),
            case .binary(let all) = try camera.capture(method: "GetImages", parameters: [:])
        else { Issue.record("camera methods must return binary payloads"); return }
        #expect(read.count == 1 && all.count == 1)
        #expect(try Self.jpegSize(all[0]) == (320, 240))
        #expect(Self.pluginError { _ = try camera.image(mimeType: "image/png") }?.kind == .invalidArgument)
        #expect(Self.pluginError { _ = try camera.capture(method: "NextPointCloud", parameters: [:]) }?.kind == .unsupported)
        #expect(!Webcam.captureMethods.contains("NextPointCloud"), "so a config capturing one is refused at load")
    }

    @Test func reconfigureAndCloseReleaseTheDevice() throws {
        let device = FakeVideoDevice()
        let camera = try Self.webcam(device)
        try camera.reconfigure(Self.config(["video_path": "/dev/video0", "format": "YUYV", "width_px": 320, "height_px": 240]))
        #expect(camera.format?.pixelFormat == .yuyv && camera.format?.width == 320 && camera.format?.height == 240)
        #expect(device.with { $0.openFDs.count } == 1)
        camera.close()
        #expect(device.with { $0.openFDs.isEmpty && $0.mapped.isEmpty && $0.buffers.isEmpty })
    }
}
