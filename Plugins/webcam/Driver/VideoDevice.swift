import CFerryV4L2
import FerryDevice
import FerrySDK

#if canImport(Glibc)
    import Glibc
#endif

/// The format the device agreed to in VIDIOC_S_FMT.
public struct NegotiatedFormat: Sendable, Equatable {
    public var pixelFormat: PixelFormat
    public var width: Int
    public var height: Int
    public var bytesPerLine: Int
    /// The driver's upper bound on one frame's size (what `read()` needs).
    public var sizeImage: Int
}

/// One open V4L2 capture device, negotiated and streaming: QUERYCAP, ENUM_FMT, S_FMT, S_PARM, then
/// mmap streaming when the device has V4L2_CAP_STREAMING, else the `read()` I/O method.
/// Everything goes through the ``DeviceIO`` seam. Used from one thread at a time (the host
/// serialises calls on a non-thread-safe instance).
final class VideoDevice {
    let file: DeviceFile
    let format: NegotiatedFormat
    /// The card name from QUERYCAP, for messages.
    let card: String
    let usesStreaming: Bool
    private var stream: MMapStream?
    private var readBuffer: [UInt8] = []

    /// Opens and negotiates; on any failure the descriptor (and any mapping) is released.
    init(config: WebcamConfig, io: any DeviceIO) throws {
        let file = try DeviceFile(io: io, path: config.videoPath, flags: O_RDWR | O_NONBLOCK)
        do {
            var capability = v4l2_capability()
            try file.ioctl(V4L2.querycap, name: "VIDIOC_QUERYCAP", value: &capability)
            let card = cString(capability.card)
            let caps =
                capability.capabilities & UInt32(V4L2_CAP_DEVICE_CAPS) != 0 ? capability.device_caps : capability.capabilities
            guard caps & UInt32(V4L2_CAP_VIDEO_CAPTURE) != 0 else {
                throw PluginError.invalidArgument(
                    "webcam: \(config.videoPath) (\(card)) is not a video capture device; a camera often has two nodes "
                        + "(capture and metadata): set video_path to the other one (`v4l2-ctl --list-devices` lists them)")
            }
            let streaming = caps & UInt32(V4L2_CAP_STREAMING) != 0
            guard streaming || caps & UInt32(V4L2_CAP_READWRITE) != 0 else {
                throw PluginError.unsupported(
                    "webcam: \(config.videoPath) (\(card)) offers neither mmap streaming nor read(); the webcam model needs one of them")
            }
            let pixelFormat = try Self.choosePixelFormat(config: config, offered: try Self.formats(file), card: card)
            let format = try Self.setFormat(file, config: config, pixelFormat: pixelFormat, card: card)
            if let rate = config.frameRate { Self.setFrameRate(file, rate) }
            (self.file, self.card, self.format, self.usesStreaming) = (file, card, format, streaming)
            if streaming {
                stream = try MMapStream(file: file)
            } else {
                readBuffer = [UInt8](repeating: 0, count: max(format.sizeImage, format.bytesPerLine * format.height, 1))
            }
        } catch {
            file.close()
            throw error
        }
    }

    /// A fresh frame's bytes, waiting up to `timeoutMilliseconds` for one.
    func nextFrame(timeoutMilliseconds: Int32) throws -> [UInt8] {
        if let stream {
            // Buffers filled before this call may be seconds old at a slow capture rate (the driver
            // stops filling once every buffer is full): give them back and wait for a new frame.
            stream.discardFilled()
            try waitReadable(timeoutMilliseconds)
            guard let frame = try stream.newestFrame() else {
                throw PluginError.retryLater("webcam: \(file.path) reported a frame ready but had none to dequeue; the next capture tries again")
            }
            return frame
        }
        // read(): try first, so a device that answers at once (or cannot poll) needs no wait.
        if let frame = try readFrame() { return frame }
        try waitReadable(timeoutMilliseconds)
        guard let frame = try readFrame() else {
            throw PluginError.retryLater("webcam: \(file.path) reported a frame ready but read() had none; the next capture tries again")
        }
        return frame
    }

    private func waitReadable(_ timeoutMilliseconds: Int32) throws {
        let events = try file.poll(events: Int16(POLLIN), timeoutMilliseconds: timeoutMilliseconds)
        if events == 0 {
            throw PluginError.retryLater(
                "webcam: no frame from \(file.path) (\(card)) within \(timeoutMilliseconds) ms; the next capture tries again")
        }
        // On POLLERR (device gone, stream stopped) the dequeue or read that follows reports the errno.
    }

    /// One frame through read(), or nil when none is ready yet (EAGAIN on the non-blocking descriptor).
    private func readFrame() throws -> [UInt8]? {
        let count: Int
        do {
            count = try readBuffer.withUnsafeMutableBytes { try file.read(into: $0) }
        } catch let error as DeviceError where error.errno == EAGAIN {
            return nil
        }
        guard count > 0 else {
            throw DeviceError(errno: ENODEV, operation: "read", path: file.path, detail: "end of file: the device went away")
        }
        return Array(readBuffer[0..<count])
    }

    func close() {
        stream?.stop()
        stream = nil
        file.close()
    }

    // MARK: Negotiation

