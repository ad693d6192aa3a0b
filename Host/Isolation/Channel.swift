import FerryBSON
import FerryLoader

/// What a plugin process says it registered, in its hello.
package struct IsolatedModelInfo: Sendable, Equatable {
    package var api: String
    package var model: String
    package var captureMethods: [String]
    package init(api: String, model: String, captureMethods: [String]) {
        self.api = api
        self.model = model
        self.captureMethods = captureMethods
    }
}

/// One message on the channel between the host and a plugin process (`ferry plugin-host`). The
/// host sends requests (create, capture, reconfigure, do_command, close, operator); the child answers each
/// with the reply of the same id, or `error`. The child's first frame (id 0) is `hello`, or
/// `error` when the library does not load.
package enum ChannelMessage: Sendable, Equatable {
    /// `operators`: the MQL operators the plugin registered, as "name (kind)".
    case hello(plugin: String, version: String, models: [IsolatedModelInfo], operators: [String] = [])
    case create(api: String, model: String, config: BSONDocument)
    case created(instance: Int64)
    case capture(instance: Int64, method: String, parameters: BSONDocument)
    case captured(CapturedValue)
    case reconfigure(instance: Int64, config: BSONDocument)
    case reconfigured(applied: Bool)
    case doCommand(instance: Int64, command: BSONDocument)
    case commandResult(BSONDocument)
    case close(instance: Int64)
    case closed
    case error(PluginCallError)
    /// From the child, at any time: the plugin called request_sync. No reply.
    case requestSync
    /// From the child, during a call: the plugin called capture_resource; the host answers with
    /// `captured` or `error` of the same id, serving any call it makes meanwhile first.
    case captureResource(name: String, method: String, parameters: BSONDocument)
    /// One call of an MQL operator the plugin registered: `call` is validate, evaluate, stage,
    /// accumulator_init, accumulator_add, accumulator_merge, accumulator_finalize or
    /// accumulator_free, with its arguments as ``OperatorCall`` lays them out.
    case operatorCall(name: String, call: String, arguments: BSONDocument)
    /// The answer to `operatorCall`: {"value": v}, {"docs": [...]}, {"state": n} or {}.
    case operatorResult(BSONDocument)

    var kind: String {
        switch self {
        case .hello: "hello"
        case .create: "create"
        case .created: "created"
        case .capture: "capture"
        case .captured: "captured"
        case .reconfigure: "reconfigure"
        case .reconfigured: "reconfigured"
        case .doCommand: "do_command"
        case .commandResult: "command_result"
        case .close: "close"
        case .closed: "closed"
        case .error: "error"
        case .requestSync: "request_sync"
        case .captureResource: "capture_resource"
        case .operatorCall: "operator"
        case .operatorResult: "operator_result"
        }
    }
}

/// A message with the id that pairs a reply with its request.
package struct ChannelFrame: Sendable, Equatable {
    package var id: Int64
    package var message: ChannelMessage
    package init(id: Int64, message: ChannelMessage) {
        self.id = id
        self.message = message
    }
}

/// Why bytes from the other side are not a frame: the peer is broken, and the channel is dropped.
package struct ChannelError: Error, CustomStringConvertible, Sendable, Equatable {
    package var description: String
    package init(_ description: String) { self.description = description }
}

