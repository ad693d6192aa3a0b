import CFerryV4L2
import FerryDevice
import FerryWebcamDriver
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// An in-process V4L2 capture device behind the ``DeviceIO`` seam: it answers QUERYCAP, ENUM_FMT,
/// ENUM_FRAMESIZES, G/S_FMT, S_PARM, REQBUFS, QUERYBUF, QBUF/DQBUF, STREAMON/OFF, mmap and read()
/// the way a UVC driver does, and can be unplugged, replugged or made busy. All its state is in one
/// Mutex, so it is Sendable as the seam requires.
final class FakeVideoDevice: DeviceIO {
    struct Mode: Equatable {
        var format: PixelFormat
        var width: Int
        var height: Int
    }

    struct State {
        var present = true
        var busy = false
        var streamingCapable = true
        var readCapable = true
        var captureCapable = true
        /// Offered formats and, per format, its discrete frame sizes (the first is the default).
        var modes: [(PixelFormat, [(Int, Int)])] = [(.mjpeg, [(640, 480), (320, 240)]), (.yuyv, [(640, 480), (320, 240)])]
        var current: Mode = Mode(format: .mjpeg, width: 640, height: 480)
        var frameInterval: (UInt32, UInt32)?
        /// Frames the camera "captures" between two polls.
        var framesPerPoll = 1
        var sequence = 0

        var openFDs: Set<Int32> = []
        var nextFD: Int32 = 100
        var opens = 0
        var openedPaths: [String] = []
        /// Buffer storage (addresses, so the state stays Sendable), queued and filled indices.
        var buffers: [(address: UInt, length: Int)] = []
        var queued: [Int] = []
        var filled: [(index: Int, bytes: Int)] = []
        var streaming = false
        var mapped: Set<UInt> = []
        var log: [String] = []
    }

    let state = Mutex(State())

    func with<T, E: Error>(_ body: (inout State) throws(E) -> T) throws(E) -> T {
        try state.withLock { (s) throws(E) in try body(&s) }
    }

    func unplug() { with { $0.present = false } }
    func replug() { with { $0.present = true } }

    /// The frame the device produces as number `sequence`: MJPEG carries a JPEG comment
    /// "frame N" so a test can tell frames apart; YUYV frames are colour bars whose first luma byte is N.
    static func frame(_ mode: Mode, sequence: Int) -> [UInt8] {
        let width = mode.width, height = mode.height
        var yuyv = [UInt8](repeating: 0, count: width * height * 2)
        for y in 0..<height {
            for x in stride(from: 0, to: width, by: 2) {
                let i = (y * width + x) * 2
                let luma = UInt8(40 + (x * 180) / width)
                yuyv[i] = luma; yuyv[i + 1] = 90; yuyv[i + 2] = luma; yuyv[i + 3] = 200
            }
        }
        yuyv[0] = UInt8(truncatingIfNeeded: sequence)
        guard mode.format.isJPEG else { return yuyv }
        let jpeg = try! yuyv.withUnsafeBytes {
            try JPEG.encodeYUYV($0, width: width, height: height, bytesPerLine: width * 2, quality: 80)
        }
        let comment = Array("frame \(sequence)".utf8)
        let length = comment.count + 2
        return [0xFF, 0xD8, 0xFF, 0xFE, UInt8(length >> 8), UInt8(length & 0xFF)] + comment + jpeg.dropFirst(2)
    }

    // MARK: DeviceIO

    func open(_ path: String, flags: Int32) throws -> Int32 {
        try with { s in
            guard s.present else { throw DeviceError(errno: ENOENT, operation: "open", path: path) }
            s.nextFD += 1
            s.openFDs.insert(s.nextFD)
            s.opens += 1
            s.openedPaths.append(path)
            return s.nextFD
        }
    }

    func close(_ fd: Int32) {
        with { s in
            s.openFDs.remove(fd)
            // Closing the last descriptor stops the stream and frees the buffers, as the kernel does.
            if s.openFDs.isEmpty {
                s.streaming = false
                s.queued = []
                s.filled = []
            }
        }
    }