    static func formats(_ file: DeviceFile) throws -> [PixelFormat] {
        var formats: [PixelFormat] = []
        for index in 0..<64 {
            var description = v4l2_fmtdesc()
            description.index = UInt32(index)
            description.type = V4L2.captureType
            do {
                try file.ioctl(V4L2.enumFormat, name: "VIDIOC_ENUM_FMT", value: &description)
            } catch let error as DeviceError where error.errno == EINVAL {
                break  // EINVAL past the last index ends the list.
            }
            formats.append(PixelFormat(code: description.pixelformat))
        }
        return formats
    }

    static func frameSizes(_ file: DeviceFile, _ format: PixelFormat) -> [String] {
        var sizes: [String] = []
        for index in 0..<64 {
            var size = v4l2_frmsizeenum()
            size.index = UInt32(index)
            size.pixel_format = format.code
            guard (try? file.ioctl(V4L2.enumFrameSizes, name: "VIDIOC_ENUM_FRAMESIZES", value: &size)) != nil else { break }
            if size.type == UInt32(V4L2_FRMSIZE_TYPE_DISCRETE.rawValue) {
                sizes.append("\(size.discrete.width)x\(size.discrete.height)")
            } else {
                let s = size.stepwise
                sizes.append("\(s.min_width)-\(s.max_width) x \(s.min_height)-\(s.max_height)")
                break
            }
        }
        return sizes
    }

    static func choosePixelFormat(config: WebcamConfig, offered: [PixelFormat], card: String) throws -> PixelFormat {
        let offeredList = offered.isEmpty ? "no formats" : offered.map(\.description).joined(separator: ", ")
        if let wanted = config.format {
            if wanted.isJPEG, let jpeg = offered.first(where: \.isJPEG) { return jpeg }
            if offered.contains(wanted) { return wanted }
            throw PluginError.invalidArgument(
                "webcam: \(config.videoPath) (\(card)) does not offer format \"\(wanted)\"; it offers \(offeredList): "
                    + "set attribute format to one of those the webcam reads (MJPG, YUYV), or leave it out")
        }
        if let jpeg = offered.first(where: \.isJPEG) { return jpeg }
        if offered.contains(.yuyv) { return .yuyv }
        throw PluginError.unsupported(
            "webcam: \(config.videoPath) (\(card)) offers only \(offeredList); the webcam model reads MJPG and YUYV")
    }

    static func setFormat(_ file: DeviceFile, config: WebcamConfig, pixelFormat: PixelFormat, card: String) throws
        -> NegotiatedFormat
    {
        var format = v4l2_format()
        format.type = V4L2.captureType
        try file.ioctl(V4L2.getFormat, name: "VIDIOC_G_FMT", value: &format)
        if let size = config.size {
            format.fmt.pix.width = UInt32(size.width)
            format.fmt.pix.height = UInt32(size.height)
        }
        format.fmt.pix.pixelformat = pixelFormat.code
        format.fmt.pix.field = UInt32(V4L2_FIELD_ANY.rawValue)
        format.fmt.pix.bytesperline = 0  // let the driver choose the stride
        try file.ioctl(V4L2.setFormat, name: "VIDIOC_S_FMT", value: &format)
        let pix = format.fmt.pix
        let agreed = PixelFormat(code: pix.pixelformat)
        // Drivers adjust what they cannot do instead of failing; a silently different size or
        // format would break every consumer of the images, so it is an error here.
        if agreed != pixelFormat || config.size.map({ $0.width != Int(pix.width) || $0.height != Int(pix.height) }) == true {
            let sizes = frameSizes(file, pixelFormat)
            let wanted = config.size.map { "\($0.width)x\($0.height)" } ?? "its current size"
            throw PluginError.invalidArgument(
                "webcam: \(file.path) (\(card)) cannot capture \(pixelFormat) at \(wanted) (the driver offered \(agreed) "
                    + "\(pix.width)x\(pix.height)); \(pixelFormat) sizes it lists: "
                    + "\(sizes.isEmpty ? "none" : sizes.joined(separator: ", ")): set width_px and height_px to one of them")
        }
        let minimumLine = Int(pix.width) * (pixelFormat == .yuyv ? 2 : 0)
        return NegotiatedFormat(
            pixelFormat: agreed, width: Int(pix.width), height: Int(pix.height),
            bytesPerLine: max(Int(pix.bytesperline), minimumLine), sizeImage: Int(pix.sizeimage))
    }

    /// Frame rate is a request, not a promise: a driver without S_PARM keeps its own rate.
    static func setFrameRate(_ file: DeviceFile, _ rate: Double) {
        var parameters = v4l2_streamparm()
        parameters.type = V4L2.captureType
        // 1000/(rate*1000) keeps fractional rates such as 7.5 fps exact enough.
        parameters.parm.capture.timeperframe = v4l2_fract(numerator: 1000, denominator: UInt32((rate * 1000).rounded()))
        do {
            try file.ioctl(V4L2.setParameters, name: "VIDIOC_S_PARM", value: &parameters)
        } catch {
            FerryPlugin.log(.warning, "webcam: \(file.path) did not accept frame_rate \(rate): \(error); it keeps its own rate")
        }
    }
}