/// Frames are BSON documents, whose first four bytes are their own little-endian length: that
/// is the length prefix. Sizes are bounded so a garbage prefix cannot make the reader allocate
/// or wait for gigabytes.
package enum ChannelCodec {
    /// Large enough for a camera's point cloud or a few full-size images in one capture.
    package static let maximumFrameSize = 64 * 1024 * 1024

    package static func encode(_ frame: ChannelFrame) -> [UInt8] {
        var document: BSONDocument = ["id": .int64(frame.id), "kind": .string(frame.message.kind)]
        switch frame.message {
        case .hello(let plugin, let version, let models, let operators):
            document["operators"] = .array(operators.map { .string($0) })
            document["plugin"] = .string(plugin)
            document["version"] = .string(version)
            document["models"] = .array(
                models.map {
                    .document(["api": .string($0.api), "model": .string($0.model), "capture_methods": .array($0.captureMethods.map { .string($0) })])
                })
        case .create(let api, let model, let config):
            document["api"] = .string(api)
            document["model"] = .string(model)
            document["config"] = .document(config)
        case .created(let instance):
            document["instance"] = .int64(instance)
        case .capture(let instance, let method, let parameters):
            document["instance"] = .int64(instance)
            document["method"] = .string(method)
            document["parameters"] = .document(parameters)
        case .captured(.tabular(let reading)):
            document["reading"] = .document(reading)
        case .captured(.binary(let payloads)):
            document["binaries"] = .array(
                payloads.map { payload -> BSON in
                    var entry: BSONDocument = ["bytes": .binary(BSONBinary(data: payload.bytes)), "mime_type": .string(payload.mimeType)]
                    if let annotations = payload.annotations { entry["annotations"] = .document(annotations) }
                    return .document(entry)
                })
        case .reconfigure(let instance, let config):
            document["instance"] = .int64(instance)
            document["config"] = .document(config)
        case .reconfigured(let applied):
            document["applied"] = .bool(applied)
        case .doCommand(let instance, let command):
            document["instance"] = .int64(instance)
            document["command"] = .document(command)
        case .commandResult(let result):
            document["result"] = .document(result)
        case .close(let instance):
            document["instance"] = .int64(instance)
        case .closed:
            break
        case .error(let error):
            document["status"] = .string(error.status.rawValue)
            document["message"] = .string(error.message)
        case .requestSync:
            break
        case .captureResource(let name, let method, let parameters):
            document["name"] = .string(name)
            document["method"] = .string(method)
            document["parameters"] = .document(parameters)
        case .operatorCall(let name, let call, let arguments):
            document["name"] = .string(name)
            document["call"] = .string(call)
            document["arguments"] = .document(arguments)
        case .operatorResult(let result):
            document["result"] = .document(result)
        }
        return document.encode()
    }

    /// The length a frame announces in its first four bytes, checked against the bounds.
    package static func frameLength(_ prefix: some Collection<UInt8>) throws(ChannelError) -> Int {
        guard prefix.count >= 4 else { throw ChannelError("a frame's length prefix is cut short") }
        var length: UInt32 = 0
        for (shift, byte) in prefix.prefix(4).enumerated() { length |= UInt32(byte) << (8 * UInt32(shift)) }
        guard length >= 5, length <= maximumFrameSize else {
            throw ChannelError("a frame announces \(length) bytes; frames are 5 to \(maximumFrameSize) bytes")
        }
        return Int(length)
    }

    package static func decode(_ bytes: [UInt8]) throws(ChannelError) -> ChannelFrame {
        // withUnsafeBytes only rethrows untyped errors: carry the typed one out in a Result.
        try bytes.withUnsafeBytes { raw in Result { () throws(ChannelError) in try decode(raw) } }.get()
    }

    /// Decodes a frame from bytes that are only read during the call (a reader's buffer, in place).
    package static func decode(_ bytes: UnsafeRawBufferPointer) throws(ChannelError) -> ChannelFrame {
        let document: BSONDocument
        do {
            document = try BSONDocument(bytes: bytes)
        } catch {
            throw ChannelError("a frame is not BSON: \(error)")
        }
        guard let id = document["id"]?.int64Value else { throw ChannelError("a frame has no integer id") }
        guard let kind = document["kind"]?.stringValue else { throw ChannelError("frame \(id) has no kind") }
        let fields = Fields(document: document, kind: kind)
        let message: ChannelMessage
        switch kind {
        case "hello":
            var models: [IsolatedModelInfo] = []
            for entry in try fields.array("models") {
                guard let model = entry.documentValue, let api = model["api"]?.stringValue, let name = model["model"]?.stringValue,
                    let methods = model["capture_methods"]?.arrayValue
                else { throw ChannelError("hello: a model lacks its api, model or capture_methods") }
                let names = methods.compactMap(\.stringValue)
                guard names.count == methods.count else { throw ChannelError("hello: \(api) \(name) has a capture method that is not a string") }
                models.append(IsolatedModelInfo(api: api, model: name, captureMethods: names))
            }
            let operators = document["operators"]?.arrayValue?.compactMap(\.stringValue) ?? []
            message = .hello(plugin: try fields.string("plugin"), version: try fields.string("version"), models: models, operators: operators)
        case "create":
            message = .create(api: try fields.string("api"), model: try fields.string("model"), config: try fields.document("config"))
        case "created":
            message = .created(instance: try fields.integer("instance"))
        case "capture":
            message = .capture(instance: try fields.integer("instance"), method: try fields.string("method"), parameters: try fields.document("parameters"))
        case "captured":
            if let reading = document["reading"] {
                guard let reading = reading.documentValue else { throw ChannelError("captured: reading is not a document") }
                message = .captured(.tabular(reading))
            } else {
                var payloads: [CapturedBinary] = []
                for entry in try fields.array("binaries") {
                    guard let payload = entry.documentValue, case .binary(let bytes)? = payload["bytes"],
                        let mime = payload["mime_type"]?.stringValue
                    else { throw ChannelError("captured: a binary payload lacks its bytes or mime_type") }
                    var annotations: BSONDocument?
                    if let value = payload["annotations"] {
                        guard let document = value.documentValue else { throw ChannelError("captured: annotations is not a document") }
                        annotations = document
                    }
                    payloads.append(CapturedBinary(bytes: bytes.data, mimeType: mime, annotations: annotations))
                }
                message = .captured(.binary(payloads))
            }
        case "reconfigure":
            message = .reconfigure(instance: try fields.integer("instance"), config: try fields.document("config"))
        case "reconfigured":
            guard let applied = document["applied"]?.boolValue else { throw ChannelError("reconfigured has no boolean applied") }
            message = .reconfigured(applied: applied)
        case "do_command":
            message = .doCommand(instance: try fields.integer("instance"), command: try fields.document("command"))
        case "command_result":
            message = .commandResult(try fields.document("result"))
        case "close":
            message = .close(instance: try fields.integer("instance"))
        case "closed":
            message = .closed
        case "error":
            let statusName = try fields.string("status")
            guard let status = PluginCallError.Status(rawValue: statusName) else { throw ChannelError("error: unknown status \"\(statusName)\"") }
            message = .error(PluginCallError(status: status, message: try fields.string("message")))
        case "request_sync":
            message = .requestSync
        case "capture_resource":
            message = .captureResource(name: try fields.string("name"), method: try fields.string("method"), parameters: try fields.document("parameters"))
        case "operator":
            message = .operatorCall(name: try fields.string("name"), call: try fields.string("call"), arguments: try fields.document("arguments"))
        case "operator_result":
            message = .operatorResult(try fields.document("result"))
        default:
            throw ChannelError("frame \(id) has an unknown kind \"\(kind.prefix(40))\"")
        }
        return ChannelFrame(id: id, message: message)
    }

    /// Typed field access with messages naming the frame's kind and the field.
    private struct Fields {
        let document: BSONDocument
        let kind: String

        func string(_ key: String) throws(ChannelError) -> String {
            guard let value = document[key]?.stringValue else { throw ChannelError("\(kind): \(key) is missing or not a string") }
            return value
        }
        func integer(_ key: String) throws(ChannelError) -> Int64 {
            guard let value = document[key]?.int64Value else { throw ChannelError("\(kind): \(key) is missing or not an integer") }
            return value
        }
        func document(_ key: String) throws(ChannelError) -> BSONDocument {
            guard let value = document[key]?.documentValue else { throw ChannelError("\(kind): \(key) is missing or not a document") }
            return value
        }
        func array(_ key: String) throws(ChannelError) -> [BSON] {
            guard let value = document[key]?.arrayValue else { throw ChannelError("\(kind): \(key) is missing or not an array") }
            return value
        }
    }
}

