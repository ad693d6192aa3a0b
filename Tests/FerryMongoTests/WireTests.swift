import FerryBSON
import FerryTestSupport
import Testing

@testable import FerryMongoWire

@Suite struct WireTests {
    @Test func crc32cMatchesTheStandardCheckValue() {
        #expect(CRC32C.checksum(Array("123456789".utf8)[...]) == 0xE306_9283)
    }

    @Test func opMsgRoundTripsWithSequencesAndChecksum() throws {
        let message = OpMsg(
            flags: [.checksumPresent], body: ["insert": "readings", "$db": "sensorData"],
            sequences: [OpMsg.DocumentSequence(identifier: "documents", documents: [["a": 1], ["b": "two"]])])
        let bytes = try MongoFrame.encode(.msg(message), requestID: 7, responseTo: 3)
        let frame = try MongoFrame.parse(bytes)
        #expect(frame.header == MongoMessageHeader(messageLength: Int32(bytes.count), requestID: 7, responseTo: 3, opCode: 2013))
        #expect(frame.message == .msg(message))
        guard case .msg(let parsed) = frame.message else { return }
        #expect(parsed.command == ["insert": "readings", "$db": "sensorData", "documents": [["a": 1], ["b": "two"]]])
    }

    @Test func aWrongChecksumIsRefused() throws {
        var bytes = try MongoFrame.encode(.msg(OpMsg(flags: [.checksumPresent], body: ["ping": 1, "$db": "admin"])), requestID: 1, responseTo: 0)
        bytes[bytes.count - 1] ^= 0xFF
        #expect(throws: MongoWireError.self) { try MongoFrame.parse(bytes) }
    }

    @Test func opQueryAndOpReplyRoundTrip() throws {
        let query = OpQuery(fullCollectionName: "admin.$cmd", query: ["$query": ["isMaster": 1], "$readPreference": ["mode": "primary"]])
        let bytes = try MongoFrame.encode(.query(query), requestID: 1, responseTo: 0)
        let parsed = try MongoFrame.parse(bytes)
        guard case .query(let back) = parsed.message else { Issue.record("not a query"); return }
        #expect(back == query)
        #expect(back.commandDatabase == "admin")
        #expect(back.command == ["isMaster": 1])
        let reply = OpReply(cursorID: 0, documents: [["ok": 1.0], ["x": "y"]])
        #expect(try MongoFrame.parse(try MongoFrame.encode(.reply(reply), requestID: 2, responseTo: 1)).message == .reply(reply))
    }

    @Test func malformedMessagesAreRefusedWithTheirFault() throws {
        let good = try MongoFrame.encode(.msg(OpMsg(body: ["ping": 1, "$db": "admin"])), requestID: 1, responseTo: 0)
        func refused(_ bytes: [UInt8], _ fragment: String) {
            do {
                _ = try MongoFrame.parse(bytes)
                Issue.record("accepted: \(fragment)")
            } catch {
                #expect(error.message.contains(fragment), "\(error)")
            }
        }
        refused(Array(good.dropLast()), "the header says")
        var opcode = good
        opcode[12] = 0xD2  // 2002, OP_INSERT
        opcode[13] = 0x07
        refused(opcode, "opcode 2002")
        var required = good
        required[16] = 0x04  // an unknown required flag bit
        refused(required, "required flag bits")
        var kind = good
        kind[20] = 9
        refused(kind, "section kind 9")
        var twoBodies = good
        twoBodies.append(contentsOf: good[20...])
        twoBodies.patchInt32(Int32(twoBodies.count), at: 0)
        refused(twoBodies, "second body")
        var badLength = good
        badLength[21] = 0x7F  // the body's declared length overruns the message
        refused(badLength, "does not fit")
        #expect(throws: MongoWireError.self) { try MongoMessageHeader.declaredLength([0x0F, 0, 0, 0]) }
        #expect(throws: MongoWireError.self) { try MongoMessageHeader.declaredLength([0xFF, 0xFF, 0xFF, 0x7F]) }
        #expect(try MongoMessageHeader.declaredLength(good.prefix(4)) == good.count)
    }

    /// The fuzz target's body over seeded random and mutated frames: it must never trap.
    @Test func theFuzzEntryPointSurvivesRandomAndMutatedFrames() throws {
        var random = SeededGenerator(seed: 0x5EED_F022)
        let seeds: [[UInt8]] = [
            try MongoFrame.encode(.msg(OpMsg(flags: [.checksumPresent], body: ["find": "readings", "filter": ["a": 1], "$db": "sensorData"])), requestID: 1, responseTo: 0),
            try MongoFrame.encode(
                .msg(OpMsg(body: ["insert": "readings", "$db": "sensorData"], sequences: [.init(identifier: "documents", documents: [["x": 1.5]])])),
                requestID: 2, responseTo: 0),
            try MongoFrame.encode(.query(OpQuery(fullCollectionName: "admin.$cmd", query: ["isMaster": 1])), requestID: 3, responseTo: 0),
            try MongoFrame.encode(.reply(OpReply(documents: [["ok": 1.0]])), requestID: 4, responseTo: 3),
            Array("n,,n=db-user-x,r=abcdef".utf8),
        ]
        var parsedSome = 0
        for _ in 0..<20_000 {
            var bytes = seeds[Int.random(in: 0..<seeds.count, using: &random)]
            for _ in 0..<Int.random(in: 0...4, using: &random) where !bytes.isEmpty {
                let index = Int.random(in: 0..<bytes.count, using: &random)
                switch Int.random(in: 0..<4, using: &random) {
                case 0: bytes[index] = UInt8.random(in: 0...255, using: &random)
                case 1: bytes.remove(at: index)
                case 2: bytes.insert(UInt8.random(in: 0...255, using: &random), at: index)
                default: bytes = Array(bytes.prefix(index))
                }
            }
            if Bool.random(using: &random) { bytes += bytes }  // two frames back to back
            MongoWireFuzz.run(bytes)
            if (try? MongoFrame.parse(bytes)) != nil { parsedSome += 1 }
        }
        for _ in 0..<2_000 {
            MongoWireFuzz.run((0..<Int.random(in: 0...64, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) })
        }
        #expect(parsedSome > 100, "the mutations should leave many frames valid, so parsing and re-encoding is exercised")
    }
}
