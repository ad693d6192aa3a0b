import FerryBSON
import FerryIsolation
import FerryLoader
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// How frames are read: whatever one read brings (several frames, or pieces of one) is split in
/// order, and frames read ahead are returned before the socket is touched again.
@Suite struct FrameChannelTests {
    /// The small messages, with a binary frame larger than the reader keeps storage for in the middle.
    static let frames: [ChannelFrame] = {
        var messages = ChannelCodecTests.messages
        let image = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        messages.insert(.captured(.binary([CapturedBinary(bytes: image, mimeType: "image/png")])), at: messages.count / 2)
        return messages.enumerated().map { ChannelFrame(id: Int64($0.offset), message: $0.element) }
    }()

    @Test(arguments: [1, 7, 4096, 65_536, Int.max])
    func framesArrivingInPiecesOfAnySizeAreSplitInOrder(pieceSize: Int) throws {
        let stream = Self.frames.flatMap(ChannelCodec.encode)
        var buffer = FrameBuffer()
        var decoded: [ChannelFrame] = []
        var offset = 0
        while offset < stream.count {
            let end = offset + min(pieceSize, stream.count - offset)
            buffer.append(stream[offset..<end])
            offset = end
            while let frame = try buffer.next() { decoded.append(frame) }
        }
        #expect(decoded == Self.frames)
        #expect(buffer.wanted == 4)
    }

    @Test func framesReadAheadAreReturnedAfterThePeerHasGone() throws {
        var pair: [Int32] = [-1, -1]
        try #require(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0)
        let writer = FrameChannel(descriptor: pair[0])
        let reader = FrameChannel(descriptor: pair[1])
        defer { reader.close() }
        let sent = Array(Self.frames.prefix(3))
        for frame in sent { try writer.send(frame) }
        writer.close()
        // The first read takes all three frames (they are in the socket already); the other two
        // come from what was read ahead, then the closed peer is reported.
        var received = [try reader.receive(deadline: .seconds(1_000_000))]
        // No byte is left in the socket: 0 (the peer's close seen) or -1 (EAGAIN: another test's
        // process spawn, between its fork and exec, may hold a copy of the writer's descriptor).
        var byte: UInt8 = 0
        #expect(recv(reader.descriptor, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT)) <= 0, "the socket still holds bytes")
        for _ in sent.dropFirst() { received.append(try reader.receive(deadline: .seconds(1_000_000))) }
        #expect(received == sent)
        #expect(throws: FrameChannel.Failure.closed) { try reader.receive(deadline: .seconds(1_000_000)) }
    }
}
