import FerryBSON

/// The opcodes Ferry reads or writes. Others (OP_INSERT, OP_GET_MORE, OP_COMPRESSED…) are refused:
/// MongoDB 6 removed the legacy ones, and Ferry never offers compression.
public enum MongoOpcode: Int32, Sendable {
    case reply = 1
    case query = 2004
    case msg = 2013
}

/// The 16-byte header every message starts with.
public struct MongoMessageHeader: Sendable, Equatable {
    public static let size = 16
    /// The largest message a peer may send or receive (MongoDB's `maxMessageSizeBytes`).
    public static let maximumMessageSize = 48_000_000

    public var messageLength: Int32
    public var requestID: Int32
    public var responseTo: Int32
    public var opCode: Int32

    public init(messageLength: Int32, requestID: Int32, responseTo: Int32, opCode: Int32) {
        self.messageLength = messageLength
        self.requestID = requestID
        self.responseTo = responseTo
        self.opCode = opCode
    }

    /// The length a frame starting with `prefix` (at least 4 bytes) declares, or an error when it
    /// cannot be a message: shorter than a header or longer than the maximum.
    public static func declaredLength(_ prefix: some Collection<UInt8>) throws(MongoWireError) -> Int {
        var reader = WireReader(Array(prefix.prefix(4)))
        let length = Int(try reader.int32("message length"))
        guard length >= size, length <= maximumMessageSize else {
            throw MongoWireError("message length \(length) is outside \(size)…\(maximumMessageSize)", at: 0)
        }
        return length
    }
}

/// OP_MSG (opcode 2013): flag bits, one body document, any number of document sequences, and an
/// optional CRC-32C checksum.
public struct OpMsg: Sendable, Equatable {
    public struct Flags: OptionSet, Sendable, Equatable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        public static let checksumPresent = Flags(rawValue: 1 << 0)
        /// The sender will not wait for a reply (unacknowledged writes, exhaust replies).
        public static let moreToCome = Flags(rawValue: 1 << 1)
        public static let exhaustAllowed = Flags(rawValue: 1 << 16)
        /// Bits 0–15 are required: a peer must refuse a message with one it does not know.
        static let requiredKnown: UInt32 = 0b11
    }

    /// A kind-1 section: documents sent beside the body, e.g. an insert's `documents`.
    public struct DocumentSequence: Sendable, Equatable {
        public var identifier: String
        public var documents: [BSONDocument]
        public init(identifier: String, documents: [BSONDocument]) {
            self.identifier = identifier
            self.documents = documents
        }
    }

    public var flags: Flags
    public var body: BSONDocument
    public var sequences: [DocumentSequence]

    public init(flags: Flags = [], body: BSONDocument, sequences: [DocumentSequence] = []) {
        self.flags = flags
        self.body = body
        self.sequences = sequences
    }

    /// The command as one document: the body with each sequence added as an array field named by
    /// its identifier (what a driver would have sent had it not used a sequence).
    public var command: BSONDocument {
        var command = body
        for sequence in sequences { command.append(sequence.identifier, .array(sequence.documents.map(BSON.document))) }
        return command
    }
}

/// OP_QUERY (opcode 2004): only as drivers still send it, for the first `hello`/`isMaster` of a
/// connection and other commands on `<db>.$cmd`.
public struct OpQuery: Sendable, Equatable {
    public var flags: Int32
    public var fullCollectionName: String
    public var numberToSkip: Int32
    public var numberToReturn: Int32
    public var query: BSONDocument
    public var returnFieldsSelector: BSONDocument?

    public init(
        flags: Int32 = 0, fullCollectionName: String, numberToSkip: Int32 = 0, numberToReturn: Int32 = -1, query: BSONDocument,
        returnFieldsSelector: BSONDocument? = nil
    ) {
        self.flags = flags
        self.fullCollectionName = fullCollectionName
        self.numberToSkip = numberToSkip
        self.numberToReturn = numberToReturn
        self.query = query
        self.returnFieldsSelector = returnFieldsSelector
    }

    /// The database of `<db>.$cmd`, or nil when this is not a command.
    public var commandDatabase: String? {
        guard fullCollectionName.hasSuffix(".$cmd") else { return nil }
        let database = fullCollectionName.dropLast(5)
        return database.isEmpty ? nil : String(database)
    }

    /// The command document: drivers talking to a mongos may wrap it as `{$query: …, $readPreference: …}`.
    public var command: BSONDocument {
        if case .document(let inner)? = query["$query"] { return inner }
        if case .document(let inner)? = query["query"], query.keys.first == "query" { return inner }
        return query
    }
}

