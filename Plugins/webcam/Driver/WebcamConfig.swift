import FerryBSON
import FerrySDK

/// The webcam's attributes, validated at create: every error names the attribute and what it wants.
///
/// `video_path` (required, e.g. "/dev/video0"; a bare name such as "video0", as Viam's docs write it,
/// means that node under /dev); `width_px` and `height_px` (both or neither; neither
/// keeps the device's current size); `format` ("MJPG" or "YUYV"; default: MJPG when the device
/// offers it, else YUYV); `frame_rate` (frames per second, optional); `jpeg_quality` (1–100, 85,
/// for YUYV frames encoded to JPEG).
public struct WebcamConfig: Sendable, Equatable {
    public static let attributes: Set<String> = ["video_path", "width_px", "height_px", "format", "frame_rate", "jpeg_quality"]
    public static let formats = ["MJPG", "YUYV"]

    public var videoPath: String
    public var size: (width: Int, height: Int)?
    public var format: PixelFormat?
    public var frameRate: Double?
    public var jpegQuality: Int

    public init(videoPath: String, size: (width: Int, height: Int)? = nil, format: PixelFormat? = nil, frameRate: Double? = nil, jpegQuality: Int = 85) {
        (self.videoPath, self.size, self.format, self.frameRate, self.jpegQuality) = (videoPath, size, format, frameRate, jpegQuality)
    }

    public init(_ config: ComponentConfig) throws {
        let attributes = config.attributes
        func invalid(_ key: String, _ expectation: String) -> PluginError {
            .invalidArgument("webcam \"\(config.name)\": attribute \(key) must be \(expectation), got \(attributes[key].map { "\($0)" } ?? "nothing")")
        }
        guard let path = attributes["video_path"]?.stringValue, !path.isEmpty else {
            throw invalid("video_path", "the camera's device node, e.g. \"/dev/video0\"")
        }
        videoPath = path.contains("/") ? path : "/dev/" + path
        func dimension(_ key: String) throws -> Int? {
            guard let value = attributes[key] else { return nil }
            guard let number = value.int64Value, let int = Int(exactly: number), (1...16384).contains(int) else {
                throw invalid(key, "an integer number of pixels from 1 to 16384")
            }
            return int
        }
        switch (try dimension("width_px"), try dimension("height_px")) {
        case (let width?, let height?): size = (width, height)
        case (nil, nil): size = nil
        case (nil, _): throw invalid("width_px", "set together with height_px")
        case (_, nil): throw invalid("height_px", "set together with width_px")
        }
        if let value = attributes["format"] {
            guard let name = value.stringValue, Self.formats.contains(name) else {
                throw invalid("format", "one of \"MJPG\", \"YUYV\" (or left out to prefer MJPG)")
            }
            format = PixelFormat(fourCC: name)
        } else {
            format = nil
        }
        if let value = attributes["frame_rate"] {
            guard let rate = value.doubleValue, rate > 0, rate <= 1000 else { throw invalid("frame_rate", "a number of frames per second > 0") }
            frameRate = rate
        } else {
            frameRate = nil
        }
        if let value = attributes["jpeg_quality"] {
            guard let number = value.int64Value, (1...100).contains(number) else { throw invalid("jpeg_quality", "an integer from 1 to 100") }
            jpegQuality = Int(number)
        } else {
            jpegQuality = 85
        }
        let unknown = attributes.keys.filter { !Self.attributes.contains($0) }
        if !unknown.isEmpty {
            FerryPlugin.log(
                .warning,
                "webcam \"\(config.name)\": ignoring unknown attribute(s) \(unknown.joined(separator: ", ")); known: \(Self.attributes.sorted().joined(separator: ", "))")
        }
    }

    public static func == (a: WebcamConfig, b: WebcamConfig) -> Bool {
        a.videoPath == b.videoPath && a.size?.width == b.size?.width && a.size?.height == b.size?.height
            && a.format == b.format && a.frameRate == b.frameRate && a.jpegQuality == b.jpegQuality
    }
}
