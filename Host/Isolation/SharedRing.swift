import CFerrySharedRing
import Foundation
#if canImport(Glibc)
    import Glibc
#endif

/// The shared-memory fast path of a plugin channel: one slot per direction in a sealed memfd both
/// processes map, so a call and its reply cross without a system call while the other side is
/// awake. The socket pair stays the channel's spine (``FrameChannel`` decides what goes where):
/// a frame too big for a slot, or sent before the peer has read every earlier frame, goes over
/// the socket. A side with nothing to read sleeps in `poll` on the socket and its doorbell (an
/// eventfd), so the peer's exit still wakes it as an EOF and deadlines work as without the ring;
/// the peer, seeing it asleep, rings the doorbell. An eventfd and not a byte on the socket: a
/// Unix socket's wake-up is a "sync" one, which makes the scheduler run the sleeper on the
/// waker's core, so host and plugin process would end up taking turns on one core and never
/// both spin; an eventfd's wake-up lets the sleeper run on an idle core.
///
/// Per direction, the producer writes `sequence`, `socketed` and `length` and the frame bytes;
/// the consumer writes `taken` (the last sequence it copied out), `socketTaken` and `parked`.
/// Counters are 32-bit and wrap. Everything read from the peer is checked: the plugin process can write any
/// byte of the mapping at any moment, so the host copies a frame out before decoding it, and a
/// length or sequence that cannot be right is a broken channel, never a crash.
package final class SharedRing: @unchecked Sendable {
    // @unchecked: the producer fields (`sent`) are used only under the owning FrameChannel's
    // send lock; the consumer fields (`taken`, `socketFramesRead`, `copy`) only by its one reader
    // at a time (the same discipline as FrameChannel's read buffer). The mapping itself is shared
    // with the other process and only touched through the atomics of ferry_shared_ring.h or by
    // copying bytes that are validated afterwards. `bell` and `peerBell` never change.

    /// Which end this is: the host produces into the first direction, the plugin process into the second.
    package enum Side: Sendable { case host, child }

    /// A frame up to this size goes through the slot; readings and most replies are far smaller.
    package static let capacity = 64 * 1024
    static let magic: UInt32 = 0x4752_5246  // "FRRG"
    static let version: UInt32 = 1
    /// Bytes before the first direction: magic, version, capacity.
    static let headerSize = 64
    /// Bytes of one direction before its slot: the producer's words and the consumer's, on cache lines of their own.
    static let directionHeader = 128
    package static var size: Int { headerSize + 2 * (directionHeader + capacity) }

    /// Where each word of a direction lives, from the start of the direction.
    package enum Field: Int, Sendable {
        /// Producer: how many frames it has put in the slot.
        case sequence = 0
        /// Producer: how many frames it has sent over the socket instead.
        case socketed = 4
        /// Producer: the byte length of the frame in the slot.
        case length = 8
        /// Consumer: the sequence of the last frame it copied out; the slot is free when it equals `sequence`.
        case taken = 64
        /// Consumer: 1 while it sleeps and wants its doorbell rung for the next slot frame.
        case parked = 68
        /// Consumer: how many of the producer's socket frames it has read. The slot is used only
        /// when all of them are, so frames arrive in the order they were sent whichever way each went.
        case socketTaken = 72
    }

    package let region: UnsafeMutableRawPointer
    let side: Side
    /// The eventfd this side sleeps on, and the peer's, which it rings.
    package let bell: Int32
    let peerBell: Int32
    /// The direction this side writes frames into, and the one it reads from.
    let outgoing: UnsafeMutableRawPointer
    let incoming: UnsafeMutableRawPointer
    /// Producer: the sequence of the last frame put in the outgoing slot.
    private var sent: UInt32
    /// Consumer: the sequence of the last frame taken from the incoming slot, and how many of the
    /// peer's socket frames have been read.
    private var taken: UInt32
    private var socketFramesRead: UInt32
    /// Where an incoming frame is copied before it is decoded, so the peer cannot change it meanwhile.
    private let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: SharedRing.capacity, alignment: 8)

    /// What the child gets besides the channel: the memfd (the caller closes it once the child has
    /// its copy) and the two doorbells, its own and the host's (the host's ring owns these).
    package struct ChildDescriptors: Sendable {
        package var memory: Int32
        package var bell: Int32
        package var hostBell: Int32
    }

    /// The host's end: a new sealed memfd, mapped, and a doorbell for each side. `firstSequence`
    /// starts every counter elsewhere than 0 (tests start it just below the wrap).
    package static func create(firstSequence: UInt32 = 0) throws(ChannelError) -> (ring: SharedRing, child: ChildDescriptors) {
        func failure(_ what: String) -> ChannelError {
            ChannelError("cannot make the shared ring for a plugin process (\(what)): \(String(cString: strerror(errno)))")
        }
        let descriptor = ferry_ring_memfd("ferry-plugin-ring", size)
        guard descriptor >= 0 else { throw failure("memfd") }
        let hostBell = ferry_ring_eventfd()
        let childBell = ferry_ring_eventfd()
        let region = map(descriptor)
        guard let region, hostBell >= 0, childBell >= 0 else {
            let error = failure(region == nil ? "mmap" : "eventfd")
            for open in [descriptor, hostBell, childBell] where open >= 0 { Glibc.close(open) }
            if let region { munmap(region, size) }
            throw error
        }
        word(region, 0).pointee = magic
        word(region, 4).pointee = version
        word(region, 8).pointee = UInt32(capacity)
        for direction in 0..<2 {
            let base = region + headerSize + direction * (directionHeader + capacity)
            for field in [Field.sequence, .socketed, .taken, .socketTaken] { ferry_ring_store(word(base, field.rawValue), firstSequence) }
        }
        let ring = SharedRing(region: region, side: .host, bell: hostBell, peerBell: childBell)
        return (ring, ChildDescriptors(memory: descriptor, bell: childBell, hostBell: hostBell))
    }

    /// The plugin process's end: maps the host's memfd after checking it is one (its size, seals
    /// and header); sleeps on `bell` and rings `peerBell`, and closes both when it goes.
    package convenience init(descriptor: Int32, bell: Int32, peerBell: Int32) throws(ChannelError) {
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw ChannelError("the shared ring's descriptor \(descriptor) is not open") }
        guard info.st_size == Self.size, ferry_ring_is_sealed(descriptor) != 0 else {
            throw ChannelError("descriptor \(descriptor) is not a sealed shared ring of \(Self.size) bytes")
        }
        guard fcntl(bell, F_GETFD) >= 0, fcntl(peerBell, F_GETFD) >= 0 else {
            throw ChannelError("the shared ring's doorbells \(bell) and \(peerBell) are not both open")
        }
        guard let region = Self.map(descriptor) else {
            throw ChannelError("cannot map the shared ring: \(String(cString: strerror(errno)))")
        }
        guard Self.word(region, 0).pointee == Self.magic, Self.word(region, 4).pointee == Self.version,
            Self.word(region, 8).pointee == UInt32(Self.capacity)
        else {
            munmap(region, Self.size)
            throw ChannelError("the shared ring has another layout than this ferry's")
        }
        self.init(region: region, side: .child, bell: bell, peerBell: peerBell)
    }

    private init(region: UnsafeMutableRawPointer, side: Side, bell: Int32, peerBell: Int32) {
        self.region = region
        self.side = side
        self.bell = bell
        self.peerBell = peerBell
        let first = region + Self.headerSize
        let second = first + Self.directionHeader + Self.capacity
        (outgoing, incoming) = side == .host ? (first, second) : (second, first)
        sent = ferry_ring_load(Self.word(outgoing, Field.sequence.rawValue))
        taken = ferry_ring_load(Self.word(incoming, Field.sequence.rawValue))
        socketFramesRead = ferry_ring_load(Self.word(incoming, Field.socketed.rawValue))
    }

    deinit {
        munmap(region, Self.size)
        copy.deallocate()
        Glibc.close(bell)
        Glibc.close(peerBell)
    }

    private static func map(_ descriptor: Int32) -> UnsafeMutableRawPointer? {
        let address = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, descriptor, 0)
        return address == MAP_FAILED ? nil : address
    }

    private static func word(_ base: UnsafeMutableRawPointer, _ offset: Int) -> UnsafeMutablePointer<UInt32> {
        (base + offset).assumingMemoryBound(to: UInt32.self)
    }

    /// The word `field` of the direction this side reads from (`incoming`) or writes to; for tests
    /// that play a peer writing garbage.
    package func field(_ field: Field, incoming isIncoming: Bool) -> UnsafeMutablePointer<UInt32> {
        Self.word(isIncoming ? incoming : outgoing, field.rawValue)
    }

    /// The slot of the direction this side reads from (`incoming`) or writes to; for tests and
    /// the fuzz target that play a peer writing garbage.
    package func slot(incoming isIncoming: Bool) -> UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(start: (isIncoming ? incoming : outgoing) + Self.directionHeader, count: Self.capacity)
    }

    // MARK: - Producer (under the channel's send lock)

    /// Puts `bytes` in the outgoing slot if they fit and the peer has taken every frame sent before.
    /// Returns nil when not (send them over the socket), else whether the peer sleeps and must be
    /// woken with ``ringPeer()``.
    func publish(_ bytes: [UInt8]) -> Bool? {
        guard bytes.count <= Self.capacity, ferry_ring_load(field(.taken, incoming: false)) == sent,
            ferry_ring_load(field(.socketTaken, incoming: false)) == ferry_ring_load(field(.socketed, incoming: false))
        else { return nil }
        bytes.withUnsafeBytes { (outgoing + Self.directionHeader).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        ferry_ring_store(field(.length, incoming: false), UInt32(bytes.count))
        sent &+= 1
        ferry_ring_store(field(.sequence, incoming: false), sent)
        // After the sequence (both sequentially consistent): either the peer sees the frame before
        // it sleeps, or this sees it asleep. Whoever clears `parked` first owns the wake-up.
        let parked = field(.parked, incoming: false)
        return ferry_ring_load(parked) != 0 && ferry_ring_exchange(parked, 0) != 0
    }

    /// Wakes the peer sleeping on its doorbell.
    func ringPeer() {
        var one: UInt64 = 1
        // Cannot block (non-blocking) and cannot overflow in practice: a wake-up needs only a non-zero count.
        _ = write(peerBell, &one, 8)
    }

    /// Empties this side's doorbell after it rang.
    func silenceBell() {
        var count: UInt64 = 0
        _ = read(bell, &count, 8)
    }

    /// Counts a frame sent over the socket instead, after it is written, so a peer that does not
    /// sleep on the socket knows to read it.
    func countSocketFrame() {
        let socketed = field(.socketed, incoming: false)
        ferry_ring_store(socketed, ferry_ring_load(socketed) &+ 1)
    }

    // MARK: - Consumer (one reader at a time)

    /// The frame in the incoming slot, nil when there is none; throws when what the peer wrote
    /// cannot be a frame. The slot is freed (the frame copied out) before decoding.
    package func take() throws(ChannelError) -> ChannelFrame? {
        let sequence = ferry_ring_load(field(.sequence, incoming: true))
        if sequence == taken { return nil }
        guard sequence == taken &+ 1 else {
            throw ChannelError("the shared ring's sequence went from \(taken) to \(sequence); it moves one frame at a time")
        }
        let length = Int(ferry_ring_load(field(.length, incoming: true)))
        guard length >= 5, length <= Self.capacity else {
            throw ChannelError("the shared ring holds a frame of \(length) bytes; it holds 5 to \(Self.capacity)")
        }
        copy.baseAddress!.copyMemory(from: incoming + Self.directionHeader, byteCount: length)
        taken = sequence
        ferry_ring_store(field(.taken, incoming: true), sequence)
        let frame = UnsafeRawBufferPointer(rebasing: copy[0..<length])
        let announced = try ChannelCodec.frameLength(frame)
        guard announced == length else { throw ChannelError("a frame in the shared ring announces \(announced) bytes in a slot of \(length)") }
        return try ChannelCodec.decode(frame)
    }

    /// Whether the peer has sent frames over the socket that are not read yet.
    var socketFramesPending: Bool {
        Int32(bitPattern: ferry_ring_load(field(.socketed, incoming: true)) &- socketFramesRead) > 0
    }

    /// Counts a frame read from the socket.
    func noteSocketFrameRead() {
        socketFramesRead &+= 1
        ferry_ring_store(field(.socketTaken, incoming: true), socketFramesRead)
    }

    /// Whether a frame waits in the incoming slot.
    var hasFrame: Bool { ferry_ring_load(field(.sequence, incoming: true)) != taken }

    /// Whether anything waits: a frame in the slot, or one on the socket.
    var hasWork: Bool { ferry_ring_load(field(.sequence, incoming: true)) != taken || socketFramesPending }

    /// Says this side sleeps (on the socket and its doorbell) from now on; false (and not parked)
    /// when work came meanwhile, so the caller looks again instead of sleeping.
    func park() -> Bool {
        ferry_ring_store(field(.parked, incoming: true), 1)
        if hasWork {
            unpark()
            return false
        }
        return true
    }

    func unpark() { ferry_ring_store(field(.parked, incoming: true), 0) }
}