/// OP_REPLY (opcode 1): the answer to an OP_QUERY.
public struct OpReply: Sendable, Equatable {
    /// Bit 1: the query failed and the one document is `{$err, code}`.
    public static let queryFailure: Int32 = 1 << 1
    public var responseFlags: Int32
    public var cursorID: Int64
    public var startingFrom: Int32
    public var documents: [BSONDocument]

    public init(responseFlags: Int32 = 0, cursorID: Int64 = 0, startingFrom: Int32 = 0, documents: [BSONDocument]) {
        self.responseFlags = responseFlags
        self.cursorID = cursorID
        self.startingFrom = startingFrom
        self.documents = documents
    }
}

public enum MongoMessage: Sendable, Equatable {
    case msg(OpMsg)
    case query(OpQuery)
    case reply(OpReply)

    var opcode: MongoOpcode {
        switch self {
        case .msg: .msg
        case .query: .query
        case .reply: .reply
        }
    }
}

/// One whole message: its header and what it carries.
public struct MongoFrame: Sendable, Equatable {
    public var header: MongoMessageHeader
    public var message: MongoMessage

    /// Parses one complete message (header included). Strict: lengths must agree, every document
    /// must be valid BSON, OP_MSG needs exactly one body and a correct checksum when it has one.
    public static func parse(_ bytes: [UInt8]) throws(MongoWireError) -> MongoFrame {
        var reader = WireReader(bytes)
        let length = try reader.int32("message length")
        guard Int(length) == bytes.count else {
            throw MongoWireError("the header says \(length) bytes but the message has \(bytes.count)", at: 0)
        }
        guard bytes.count <= MongoMessageHeader.maximumMessageSize else {
            throw MongoWireError("a message may have at most \(MongoMessageHeader.maximumMessageSize) bytes", at: 0)
        }
        let header = MongoMessageHeader(
            messageLength: length, requestID: try reader.int32("requestID"), responseTo: try reader.int32("responseTo"),
            opCode: try reader.int32("opCode"))
        switch MongoOpcode(rawValue: header.opCode) {
        case .msg: return MongoFrame(header: header, message: .msg(try parseMsg(&reader)))
        case .query: return MongoFrame(header: header, message: .query(try parseQuery(&reader)))
        case .reply: return MongoFrame(header: header, message: .reply(try parseReply(&reader)))
        case nil:
            throw MongoWireError("opcode \(header.opCode) is not supported (OP_MSG 2013, OP_QUERY 2004 and OP_REPLY 1 are)", at: 12)
        }
    }

    private static func parseMsg(_ reader: inout WireReader) throws(MongoWireError) -> OpMsg {
        let flags = OpMsg.Flags(rawValue: try reader.uint32("OP_MSG flagBits"))
        let unknownRequired = flags.rawValue & 0xFFFF & ~OpMsg.Flags.requiredKnown
        guard unknownRequired == 0 else {
            throw MongoWireError("OP_MSG sets required flag bits it may not (0x\(String(unknownRequired, radix: 16)))", at: 16)
        }
        var end = reader.end
        if flags.contains(.checksumPresent) {
            guard end - reader.offset >= 4 else { throw MongoWireError("OP_MSG says it has a checksum but is too short", at: reader.offset) }
            end -= 4
            var checksumReader = WireReader(reader.bytes, from: end)
            let stated = try checksumReader.uint32("OP_MSG checksum")
            let computed = CRC32C.checksum(reader.bytes[0..<end])
            guard stated == computed else {
                throw MongoWireError("OP_MSG checksum 0x\(String(stated, radix: 16)) does not match the content (0x\(String(computed, radix: 16)))", at: end)
            }
        }
        var sections = WireReader(reader.bytes, from: reader.offset, to: end)
        var body: BSONDocument?
        var sequences: [OpMsg.DocumentSequence] = []
        while !sections.isAtEnd {
            let start = sections.offset
            switch try sections.byte("section kind") {
            case 0:
                guard body == nil else { throw MongoWireError("OP_MSG has a second body section", at: start) }
                body = try sections.document("OP_MSG body")
            case 1:
                let size = Int(try sections.int32("document sequence size"))
                let sequenceEnd = start + 1 + size
                guard size >= 5, sequenceEnd <= end else {
                    throw MongoWireError("document sequence size \(size) does not fit the message", at: start + 1)
                }
                var sequence = WireReader(sections.bytes, from: sections.offset, to: sequenceEnd)
                let identifier = try sequence.cString("document sequence identifier")
                var documents: [BSONDocument] = []
                while !sequence.isAtEnd { documents.append(try sequence.document("document sequence \(identifier)")) }
                sequences.append(OpMsg.DocumentSequence(identifier: identifier, documents: documents))
                sections = WireReader(sections.bytes, from: sequenceEnd, to: end)
            case let kind:
                throw MongoWireError("OP_MSG section kind \(kind) is unknown (0 is the body, 1 a document sequence)", at: start)
            }
        }
        guard let body else { throw MongoWireError("OP_MSG has no body section", at: reader.offset) }
        for sequence in sequences where body[sequence.identifier] != nil || sequences.filter({ $0.identifier == sequence.identifier }).count > 1 {
            throw MongoWireError("OP_MSG field \(sequence.identifier) appears more than once (body or sequences)", at: reader.offset)
        }
        return OpMsg(flags: flags, body: body, sequences: sequences)
    }

