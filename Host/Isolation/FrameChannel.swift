import CFerrySharedRing
import FerryClock
import FerrySystem
import Foundation
#if canImport(Glibc)
    import Glibc
#endif

/// Frames over one end of a socketpair, and over a ``SharedRing`` when the two processes share
/// one. Used by one caller at a time (the host serialises calls to a plugin process; the child
/// serves one request at a time).
package final class FrameChannel: @unchecked Sendable {
    // @unchecked: `buffer`, `chunk`, `slicing`, `spinPolicy` and the ring's consumer side are touched
    // only by the one reader at a time described above (the host's IsolatedModule holds its call
    // lock around every use; the child reads on its serving thread); `sendLock` keeps frames whole
    // when a plugin thread sends request_sync meanwhile, and guards the ring's producer side;
    // `descriptor` and `ring` never change.
    package let descriptor: Int32
    /// The shared-memory fast path, when the peer maps the same ring.
    package let ring: SharedRing?
    private var buffer = FrameBuffer()
    /// What each `recv` reads into, before its bytes join `buffer`: allocated once, not per call.
    private var chunk = [UInt8](repeating: 0, count: 64 * 1024)
    /// Whether the socket's receive timeout gives the deadline slices (nil: not tried yet).
    private var slicing: Bool?
    /// Whether a receive on the ring spins before it sleeps.
    private var spinPolicy = SpinPolicy()
    /// A socket frame read right after a ring frame (see `receive(ring:…)`), returned next.
    private var readAhead: ChannelFrame?
    private let sendLock = Lock()
    /// How often a reader with a deadline looks at its clock while nothing arrives.
    private static let sliceMilliseconds = 20

    package init(descriptor: Int32, ring: SharedRing? = nil) {
        self.descriptor = descriptor
        self.ring = ring
    }

    /// Why a receive ended without a frame.
    package enum Failure: Error, Sendable, Equatable {
        /// The other end closed (the process exited or crashed).
        case closed
        /// No whole frame before the deadline.
        case timedOut
        /// Bytes that are not a frame, or an I/O error.
        case broken(String)
    }

    /// Sends through the ring when the frame fits and the peer has read every frame sent before
    /// (ringing the doorbell if it sleeps), else over the socket; either way frames arrive in the
    /// order they were sent.
    package func send(_ frame: ChannelFrame) throws(Failure) {
        let bytes = ChannelCodec.encode(frame)
        sendLock.lock()
        defer { sendLock.unlock() }
        guard let ring else { return try write(bytes) }
        if let wake = ring.publish(bytes) {
            if wake { ring.ringPeer() }
        } else {
            try write(bytes)
            ring.countSocketFrame()
        }
    }

    private func write(_ bytes: [UInt8]) throws(Failure) {
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
        guard let ring else { return try receiveFromSocket(deadline: deadline, clock: clock) }
        return try receive(ring: ring, deadline: deadline, clock: clock)
    }

    /// A frame from the ring or the socket, whichever has one: read-ahead frames first, then the
    /// slot, then frames the peer counted onto the socket; else spin for up to the spin window
    /// (while ``SpinPolicy`` says spinning pays) and then sleep on the socket and the ring's
    /// doorbell (``SharedRing``) until the doorbell, a socket frame, the peer's exit (EOF) or a
    /// deadline slice ends the wait.
    private func receive(ring: SharedRing, deadline: Duration?, clock: any FerryClock) throws(Failure) -> ChannelFrame {
        let spin = spinPolicy.shouldSpin()
        let began = spin ? Self.monotonicNanoseconds() : 0
        var spins = 0
        var spinning = spin
        while true {
            let taken: ChannelFrame?
            do throws(ChannelError) {
                if let frame = readAhead {
                    readAhead = nil
                    return frame
                }
                if let frame = try buffer.next() {
                    ring.noteSocketFrameRead()
                    return frame
                }
                taken = try ring.take()
            } catch {
                throw .broken(error.description)
            }
            if let frame = taken {
                if spinning { spinPolicy.spun(succeeded: true) }
                // Bytes on the socket now came after the frame (a frame goes through the ring only
                // once every earlier socket frame is read), or were written behind the ring's back:
                // garbage, which must fail this call as it would without the ring. So the host
                // reads one socket frame now, and returns it next. One non-blocking peek per
                // reply: the only syscall of a call when both sides spin.
                guard ring.side == .host, socketHasBytes() else { return frame }
                do throws(Failure) {
                    readAhead = try receiveFromSocket(deadline: deadline, clock: clock)
                    ring.noteSocketFrameRead()
                } catch {
                    // The process answered, then exited: the next receive reports it.
                    guard error == .closed else { throw error }
                }
                return frame
            }
            if ring.socketFramesPending {
                let frame = try receiveFromSocket(deadline: deadline, clock: clock)
                ring.noteSocketFrameRead()
                return frame
            }
            if spinning {
                spins += 1
                // No sched_yield here: on a busy machine it hands the core to another process for a
                // whole time slice (it tripled the median call in the benchmark); the window bounds the spin.
                ferry_ring_cpu_relax()
                if spins & 15 != 0 || Self.monotonicNanoseconds() - began <= SpinPolicy.windowNanoseconds { continue }
                spinPolicy.spun(succeeded: false)
                spinning = false
            }
            guard ring.park() else { continue }
            let socketReady: Bool
            do throws(Failure) {
                socketReady = try sleep(ring: ring, deadline: deadline, clock: clock)
            } catch {
                ring.unpark()
                throw error
            }
            ring.unpark()
            // A frame in the slot came before what is on the socket now: take it first.
            guard socketReady, !ring.hasFrame else { continue }
            let frame = try receiveFromSocket(deadline: deadline, clock: clock)
            ring.noteSocketFrameRead()
            return frame
        }
    }

    /// Sleeps until the doorbell rings (false) or the socket has bytes or its end (true), in
    /// slices of real time when there is a deadline, which is checked on `clock` between them.
    private func sleep(ring: SharedRing, deadline: Duration?, clock: any FerryClock) throws(Failure) -> Bool {
        while true {
            if let deadline, clock.uptime() >= deadline { throw .timedOut }
            var watched = [
                pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0), pollfd(fd: ring.bell, events: Int16(POLLIN), revents: 0),
            ]
            let ready = poll(&watched, 2, deadline == nil ? -1 : Int32(Self.sliceMilliseconds))
            if ready < 0 {
                if errno == EINTR { continue }
                throw .broken("cannot wait for the plugin channel: \(String(cString: strerror(errno)))")
            }
            if watched[1].revents != 0 {
                ring.silenceBell()
                return false
            }
            // POLLHUP or POLLERR too: the read reports the end.
            if watched[0].revents != 0 { return true }
        }
    }

    private func socketHasBytes() -> Bool {
        var byte: UInt8 = 0
        return recv(descriptor, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT)) != -1 || (errno != EAGAIN && errno != EWOULDBLOCK)
    }

    private static func monotonicNanoseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
    }

    /// The next frame from the read-ahead buffer or the socket.
    private func receiveFromSocket(deadline: Duration?, clock: any FerryClock) throws(Failure) -> ChannelFrame {
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

/// When a receive on the shared ring spins for its frame before it sleeps on the socket. Spinning
/// pays only while the peer runs at the same time on another core and answers within the window
/// (a tight loop of calls on a quiet machine); when it does not (an idle module, a 10 Hz
/// collector, a machine busier than its cores, where a spinning process only delays the one it
/// waits for), the window is burnt for nothing. So `missesToStop` waits in a row that spun in vain
/// turn spinning off (one alone is a preemption of the peer, which would otherwise cost the next
/// `probeEvery` calls a sleep each), and then only every `probeEvery`-th wait spins, to find out
/// whether it pays again.
package struct SpinPolicy: Sendable, Equatable {
    /// How long one wait spins: several round trips of a cheap call, short enough that a lost bet
    /// costs little CPU.
    package static let windowNanoseconds: UInt64 = 20_000
    package static let probeEvery = 64
    package static let missesToStop = 3
    private var misses = 0
    private var waitsSinceProbe = 0
    package init() {}

    /// Whether the next wait spins first.
    package mutating func shouldSpin() -> Bool {
        if misses < Self.missesToStop { return true }
        waitsSinceProbe += 1
        guard waitsSinceProbe >= Self.probeEvery else { return false }
        waitsSinceProbe = 0
        return true
    }

    /// What the spin of a wait came to: the frame within the window, or not. A probe that misses
    /// keeps spinning off.
    package mutating func spun(succeeded: Bool) {
        misses = succeeded ? 0 : min(misses + 1, Self.missesToStop)
    }
}
