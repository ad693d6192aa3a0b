import FerryBSON
import FerryIsolation
import FerryLoader
import Testing

/// The plugin channel's frames: every message survives encoding, and bytes from a broken plugin
/// are refused with a reason, never a crash or an unbounded wait.
@Suite struct ChannelCodecTests {
    static let messages: [ChannelMessage] = [
        .hello(plugin: "p", version: "1.0", models: [IsolatedModelInfo(api: "rdk:component:sensor", model: "a:b:c", captureMethods: ["Readings"])], operators: ["$lttb (stage)"]),
        .create(api: "rdk:component:sensor", model: "a:b:c", config: ["name": "s", "attributes": ["x": 1.5]]),
        .created(instance: 42),
        .capture(instance: 42, method: "Readings", parameters: ["k": "v"]),
        .captured(.tabular(["readings": ["t": 21.5]])),
        .captured(.binary([CapturedBinary(bytes: [1, 2, 3], mimeType: "image/png"), CapturedBinary(bytes: [], mimeType: "image/jpeg", annotations: ["bboxes": []])])),
        .reconfigure(instance: 42, config: [:]),
        .reconfigured(applied: false),
        .doCommand(instance: 42, command: ["echo": true]),
        .commandResult(["echo": true]),
        .close(instance: 42),
        .closed,
        .error(PluginCallError(status: .retryLater, message: "bus busy")),
        .requestSync,
        .captureResource(name: "camera-1", method: "ReadImage", parameters: ["mime_type": "image/jpeg"]),
        .operatorCall(name: "$lttb", call: "stage", arguments: ["spec": ["points": 3], "docs": [["t": 1]]]),
        .operatorResult(["value": 2.5]),
    ]

    @Test(arguments: messages)
    func everyMessageRoundTrips(_ message: ChannelMessage) throws {
        let frame = ChannelFrame(id: 7, message: message)
        #expect(try ChannelCodec.decode(ChannelCodec.encode(frame)) == frame)
    }

    @Test func framesArrivingByteByByteAreSplitInOrder() throws {
        let frames = Self.messages.enumerated().map { ChannelFrame(id: Int64($0.offset), message: $0.element) }
        var buffer = FrameBuffer()
        var decoded: [ChannelFrame] = []
        for byte in frames.flatMap(ChannelCodec.encode) {
            buffer.append([byte])
            while let frame = try buffer.next() { decoded.append(frame) }
        }
        #expect(decoded == frames)
    }

    @Test func anOversizedOrUndersizedLengthPrefixIsRefusedBeforeReadingOn() {
        var huge = FrameBuffer()
        huge.append([0xff, 0xff, 0xff, 0x7f])
        #expect(throws: ChannelError.self) { try huge.next() }
        var tiny = FrameBuffer()
        tiny.append([4, 0, 0, 0])
        #expect(throws: ChannelError.self) { try tiny.next() }
        var partial = FrameBuffer()
        partial.append([100, 0, 0, 0, 1])
        #expect(partial.wanted == 95)
        let incomplete = try? partial.next()
        #expect(incomplete == .some(nil))
    }

    @Test func garbageAndWrongShapesAreRefusedWithTheReason() throws {
        func refusal(_ document: BSONDocument) -> String? {
            do {
                _ = try ChannelCodec.decode(document.encode())
                return nil
            } catch {
                return error.description
            }
        }
        #expect(refusal(["kind": "closed"])?.contains("no integer id") == true)
        #expect(refusal(["id": 1, "kind": "launch"])?.contains("unknown kind") == true)
        #expect(refusal(["id": 1, "kind": "capture", "instance": 1])?.contains("method") == true)
        #expect(refusal(["id": 1, "kind": "error", "status": "oops", "message": "m"])?.contains("unknown status") == true)
        #expect(refusal(["id": 1, "kind": "captured", "binaries": [["bytes": "not binary", "mime_type": "x"]]]) != nil)
        var notBSON = FrameBuffer()
        notBSON.append([12, 0, 0, 0, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42])
        #expect(throws: ChannelError.self) { try notBSON.next() }
    }
}