/// Splits a byte stream into frames as bytes arrive; what fuzzing and the readers share. Frames
/// are decoded in place, and the storage is kept between frames, so a steady exchange of small
/// frames allocates nothing here.
package struct FrameBuffer: Sendable {
    private var bytes: [UInt8] = []
    /// Where the first byte not yet returned as a frame is; what lies before it is consumed.
    private var start = 0
    /// Storage up to this size is kept for the next frames; a larger one (a big image) is let go.
    private static let keptCapacity = 256 * 1024
    package init() {}

    package mutating func append(_ more: some Sequence<UInt8>) {
        dropConsumed()
        bytes.append(contentsOf: more)
    }

    /// The next whole frame, nil when more bytes are needed; throws on bytes that cannot be a frame.
    package mutating func next() throws(ChannelError) -> ChannelFrame? {
        guard bytes.count - start >= 4 else { return nil }
        let length = try ChannelCodec.frameLength(bytes[start..<start + 4])
        guard bytes.count - start >= length else { return nil }
        let range = start..<start + length
        let frame = try bytes.withUnsafeBytes { raw in
            Result { () throws(ChannelError) in try ChannelCodec.decode(UnsafeRawBufferPointer(rebasing: raw[range])) }
        }.get()
        start += length
        if start == bytes.count {
            bytes.removeAll(keepingCapacity: bytes.capacity <= Self.keptCapacity)
            start = 0
        }
        return frame
    }

    /// How many more bytes the frame being read needs (at least 1), so a reader asks for no more.
    package var wanted: Int {
        let available = bytes.count - start
        guard available >= 4, let length = try? ChannelCodec.frameLength(bytes[start..<start + 4]) else { return max(1, 4 - available) }
        return max(1, length - available)
    }

    /// Moves the unread bytes (less than a frame, as readers drain whole frames first) to the front.
    private mutating func dropConsumed() {
        guard start > 0 else { return }
        bytes.removeFirst(start)
        start = 0
    }
}
