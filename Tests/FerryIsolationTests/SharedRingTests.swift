import FerryBSON
import FerryClock
import FerryIsolation
import FerryLoader
import FerryTestSupport
import Foundation
import Synchronization
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The channel's shared-memory fast path: both ends of a socket pair, each with its end of one
/// ring (mapped twice from the memfd, as the host and the plugin process map it).
@Suite(.ownThreads) struct SharedRingTests {
    final class Pair: Sendable {
        let host: FrameChannel
        let child: FrameChannel
        let hostRing: SharedRing
        let childRing: SharedRing

        init(firstSequence: UInt32 = 0) throws {
            var ends: [Int32] = [-1, -1]
            try #require(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &ends) == 0)
            let made = try SharedRing.create(firstSequence: firstSequence)
            defer { close(made.child.memory) }
            hostRing = made.ring
            // The child's own copies of the doorbells, as the spawn gives it.
            childRing = try SharedRing(descriptor: made.child.memory, bell: dup(made.child.bell), peerBell: dup(made.child.hostBell))
            host = FrameChannel(descriptor: ends[0], ring: hostRing)
            child = FrameChannel(descriptor: ends[1], ring: childRing)
        }

        deinit {
            host.close()
            child.close()
        }
    }

    /// Whether bytes wait on the socket for `channel` to read.
    static func socketHoldsBytes(_ channel: FrameChannel) -> Bool {
        var byte: UInt8 = 0
        return recv(channel.descriptor, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT)) > 0
    }

    static let smallMessages = ChannelCodecTests.messages.filter { ChannelCodec.encode(ChannelFrame(id: 1, message: $0)).count <= SharedRing.capacity }

    /// A reader on a thread of its own, for waits that must sleep on the socket; its result is
    /// waited for with a deadline.
    final class BackgroundReceive: Sendable {
        private let result = Mutex<Result<ChannelFrame, FrameChannel.Failure>?>(nil)
        private let done = DispatchSemaphore(value: 0)

        init(_ channel: FrameChannel, deadline: Duration, clock: any FerryClock) {
            Thread.detachNewThread { [self] in
                let outcome = Result { () throws(FrameChannel.Failure) in try channel.receive(deadline: deadline, clock: clock) }
                result.withLock { $0 = outcome }
                done.signal()
            }
        }

        func wait(seconds: Double = 30) -> Result<ChannelFrame, FrameChannel.Failure>? {
            guard done.wait(timeout: .now() + seconds) == .success else { return nil }
            return result.withLock { $0 }
        }
    }

    /// Waits (at most 30 s) until the host's reader says it sleeps.
    static func waitUntilParked(_ pair: Pair) -> Bool {
        eventually(timeout: 30) { pair.childRing.field(.parked, incoming: false).pointee == 1 }
    }

    @Test func callsAndRepliesCrossTheRingWithoutTouchingTheSocket() throws {
        let pair = try Pair()
        for (index, message) in Self.smallMessages.enumerated() {
            let request = ChannelFrame(id: Int64(index + 1), message: message)
            try pair.host.send(request)
            #expect(try pair.child.receive() == request)
            let reply = ChannelFrame(id: Int64(index + 1), message: .captured(.tabular(["n": .int64(Int64(index))])))
            try pair.child.send(reply)
            #expect(try pair.host.receive(deadline: .seconds(1_000_000)) == reply)
        }
        #expect(!Self.socketHoldsBytes(pair.host) && !Self.socketHoldsBytes(pair.child), "a frame went over the socket")
        #expect(pair.hostRing.field(.sequence, incoming: false).pointee == UInt32(Self.smallMessages.count))
        #expect(pair.hostRing.field(.sequence, incoming: true).pointee == UInt32(Self.smallMessages.count))
    }

    @Test func sequencesWrapAround() throws {
        let first = UInt32.max - 3
        let pair = try Pair(firstSequence: first)
        for round in 0..<10 {
            let request = ChannelFrame(id: Int64(round), message: .capture(instance: 1, method: "Readings", parameters: [:]))
            try pair.host.send(request)
            #expect(try pair.child.receive() == request)
            let reply = ChannelFrame(id: Int64(round), message: .captured(.tabular(["round": .int64(Int64(round))])))
            try pair.child.send(reply)
            #expect(try pair.host.receive(deadline: .seconds(1_000_000)) == reply)
        }
        #expect(!Self.socketHoldsBytes(pair.host) && !Self.socketHoldsBytes(pair.child), "a frame went over the socket")
        #expect(pair.hostRing.field(.sequence, incoming: false).pointee == first &+ 10)
        #expect(pair.childRing.field(.taken, incoming: true).pointee == first &+ 10)
    }

    @Test func framesTooBigForTheSlotGoOverTheSocketAndAllArriveInOrder() throws {
        let pair = try Pair()
        let image = (0..<(SharedRing.capacity + 1000)).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let small = ChannelFrame(id: 1, message: .captured(.tabular(["t": 1.5])))
        let big = ChannelFrame(id: 2, message: .captured(.binary([CapturedBinary(bytes: image, mimeType: "image/png")])))
        let afterBig = ChannelFrame(id: 3, message: .captured(.tabular(["t": 2.5])))
        try pair.child.send(small)  // the slot
        try pair.child.send(big)  // too big: the socket
        try pair.child.send(afterBig)  // small, but behind a socket frame: the socket too
        #expect(Self.socketHoldsBytes(pair.host))
        #expect(pair.childRing.field(.socketed, incoming: false).pointee == 2)
        var received: [ChannelFrame] = []
        for _ in 0..<3 { received.append(try pair.host.receive(deadline: .seconds(1_000_000))) }
        #expect(received == [small, big, afterBig])
        // Everything read: the next small frame takes the slot again.
        let last = ChannelFrame(id: 4, message: .closed)
        try pair.child.send(last)
        #expect(!Self.socketHoldsBytes(pair.host))
        #expect(try pair.host.receive(deadline: .seconds(1_000_000)) == last)
    }

    /// request_sync comes from any plugin thread, meanwhile the serving thread answers calls: both
    /// share the ring and the socket under the send lock, and nothing is lost or reordered.
    @Test func framesFromAnotherThreadInterleaveWithCallsWithoutLossOrReordering() throws {
        let pair = try Pair()
        let rounds = 300
        let syncsSent = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            for _ in 0..<rounds { try? pair.child.send(ChannelFrame(id: 0, message: .requestSync)) }
            syncsSent.signal()
        }
        let server = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            defer { server.signal() }
            for _ in 0..<rounds {
                guard let request = try? pair.child.receive(), case .capture = request.message else { return }
                try? pair.child.send(ChannelFrame(id: request.id, message: .captured(.tabular(["id": .int64(request.id)]))))
            }
        }
        var syncs = 0
        for id in 1...Int64(rounds) {
            try pair.host.send(ChannelFrame(id: id, message: .capture(instance: 1, method: "Readings", parameters: [:])))
            while true {
                let frame = try pair.host.receive(deadline: SystemClock().uptime() + .seconds(30))
                if case .requestSync = frame.message {
                    syncs += 1
                    continue
                }
                #expect(frame == ChannelFrame(id: id, message: .captured(.tabular(["id": .int64(id)]))))
                break
            }
        }
        #expect(server.wait(timeout: .now() + 30) == .success)
        #expect(syncsSent.wait(timeout: .now() + 30) == .success)
        while syncs < rounds {
            let frame = try pair.host.receive(deadline: SystemClock().uptime() + .seconds(30))
            #expect(frame.message == .requestSync)
            syncs += 1
        }
        #expect(syncs == rounds)
    }

    /// A plugin writing garbage to fd 3 itself, then answering through the ring: the garbage fails
    /// that call, as it would without the ring.
    @Test func garbageOnTheSocketBesideARingReplyFailsThatCall() throws {
        let pair = try Pair()
        let garbage: [UInt8] = [0xff, 0xff, 0xff, 0x7f] + Array("not a frame at all".utf8)
        #expect(garbage.withUnsafeBytes { send(pair.child.descriptor, $0.baseAddress, $0.count, 0) } == garbage.count)
        try pair.child.send(ChannelFrame(id: 1, message: .captured(.tabular(["count": 3]))))
        #expect(pair.childRing.field(.sequence, incoming: false).pointee == 1, "the reply went through the ring")
        do {
            let frame = try pair.host.receive(deadline: SystemClock().uptime() + .seconds(30))
            Issue.record("took \(frame)")
        } catch {
            guard case .broken = error else {
                Issue.record("\(error)")
                return
            }
        }
    }

    /// A process that answers and then exits: the answer is returned, the exit reported next.
    @Test func aReplyBeforeThePeersExitIsReturnedAndTheExitReportedNext() throws {
        let pair = try Pair()
        let reply = ChannelFrame(id: 1, message: .captured(.tabular(["count": 1])))
        try pair.child.send(reply)
        shutdown(pair.child.descriptor, Int32(SHUT_RDWR))
        #expect(try pair.host.receive(deadline: SystemClock().uptime() + .seconds(30)) == reply)
        #expect(throws: FrameChannel.Failure.closed) { try pair.host.receive(deadline: SystemClock().uptime() + .seconds(30)) }
    }

    /// What a plugin process that writes garbage into the ring gets: a broken channel, never a
    /// read outside the slot.
    @Test(arguments: [
        ("length past the slot", 1, UInt32(SharedRing.capacity + 1), "holds a frame of"),
        ("length below a frame", 1, 4, "holds a frame of"),
        ("length beyond the mapping", 1, UInt32.max, "holds a frame of"),
        ("sequence jumping ahead", 5, 20, "went from 0 to 5"),
        ("slot length not the frame's", 1, 40, "announces"),
    ] as [(String, UInt32, UInt32, String)])
    func garbageInTheRingBreaksTheChannel(case name: String, sequence: UInt32, length: UInt32, expected: String) throws {
        let pair = try Pair()
        let frame = ChannelCodec.encode(ChannelFrame(id: 1, message: .captured(.tabular(["t": 1.5]))))
        pair.hostRing.slot(incoming: true).copyBytes(from: frame)
        pair.hostRing.field(.length, incoming: true).pointee = length
        pair.hostRing.field(.sequence, incoming: true).pointee = sequence
        do {
            let frame = try pair.host.receive(deadline: .seconds(1_000_000))
            Issue.record("\(name): took \(frame)")
        } catch {
            guard case .broken(let message) = error else {
                Issue.record("\(name): \(error)")
                return
            }
            #expect(message.contains(expected), "\(name): \(message)")
        }
    }

    @Test func theDoorbellWakesASleepingReader() throws {
        let pair = try Pair()
        let reader = BackgroundReceive(pair.host, deadline: SystemClock().uptime() + .seconds(60), clock: SystemClock())
        #expect(Self.waitUntilParked(pair))
        let reply = ChannelFrame(id: 7, message: .captured(.tabular(["t": 3.5])))
        try pair.child.send(reply)
        #expect(try reader.wait()?.get() == reply)
        // The frame came through the slot, and nothing over the socket.
        #expect(!Self.socketHoldsBytes(pair.host))
        #expect(pair.hostRing.field(.taken, incoming: true).pointee == 1)
    }

    @Test func thePeerDyingWhileTheReaderSleepsIsReportedAtOnce() throws {
        let pair = try Pair()
        let reader = BackgroundReceive(pair.host, deadline: SystemClock().uptime() + .seconds(60), clock: SystemClock())
        #expect(Self.waitUntilParked(pair))
        // As the plugin process's exit does; the descriptor itself is closed once, by the pair.
        shutdown(pair.child.descriptor, Int32(SHUT_RDWR))
        let outcome = reader.wait()
        #expect(outcome.map { if case .failure(.closed) = $0 { true } else { false } } == true, "\(String(describing: outcome))")
    }

    @Test func aSleepingReaderGivesUpAtItsDeadlineOnTheInjectedClock() throws {
        let pair = try Pair()
        let clock = ManualClock()
        let reader = BackgroundReceive(pair.host, deadline: clock.uptime() + .seconds(5), clock: clock)
        #expect(Self.waitUntilParked(pair))
        clock.advance(by: .seconds(6))
        let outcome = reader.wait()
        #expect(outcome.map { if case .failure(.timedOut) = $0 { true } else { false } } == true, "\(String(describing: outcome))")
        #expect(pair.childRing.field(.parked, incoming: false).pointee == 0, "the reader left saying it sleeps")
    }

    @Test func onlyASealedRingOfTheRightSizeIsMapped() throws {
        let devNull = open("/dev/null", O_RDONLY)
        defer { close(devNull) }
        let made = try SharedRing.create()
        defer { close(made.child.memory) }
        let (bell, peerBell) = (dup(made.child.bell), dup(made.child.hostBell))
        defer {
            close(bell)
            close(peerBell)
        }
        #expect(throws: ChannelError.self) { try SharedRing(descriptor: devNull, bell: bell, peerBell: peerBell) }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ring-\(UUID().uuidString)").path
        let file = open(path, O_RDWR | O_CREAT, 0o600)
        defer {
            close(file)
            unlink(path)
        }
        try #require(ftruncate(file, off_t(SharedRing.size)) == 0)
        // The right size, but the plugin process could shrink it under the host's mapping.
        #expect(throws: ChannelError.self) { try SharedRing(descriptor: file, bell: bell, peerBell: peerBell) }
        // A descriptor number at the process's limit is never open. (A fixed number such as 999 can
        // be another test's ring when tests run in parallel: the ring would then be mapped, and its
        // deinit would close this test's doorbells, which the defer above closes again.)
        let neverOpen = Int32(getdtablesize())
        #expect(throws: ChannelError.self) { try SharedRing(descriptor: neverOpen, bell: bell, peerBell: peerBell) }
        // The memfd itself, but a doorbell missing.
        #expect(throws: ChannelError.self) { try SharedRing(descriptor: made.child.memory, bell: neverOpen, peerBell: peerBell) }
    }

    @Test func spinningStopsWhenItDoesNotPayAndIsTriedAgainNowAndThen() {
        var policy = SpinPolicy()
        func waits(_ count: Int) -> [Bool] { (0..<count).map { _ in policy.shouldSpin() } }
        #expect(waits(3) == [true, true, true])
        policy.spun(succeeded: true)
        #expect(waits(1) == [true])
        // One miss (the peer preempted once) keeps spinning on; a success forgets it.
        policy.spun(succeeded: false)
        #expect(waits(1) == [true])
        policy.spun(succeeded: true)
        for _ in 0..<SpinPolicy.missesToStop - 1 { policy.spun(succeeded: false) }
        #expect(waits(1) == [true])
        policy.spun(succeeded: false)
        let probing = waits(2 * SpinPolicy.probeEvery)
        #expect(probing.indices.filter { probing[$0] } == [SpinPolicy.probeEvery - 1, 2 * SpinPolicy.probeEvery - 1])
        // A probe that pays turns spinning back on.
        #expect(waits(SpinPolicy.probeEvery).last == true)
        policy.spun(succeeded: true)
        #expect(waits(2) == [true, true])
    }
}
