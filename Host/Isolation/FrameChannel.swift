import FerryClock
import Foundation
#if canImport(Glibc)
    import Glibc
#endif

/// Frames over one end of a socketpair. Used by one caller at a time (the host serialises calls
/// to a plugin process; the child serves one request at a time).
package final class FrameChannel: @unchecked Sendable {
    // @unchecked: `buffer` is touched only by the one reader at a time described above (the
    // host's IsolatedModule holds its call lock around every use; the child reads on its serving
    // thread); `sendLock` keeps frames whole when a plugin thread sends request_sync meanwhile;
    // `descriptor` never changes.
    package let descriptor: Int32
    private var buffer = FrameBuffer()
    private let sendLock = NSLock()

    package init(descriptor: Int32) { self.descriptor = descriptor }

    /// Why a receive ended without a frame.
    package enum Failure: Error, Sendable, Equatable {
        /// The other end closed (the process exited or crashed).
        case closed
        /// No whole frame before the deadline.
        case timedOut
        /// Bytes that are not a frame, or an I/O error.
        case broken(String)
    }

    package func send(_ frame: ChannelFrame) throws(Failure) {
        let bytes = ChannelCodec.encode(frame)
        sendLock.lock()
        defer { sendLock.unlock() }
        var offset = 0
        while offset < bytes.count {
            // MSG_NOSIGNAL: a dead peer is an error to handle, never a SIGPIPE that kills the host.
            let written = bytes[offset...].withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if written < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                if errno == EPIPE || errno == ECONNRESET { throw .closed }
                throw .broken("cannot write to the plugin channel: \(String(cString: strerror(errno)))")
            }
            offset += written
        }
    }

    /// Waits for the next frame. With a deadline, waits in short slices of real time and gives up
    /// once `clock.uptime()` passes it, so the deadline is on the injected clock.
    package func receive(deadline: Duration? = nil, clock: any FerryClock = SystemClock()) throws(Failure) -> ChannelFrame {
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            do throws(ChannelError) {
                if let frame = try buffer.next() { return frame }
            } catch {
                throw .broken(error.description)
            }
            if let deadline {
                if clock.uptime() >= deadline { throw .timedOut }
                var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
                let ready = poll(&poller, 1, 20)
                if ready == 0 || (ready < 0 && errno == EINTR) { continue }
                if ready < 0 { throw .broken("cannot wait for the plugin channel: \(String(cString: strerror(errno)))") }
            }
            let count = min(chunk.count, buffer.wanted)
            let read = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, count, 0) }
            if read == 0 { throw .closed }
            if read < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                if errno == ECONNRESET { throw .closed }
                throw .broken("cannot read the plugin channel: \(String(cString: strerror(errno)))")
            }
            buffer.append(chunk[0..<read])
        }
    }

    package func close() { _ = Glibc.close(descriptor) }
}