    private static func parseQuery(_ reader: inout WireReader) throws(MongoWireError) -> OpQuery {
        let flags = try reader.int32("OP_QUERY flags")
        let name = try reader.cString("OP_QUERY fullCollectionName")
        let skip = try reader.int32("OP_QUERY numberToSkip")
        let count = try reader.int32("OP_QUERY numberToReturn")
        let query = try reader.document("OP_QUERY query")
        let selector = reader.isAtEnd ? nil : try reader.document("OP_QUERY returnFieldsSelector")
        guard reader.isAtEnd else { throw MongoWireError("OP_QUERY has \(reader.remaining) bytes after its documents", at: reader.offset) }
        return OpQuery(
            flags: flags, fullCollectionName: name, numberToSkip: skip, numberToReturn: count, query: query,
            returnFieldsSelector: selector)
    }

    private static func parseReply(_ reader: inout WireReader) throws(MongoWireError) -> OpReply {
        let flags = try reader.int32("OP_REPLY responseFlags")
        let cursor = try reader.int64("OP_REPLY cursorID")
        let from = try reader.int32("OP_REPLY startingFrom")
        let count = try reader.int32("OP_REPLY numberReturned")
        var documents: [BSONDocument] = []
        while !reader.isAtEnd { documents.append(try reader.document("OP_REPLY document \(documents.count)")) }
        guard Int(count) == documents.count else {
            throw MongoWireError("OP_REPLY says \(count) documents but has \(documents.count)", at: 32)
        }
        return OpReply(responseFlags: flags, cursorID: cursor, startingFrom: from, documents: documents)
    }

    /// The message's bytes. Throws only when a document cannot be BSON (a key with a NUL byte,
    /// which MQL output can contain), so one bad result never takes the server down.
    public static func encode(_ message: MongoMessage, requestID: Int32, responseTo: Int32) throws -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.appendInt32(0)  // length, patched below
        bytes.appendInt32(requestID)
        bytes.appendInt32(responseTo)
        bytes.appendInt32(message.opcode.rawValue)
        switch message {
        case .msg(let msg):
            bytes.appendUInt32(msg.flags.rawValue)
            bytes.append(0)
            bytes.append(contentsOf: try msg.body.encodeChecked())
            for sequence in msg.sequences {
                bytes.append(1)
                let sizeAt = bytes.count
                bytes.appendInt32(0)
                bytes.appendCString(sequence.identifier)
                for document in sequence.documents { bytes.append(contentsOf: try document.encodeChecked()) }
                bytes.patchInt32(Int32(bytes.count - sizeAt), at: sizeAt)
            }
            if msg.flags.contains(.checksumPresent) {
                bytes.patchInt32(Int32(bytes.count + 4), at: 0)
                bytes.appendUInt32(CRC32C.checksum(bytes[...]))
                return bytes
            }
        case .query(let query):
            bytes.appendInt32(query.flags)
            bytes.appendCString(query.fullCollectionName)
            bytes.appendInt32(query.numberToSkip)
            bytes.appendInt32(query.numberToReturn)
            bytes.append(contentsOf: try query.query.encodeChecked())
            if let selector = query.returnFieldsSelector { bytes.append(contentsOf: try selector.encodeChecked()) }
        case .reply(let reply):
            bytes.appendInt32(reply.responseFlags)
            bytes.appendInt64(reply.cursorID)
            bytes.appendInt32(reply.startingFrom)
            bytes.appendInt32(Int32(reply.documents.count))
            for document in reply.documents { bytes.append(contentsOf: try document.encodeChecked()) }
        }
        bytes.patchInt32(Int32(bytes.count), at: 0)
        return bytes
    }
}

extension MongoFrame {
    /// An OP_MSG whose body is already BSON bytes (a cursor batch built from encoded results,
    /// which then need no second encoding).
    public static func encodeMsg(rawBody: [UInt8], requestID: Int32, responseTo: Int32) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(rawBody.count + 21)
        bytes.appendInt32(Int32(MongoMessageHeader.size + 5 + rawBody.count))
        bytes.appendInt32(requestID)
        bytes.appendInt32(responseTo)
        bytes.appendInt32(MongoOpcode.msg.rawValue)
        bytes.appendUInt32(0)
        bytes.append(0)
        bytes.append(contentsOf: rawBody)
        return bytes
    }
}
