import CFerryV4L2
import FerryDevice
import FerrySDK

#if canImport(Glibc)
    import Glibc
#endif

/// V4L2 mmap streaming: a small ring of driver buffers mapped into this process, all queued, and
/// the stream on. A capture takes the newest filled buffer and gives every buffer back.
final class MMapStream {
    /// Enough to keep a camera streaming while one frame is copied out; few enough to stay fresh.
    static let bufferCount: UInt32 = 4

    struct Mapping {
        let pointer: UnsafeMutableRawPointer
        let length: Int
    }

    let file: DeviceFile
    private var mappings: [Mapping] = []
    private var streaming = false

    init(file: DeviceFile) throws {
        self.file = file
        do {
            var request = v4l2_requestbuffers()
            request.count = Self.bufferCount
            request.type = V4L2.captureType
            request.memory = V4L2.memoryMMap
            try file.ioctl(V4L2.requestBuffers, name: "VIDIOC_REQBUFS", value: &request)
            guard request.count >= 2 else {
                throw PluginError.retryLater(
                    "webcam: \(file.path) granted \(request.count) streaming buffer(s), fewer than the 2 needed; "
                        + "is another process streaming from it?")
            }
            for index in 0..<request.count {
                var buffer = Self.buffer(index: index)
                try file.ioctl(V4L2.queryBuffer, name: "VIDIOC_QUERYBUF", value: &buffer)
                let length = Int(buffer.length)
                let pointer = try file.mmap(length: length, offset: Int(buffer.m.offset))
                mappings.append(Mapping(pointer: pointer, length: length))
                try file.ioctl(V4L2.queueBuffer, name: "VIDIOC_QBUF", value: &buffer)
            }
            var type = Int32(V4L2.captureType)
            try file.ioctl(V4L2.streamOn, name: "VIDIOC_STREAMON", value: &type)
            streaming = true
        } catch {
            stop()
            throw error
        }
    }

    static func buffer(index: UInt32) -> v4l2_buffer {
        var buffer = v4l2_buffer()
        buffer.index = index
        buffer.type = V4L2.captureType
        buffer.memory = V4L2.memoryMMap
        return buffer
    }

    /// Dequeues every filled buffer, keeps the newest, requeues the rest; copies the newest out and
    /// requeues it too. Nil when no buffer is filled (EAGAIN).
    func newestFrame() throws -> [UInt8]? {
        guard var newest = try dequeue() else { return nil }
        while let next = try dequeue() {
            try requeue(newest)
            newest = next
        }
        defer { try? requeue(newest) }
        guard Int(newest.index) < mappings.count else {
            throw PluginError.fatal("webcam: \(file.path) returned buffer \(newest.index) of \(mappings.count)")
        }
        if newest.flags & UInt32(V4L2_BUF_FLAG_ERROR) != 0 {
            throw PluginError.retryLater("webcam: \(file.path) delivered a corrupted frame (V4L2_BUF_FLAG_ERROR); the next capture tries again")
        }
        let mapping = mappings[Int(newest.index)]
        let used = min(Int(newest.bytesused), mapping.length)
        return Array(UnsafeRawBufferPointer(start: mapping.pointer, count: used))
    }

    /// Gives every already-filled buffer back to the driver unread. Errors are left for the
    /// dequeue that follows the wait to report.
    func discardFilled() {
        while let buffer = try? dequeue() {
            guard (try? requeue(buffer)) != nil else { return }
        }
    }

    private func dequeue() throws -> v4l2_buffer? {
        var buffer = Self.buffer(index: 0)
        do {
            try file.ioctl(V4L2.dequeueBuffer, name: "VIDIOC_DQBUF", value: &buffer)
        } catch let error as DeviceError where error.errno == EAGAIN {
            return nil
        }
        return buffer
    }

    private func requeue(_ buffer: v4l2_buffer) throws {
        var buffer = buffer
        try file.ioctl(V4L2.queueBuffer, name: "VIDIOC_QBUF", value: &buffer)
    }

    /// STREAMOFF, unmap, free the driver's buffers. Errors are ignored: the device may be gone.
    func stop() {
        if streaming {
            var type = Int32(V4L2.captureType)
            _ = try? file.ioctl(V4L2.streamOff, name: "VIDIOC_STREAMOFF", value: &type)
            streaming = false
        }
        for mapping in mappings { file.io.munmap(mapping.pointer, length: mapping.length) }
        if !mappings.isEmpty {
            var release = v4l2_requestbuffers()
            release.type = V4L2.captureType
            release.memory = V4L2.memoryMMap
            _ = try? file.ioctl(V4L2.requestBuffers, name: "VIDIOC_REQBUFS", value: &release)
        }
        mappings = []
    }
}
