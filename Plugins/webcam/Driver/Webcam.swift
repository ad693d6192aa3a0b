import FerryBSON
import FerryDevice
import FerrySDK

#if canImport(Glibc)
    import Glibc
#endif

/// Viam's `webcam` camera over V4L2. ReadImage returns one JPEG: MJPEG frames pass through
/// untouched, YUYV frames are encoded with libjpeg-turbo. GetImages returns the same single image.
///
/// The device is opened at create, so a missing, busy or unsuitable camera fails there with a
/// message saying what to do (the host retries create every few seconds). A camera that goes away
/// while running (ENODEV, EIO from a dequeue or read) is closed; each later capture answers
/// retry-later until re-opening it succeeds, so a replugged camera comes back without a restart.
public final class Webcam: Camera {
    public static let model = "rdk:builtin:webcam"
    /// A 2D camera has no point clouds, so NextPointCloud is not advertised: a config asking a
    /// webcam for one is refused at load instead of failing at every tick.
    public static let captureMethods = ["GetImages", "ReadImage"]
    /// How long one capture waits for a frame before answering retry-later.
    public static let frameTimeoutMilliseconds: Int32 = 2000

    let name: String
    let io: any DeviceIO
    private(set) var config: WebcamConfig
    private var device: VideoDevice?

    public init(config: ComponentConfig, io: any DeviceIO = SystemDeviceIO()) throws {
        name = config.name
        self.io = io
        self.config = try WebcamConfig(config)
        device = try Self.open(self.config, io: io)
    }

    /// What the device agreed to; nil while it is unplugged.
    public var format: NegotiatedFormat? { device?.format }
    /// True while streaming through mmap, false on the read() fallback; nil while unplugged.
    public var usesStreaming: Bool? { device?.usesStreaming }

    public func image(mimeType: String?) throws -> BinaryPayload {
        // Viam clients append "+lazy" to ask for deferred decoding; the encoding is the same.
        let requested = mimeType.map { $0.hasSuffix("+lazy") ? String($0.dropLast(5)) : $0 } ?? ""
        guard requested.isEmpty || requested == "image/jpeg" else {
            throw PluginError.invalidArgument("webcam \"\(name)\" produces image/jpeg only, not \"\(requested)\"")
        }
        return BinaryPayload(bytes: try jpegFrame(), mimeType: "image/jpeg")
    }

    public func images() throws -> [BinaryPayload] { [try image(mimeType: nil)] }

    public func pointCloud() throws -> BinaryPayload {
        throw PluginError.unsupported("webcam \"\(name)\" is a 2D camera: it has no point cloud")
    }

    public func reconfigure(_ new: ComponentConfig) throws {
        let parsed = try WebcamConfig(new)
        // The same node cannot be negotiated twice at once: release it before opening anew.
        device?.close()
        device = nil
        config = parsed
        device = try Self.open(parsed, io: io)
    }

    public func close() {
        device?.close()
        device = nil
    }

    private func jpegFrame() throws -> [UInt8] {
        let device = try openDevice()
        let frame: [UInt8]
        do {
            frame = try device.nextFrame(timeoutMilliseconds: Self.frameTimeoutMilliseconds)
        } catch let error as DeviceError where error.errno != EAGAIN && error.errno != EINTR {
            // Unplugged (ENODEV), a USB error (EIO), a reset stream: start over from open.
            device.close()
            self.device = nil
            throw PluginError.retryLater("webcam \"\(name)\": lost the camera: \(error.description); the next capture re-opens \(config.videoPath)")
        } catch let error as DeviceError {
            throw PluginError.retryLater("webcam \"\(name)\": \(error.description)")
        }
        return try encode(frame, device.format)
    }

    private func openDevice() throws -> VideoDevice {
        if let device { return device }
        do {
            let opened = try Self.open(config, io: io)
            FerryPlugin.log(.info, "webcam \"\(name)\": re-opened \(config.videoPath)")
            device = opened
            return opened
        } catch let error as PluginError {
            throw PluginError.retryLater("webcam \"\(name)\": \(config.videoPath) is not back yet: \(error.message)")
        }
    }

    private func encode(_ frame: [UInt8], _ format: NegotiatedFormat) throws -> [UInt8] {
        if format.pixelFormat.isJPEG {
            // A frame cut short (USB packet loss) has no start marker; don't store it as an image.
            guard frame.count > 4, frame[0] == 0xFF, frame[1] == 0xD8 else {
                throw PluginError.retryLater("webcam \"\(name)\": \(config.videoPath) delivered a damaged MJPEG frame (\(frame.count) bytes, no JPEG start marker)")
            }
            return frame
        }
        let needed = format.bytesPerLine * format.height
        guard frame.count >= needed else {
            throw PluginError.retryLater(
                "webcam \"\(name)\": \(config.videoPath) delivered a short YUYV frame (\(frame.count) of \(needed) bytes)")
        }
        do {
            return try frame.withUnsafeBytes {
                try JPEG.encodeYUYV(
                    $0, width: format.width, height: format.height, bytesPerLine: format.bytesPerLine, quality: config.jpegQuality)
            }
        } catch {
            throw PluginError.fatal("webcam \"\(name)\": encoding a \(format.width)x\(format.height) YUYV frame as JPEG failed: \(error)")
        }
    }

    /// Opens the device, turning system errors into statuses a user can act on.
    static func open(_ config: WebcamConfig, io: any DeviceIO) throws -> VideoDevice {
        do {
            return try VideoDevice(config: config, io: io)
        } catch let error as DeviceError {
            let message = "webcam: \(error.description)"
            switch error.errno {
            case EACCES, EPERM: throw PluginError.invalidArgument(message)
            case EINVAL, ENOTTY: throw PluginError.unsupported(message)
            default: throw PluginError.retryLater(message)
            }
        }
    }
}