    func ioctl(_ fd: Int32, request: UInt, arg: UnsafeMutableRawPointer?) throws -> Int32 {
        try with { s in
            func fail(_ code: Int32) -> DeviceError { DeviceError(errno: code, operation: V4L2.name(of: request)) }
            guard s.openFDs.contains(fd) else { throw fail(EBADF) }
            guard s.present else { throw fail(ENODEV) }
            s.log.append(V4L2.name(of: request))
            guard let arg else { throw fail(EFAULT) }
            switch request {
            case V4L2.querycap:
                var cap = v4l2_capability()
                withUnsafeMutableBytes(of: &cap.card) { _ = strcpy($0.baseAddress!.assumingMemoryBound(to: CChar.self), "Fake Camera") }
                var caps: UInt32 = 0
                if s.captureCapable { caps |= UInt32(V4L2_CAP_VIDEO_CAPTURE) } else { caps |= UInt32(V4L2_CAP_META_CAPTURE) }
                if s.streamingCapable { caps |= UInt32(V4L2_CAP_STREAMING) }
                if s.readCapable { caps |= UInt32(V4L2_CAP_READWRITE) }
                cap.device_caps = caps
                cap.capabilities = caps | UInt32(V4L2_CAP_DEVICE_CAPS)
                arg.storeBytes(of: cap, as: v4l2_capability.self)
            case V4L2.enumFormat:
                var desc = arg.load(as: v4l2_fmtdesc.self)
                guard Int(desc.index) < s.modes.count else { throw fail(EINVAL) }
                desc.pixelformat = s.modes[Int(desc.index)].0.code
                arg.storeBytes(of: desc, as: v4l2_fmtdesc.self)
            case V4L2.enumFrameSizes:
                var size = arg.load(as: v4l2_frmsizeenum.self)
                guard let sizes = s.modes.first(where: { $0.0.code == size.pixel_format })?.1, Int(size.index) < sizes.count
                else { throw fail(EINVAL) }
                size.type = UInt32(V4L2_FRMSIZE_TYPE_DISCRETE.rawValue)
                size.discrete = v4l2_frmsize_discrete(width: UInt32(sizes[Int(size.index)].0), height: UInt32(sizes[Int(size.index)].1))
                arg.storeBytes(of: size, as: v4l2_frmsizeenum.self)
            case V4L2.getFormat, V4L2.setFormat:
                var format = arg.load(as: v4l2_format.self)
                guard format.type == V4L2.captureType else { throw fail(EINVAL) }
                if request == V4L2.setFormat {
                    if s.busy || s.streaming { throw fail(EBUSY) }
                    // Like a real driver: an unknown format or size is replaced by the nearest it has.
                    let wanted = PixelFormat(code: format.fmt.pix.pixelformat)
                    let mode = s.modes.first { $0.0 == wanted } ?? s.modes[0]
                    let sizes = mode.1
                    let size =
                        sizes.first { $0.0 == Int(format.fmt.pix.width) && $0.1 == Int(format.fmt.pix.height) } ?? sizes[0]
                    s.current = Mode(format: mode.0, width: size.0, height: size.1)
                }
                let c = s.current
                format.fmt.pix.pixelformat = c.format.code
                format.fmt.pix.width = UInt32(c.width)
                format.fmt.pix.height = UInt32(c.height)
                format.fmt.pix.bytesperline = c.format.isJPEG ? 0 : UInt32(c.width * 2)
                format.fmt.pix.sizeimage = UInt32(c.width * c.height * 2)
                arg.storeBytes(of: format, as: v4l2_format.self)
            case V4L2.setParameters:
                let parameters = arg.load(as: v4l2_streamparm.self)
                let t = parameters.parm.capture.timeperframe
                s.frameInterval = (t.numerator, t.denominator)
            case V4L2.requestBuffers:
                let wanted = arg.load(as: v4l2_requestbuffers.self)
                guard wanted.memory == V4L2.memoryMMap, s.streamingCapable else { throw fail(EINVAL) }
                if s.busy { throw fail(EBUSY) }
                if wanted.count == 0 {
                    guard s.mapped.isEmpty else { throw fail(EBUSY) }
                    for buffer in s.buffers { UnsafeMutableRawPointer(bitPattern: buffer.address)!.deallocate() }
                    s.buffers = []
                } else {
                    let length = s.current.width * s.current.height * 2
                    s.buffers = (0..<Int(wanted.count)).map { _ in
                        (UInt(bitPattern: UnsafeMutableRawPointer.allocate(byteCount: length, alignment: 16)), length)
                    }
                }
                s.queued = []
                s.filled = []
            case V4L2.queryBuffer:
                var buffer = arg.load(as: v4l2_buffer.self)
                guard Int(buffer.index) < s.buffers.count else { throw fail(EINVAL) }
                buffer.length = UInt32(s.buffers[Int(buffer.index)].length)
                buffer.m.offset = buffer.index * 4096
                arg.storeBytes(of: buffer, as: v4l2_buffer.self)
            case V4L2.queueBuffer:
                let buffer = arg.load(as: v4l2_buffer.self)
                guard Int(buffer.index) < s.buffers.count, !s.queued.contains(Int(buffer.index)) else { throw fail(EINVAL) }
                s.queued.append(Int(buffer.index))
            case V4L2.dequeueBuffer:
                var buffer = arg.load(as: v4l2_buffer.self)
                guard s.streaming else { throw fail(EINVAL) }
                guard !s.filled.isEmpty else { throw fail(EAGAIN) }
                let done = s.filled.removeFirst()
                buffer.index = UInt32(done.index)
                buffer.bytesused = UInt32(done.bytes)
                arg.storeBytes(of: buffer, as: v4l2_buffer.self)
            case V4L2.streamOn:
                s.streaming = true
            case V4L2.streamOff:
                s.streaming = false
                s.queued = []
                s.filled = []
            default:
                throw fail(ENOTTY)
            }
            return 0
        }
    }

