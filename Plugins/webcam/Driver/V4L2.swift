import CFerryV4L2

/// The V4L2 request numbers and pixel formats the webcam uses, named once.
public enum V4L2 {
    public static let querycap = ferry_vidioc_querycap()
    public static let enumFormat = ferry_vidioc_enum_fmt()
    public static let enumFrameSizes = ferry_vidioc_enum_framesizes()
    public static let getFormat = ferry_vidioc_g_fmt()
    public static let setFormat = ferry_vidioc_s_fmt()
    public static let setParameters = ferry_vidioc_s_parm()
    public static let requestBuffers = ferry_vidioc_reqbufs()
    public static let queryBuffer = ferry_vidioc_querybuf()
    public static let queueBuffer = ferry_vidioc_qbuf()
    public static let dequeueBuffer = ferry_vidioc_dqbuf()
    public static let streamOn = ferry_vidioc_streamon()
    public static let streamOff = ferry_vidioc_streamoff()

    public static let captureType = UInt32(V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue)
    public static let memoryMMap = UInt32(V4L2_MEMORY_MMAP.rawValue)

    /// Every name a request has in errors: "VIDIOC_DQBUF" says more to a user than a hex number.
    public static func name(of request: UInt) -> String {
        switch request {
        case querycap: "VIDIOC_QUERYCAP"
        case enumFormat: "VIDIOC_ENUM_FMT"
        case enumFrameSizes: "VIDIOC_ENUM_FRAMESIZES"
        case getFormat: "VIDIOC_G_FMT"
        case setFormat: "VIDIOC_S_FMT"
        case setParameters: "VIDIOC_S_PARM"
        case requestBuffers: "VIDIOC_REQBUFS"
        case queryBuffer: "VIDIOC_QUERYBUF"
        case queueBuffer: "VIDIOC_QBUF"
        case dequeueBuffer: "VIDIOC_DQBUF"
        case streamOn: "VIDIOC_STREAMON"
        case streamOff: "VIDIOC_STREAMOFF"
        default: "ioctl 0x\(String(request, radix: 16))"
        }
    }
}

/// A V4L2 pixel format (a little-endian FourCC such as "MJPG" or "YUYV").
public struct PixelFormat: Hashable, Sendable, CustomStringConvertible {
    public var code: UInt32
    public init(code: UInt32) { self.code = code }

    public init?(fourCC: String) {
        let bytes = Array(fourCC.utf8)
        guard bytes.count == 4 else { return nil }
        code = bytes.enumerated().reduce(0) { $0 | UInt32($1.element) << (8 * UInt32($1.offset)) }
    }

    public static let mjpeg = PixelFormat(code: ferry_v4l2_pix_fmt_mjpeg())
    /// Some cameras label the same compressed frames "JPEG"; they are passed through alike.
    public static let jpeg = PixelFormat(code: ferry_v4l2_pix_fmt_jpeg())
    public static let yuyv = PixelFormat(code: ferry_v4l2_pix_fmt_yuyv())

    public var isJPEG: Bool { self == .mjpeg || self == .jpeg }

    /// The four characters, e.g. "MJPG".
    public var description: String {
        String(decoding: (0..<4).map { UInt8(truncatingIfNeeded: code >> (8 * $0)) }, as: UTF8.self)
    }
}

/// A fixed-size C char array (a tuple, as Swift imports it) as a String.
func cString<T>(_ tuple: T) -> String {
    withUnsafeBytes(of: tuple) { bytes in
        String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
    }
}
