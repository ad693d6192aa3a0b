import FerryClock
import Foundation
#if canImport(Glibc)
    import Glibc
#endif

/// Frames over one end of a socketpair. Used by one caller at a time (the host serialises calls
/// to a plugin process; the child serves one request at a time).
package final class FrameChannel: @unchecked Sendable {
    // @unchecked: `buffer`, `chunk` and `slicing` are touched only by the one reader at a time
    // described above (the host's IsolatedModule holds its call lock around every use; the child
    // reads on its serving thread); `sendLock` keeps frames whole when a plugin thread sends
    // request_sync meanwhile; `descriptor` never changes.
    package let descriptor: Int32
    private var buffer = FrameBuffer()
    /// What each `recv` reads into, before its bytes join `buffer`: allocated once, not per call.
    private var chunk = [UInt8](repeating: 0, count: 64 * 1024)
    /// Whether the socket's receive timeout gives the deadline slices (nil: not tried yet).
    private var slicing: Bool?
    private let sendLock = NSLock()
    /// How often a reader with a deadline looks at its clock while nothing arrives.
    private static let sliceMilliseconds = 20

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
    ///
    /// One `recv` per frame in the common case: it takes whatever has arrived (a whole small frame,
    /// or several) into a read buffer kept for the channel's life, and frames already read are
    /// returned without touching the socket. The slices come from the socket's receive timeout, so
    /// a wait is the `recv` itself, not a `poll` before it.
    package func receive(deadline: Duration? = nil, clock: any FerryClock = SystemClock()) throws(Failure) -> ChannelFrame {
        while true {
            do throws(ChannelError) {
                if let frame = try buffer.next() { return frame }
            } catch {
                throw .broken(error.description)
            }
            if let deadline {
                if clock.uptime() >= deadline { throw .timedOut }
                guard try waitOneSlice() else { continue }
            }
            let read = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if read == 0 { throw .closed }
            if read < 0 {
                // EAGAIN: a slice of the receive timeout passed with nothing; look at the deadline again.
                if errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK { continue }
                if errno == ECONNRESET { throw .closed }
                throw .broken("cannot read the plugin channel: \(String(cString: strerror(errno)))")
            }
            buffer.append(chunk[0..<read])
        }
    }

    /// Whether to `recv` now, so that it returns within one slice. Sets the socket's receive
    /// timeout the first time (only readers with deadlines want it: the child's reader blocks
    /// without waking up) and then always says yes; where that fails (not a socket), waits one
    /// slice with `poll` and says whether bytes came.
    private func waitOneSlice() throws(Failure) -> Bool {
        if slicing == nil {
            var slice = timeval(tv_sec: 0, tv_usec: suseconds_t(Self.sliceMilliseconds * 1000))
            slicing = setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &slice, socklen_t(MemoryLayout<timeval>.size)) == 0
        }
        if slicing == true { return true }
        var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        let ready = poll(&poller, 1, Int32(Self.sliceMilliseconds))
        if ready < 0 && errno != EINTR { throw .broken("cannot wait for the plugin channel: \(String(cString: strerror(errno)))") }
        return ready > 0
    }

    package func close() { _ = Glibc.close(descriptor) }
}