    func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        try with { s in
            guard s.present else { throw DeviceError(errno: ENODEV, operation: "read") }
            guard s.readCapable else { throw DeviceError(errno: EINVAL, operation: "read") }
            s.sequence += 1
            let frame = Self.frame(s.current, sequence: s.sequence)
            let count = min(frame.count, buffer.count)
            buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: frame.withUnsafeBytes { $0 }[0..<count]))
            return count
        }
    }

    func write(_ fd: Int32, from buffer: UnsafeRawBufferPointer) throws -> Int {
        throw DeviceError(errno: EINVAL, operation: "write")
    }

    func mmap(_ fd: Int32, length: Int, offset: Int) throws -> UnsafeMutableRawPointer {
        try with { s in
            guard s.present else { throw DeviceError(errno: ENODEV, operation: "mmap") }
            let index = offset / 4096
            guard index < s.buffers.count, s.buffers[index].length == length else {
                throw DeviceError(errno: EINVAL, operation: "mmap")
            }
            s.mapped.insert(s.buffers[index].address)
            return UnsafeMutableRawPointer(bitPattern: s.buffers[index].address)!
        }
    }

    func munmap(_ pointer: UnsafeMutableRawPointer, length: Int) {
        with { _ = $0.mapped.remove(UInt(bitPattern: pointer)) }
    }

    /// Each poll lets the camera fill `framesPerPoll` queued buffers.
    func poll(_ fd: Int32, events: Int16, timeoutMilliseconds: Int32) throws -> Int16 {
        with { s in
            guard s.present else { return Int16(POLLERR) }
            guard s.streaming else { return s.readCapable ? Int16(POLLIN) : Int16(POLLERR) }
            for _ in 0..<s.framesPerPoll where !s.queued.isEmpty {
                let index = s.queued.removeFirst()
                s.sequence += 1
                let frame = Self.frame(s.current, sequence: s.sequence)
                let buffer = s.buffers[index]
                let count = min(frame.count, buffer.length)
                frame.withUnsafeBytes {
                    UnsafeMutableRawPointer(bitPattern: buffer.address)!.copyMemory(from: $0.baseAddress!, byteCount: count)
                }
                s.filled.append((index, count))
            }
            return s.filled.isEmpty ? 0 : Int16(POLLIN)
        }
    }
}
