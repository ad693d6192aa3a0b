import FerryBSON
import FerryStore
import FerryTestSupport
import Foundation
import SwiftProtobuf
import Testing
import ViamProtos

@testable import FerryIngest

/// The server reads a tabular upload off the wire (`CaptureUpload`) instead of through
/// swift-protobuf's messages: for any request the readings, or the refusal, must be the same.
@Suite struct TabularUploadDecodingTests {
    let caller = APIKeyIdentity(keyID: "k", organizationID: "org", role: .operator, scope: MachineScope(locationID: "l", robotID: "r"))
    let now = Date(timeIntervalSince1970: 1_767_225_600)

    enum Outcome: Equatable {
        /// Each reading with its data as BSON bytes (NaN compares by its bits there).
        case readings([Reading], [[UInt8]])
        case refused
    }

    func throughProtobuf(_ bytes: [UInt8]) -> Outcome {
        guard let request = try? Viam_App_Datasync_V1_DataCaptureUploadRequest(serializedBytes: bytes),
            let readings = try? UploadConversion.readings(request, caller: caller, now: now)
        else { return .refused }
        return Self.outcome(readings)
    }

    func offTheWire(_ bytes: [UInt8]) -> Outcome {
        guard case .tabular(let upload)? = try? CaptureUpload(serializedBytes: bytes),
            let readings = try? UploadConversion.readings(upload, caller: caller, now: now)
        else { return .refused }
        return Self.outcome(readings)
    }

    static func outcome(_ readings: [Reading]) -> Outcome {
        .readings(readings.map { var r = $0; r.data = [:]; return r }, readings.map { $0.data.encode() })
    }

    static func metadata() -> Viam_App_Datasync_V1_UploadMetadata {
        var metadata = Viam_App_Datasync_V1_UploadMetadata()
        metadata.partID = "part"
        metadata.componentType = "rdk:component:sensor"
        metadata.componentName = "thermo"
        metadata.methodName = "Readings"
        metadata.type = .tabularSensor
        metadata.tags = ["a", "ü"]
        return metadata
    }

    static func randomValue(_ random: inout SeededGenerator, depth: Int) -> Google_Protobuf_Value {
        switch Int.random(in: 0..<(depth > 3 ? 4 : 6), using: &random) {
        case 0:
            let special: [Double] = [0, -0.0, .nan, .infinity, -.infinity, 1e308, 5e-324, 21.5]
            return Google_Protobuf_Value(numberValue: Bool.random(using: &random) ? special.randomElement(using: &random)! : .random(in: -1e6...1e6, using: &random))
        case 1: return Google_Protobuf_Value(stringValue: ["", "x", "température", "🌡️", "a\u{0}b", String(repeating: "long", count: 50)].randomElement(using: &random)!)
        case 2: return Google_Protobuf_Value(boolValue: .random(using: &random))
        case 3: return Google_Protobuf_Value(nilLiteral: ())
        case 4: return Google_Protobuf_Value(structValue: randomStruct(&random, depth: depth + 1))
        default:
            return Google_Protobuf_Value(
                listValue: Google_Protobuf_ListValue(values: (0..<Int.random(in: 0..<4, using: &random)).map { _ in randomValue(&random, depth: depth + 1) }))
        }
    }

    static func randomStruct(_ random: inout SeededGenerator, depth: Int) -> Google_Protobuf_Struct {
        var fields: [String: Google_Protobuf_Value] = [:]
        for _ in 0..<Int.random(in: 0..<6, using: &random) {
            fields[["t", "h", "readings", "Z", "é", "", "a.b", "$x", "key \(Int.random(in: 0..<50, using: &random))"].randomElement(using: &random)!] =
                randomValue(&random, depth: depth)
        }
        return Google_Protobuf_Struct(fields: fields)
    }

    @Test func randomRequestsGiveTheSameReadingsBothWays() throws {
        var random = SeededGenerator(seed: 0x5EED_0018)
        for _ in 0..<300 {
            var request = Viam_App_Datasync_V1_DataCaptureUploadRequest()
            request.metadata = Self.metadata()
            if Bool.random(using: &random) { request.metadata.type = .unspecified }
            request.sensorContents = (0..<Int.random(in: 0..<5, using: &random)).map { _ in
                var record = Viam_App_Datasync_V1_SensorData()
                if Bool.random(using: &random) { record.metadata.timeRequested = .init(seconds: .random(in: 0...2_000_000_000, using: &random), nanos: 5_000_000) }
                if Bool.random(using: &random) { record.metadata.timeReceived = .init(seconds: .random(in: 0...2_000_000_000, using: &random), nanos: 0) }
                record.struct = Self.randomStruct(&random, depth: 0)
                return record
            }
            let bytes: [UInt8] = try request.serializedBytes()
            let expected = throughProtobuf(bytes)
            #expect(expected != .refused)
            #expect(offTheWire(bytes) == expected)
        }
    }

    // Wire pieces for requests swift-protobuf itself would never write.
    static func field(_ number: UInt64, _ body: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        for value in [number << 3 | 2, UInt64(body.count)] {
            var v = value
            while v >= 0x80 {
                out.append(UInt8(v & 0x7F) | 0x80)
                v >>= 7
            }
            out.append(UInt8(v))
        }
        return out + body
    }
    static func entry(_ key: String, _ values: [UInt8]...) -> [UInt8] { field(1, field(1, Array(key.utf8)) + values.flatMap { field(2, $0) }) }
    static func number(_ d: Double) -> [UInt8] { [0x11] + withUnsafeBytes(of: d.bitPattern.littleEndian) { Array($0) } }
    static func text(_ s: String) -> [UInt8] { field(3, Array(s.utf8)) }
    static func structValue(_ entries: [UInt8]...) -> [UInt8] { field(5, entries.flatMap { $0 }) }
    static func listValue(_ values: [UInt8]...) -> [UInt8] { field(6, values.flatMap { field(1, $0) }) }
    static func request(_ records: [UInt8]...) throws -> [UInt8] {
        field(1, try metadata().serializedBytes()) + records.flatMap { field(2, $0) }
    }

    @Test(arguments: [
        ("a key sent twice: the last entry wins", [field(2, entry("t", number(1)) + entry("t", number(2)))]),
        ("a value field sent twice in one entry: merged", [field(2, entry("t", structValue(entry("a", number(1))), structValue(entry("b", text("x")))))]),
        ("struct_value sent twice in one value: its entries merged", [field(2, entry("t", structValue(entry("a", number(1))) + structValue(entry("a", number(3)), entry("c", text("y")))))]),
        ("list_value sent twice in one value: appended", [field(2, entry("t", listValue(number(1)) + listValue(text("z"), [])))]),
        ("a scalar after a struct in one value: the scalar", [field(2, entry("t", structValue(entry("a", number(1))) + text("s")))]),
        ("an empty value: null", [field(2, entry("t", []))]),
        ("an entry without a key: the empty key", [field(2, field(1, field(2, number(4))))]),
        ("the struct sent twice in a record: merged", [field(2, entry("a", number(1))) + field(2, entry("b", number(2)))]),
        ("binary after the struct: no struct", [field(2, entry("a", number(1))) + field(3, [1, 2])]),
        ("the struct after binary: the struct", [field(3, [1, 2]) + field(2, entry("a", number(1)))]),
        ("no data at all", [field(1, [])]),
        ("unknown fields everywhere", [[0x78, 0x01] + field(2, [0x20, 0x07] + entry("a", [0x38, 0x01] + number(1))) + [0x7D, 1, 2, 3, 4]]),
        ("a number as a varint", [field(2, entry("t", [0x10, 0x05]))]),
        ("a string that is not UTF-8", [field(2, entry("t", field(3, [0xC3, 0x28])))]),
        ("a key that is not UTF-8", [field(2, field(1, field(1, [0xFF])))]),
        ("a length that overruns", [field(2, [0x0A, 0x20, 0x01])]),
        ("a group wire type", [field(2, [0x0B, 0x0C])]),
        ("field number 0", [field(2, [0x02, 0x00])]),
        ("null_value with any enum number", [field(2, entry("t", [0x08, 0x2A]))]),
        ("an entry's key as a varint: a bare tag, then field 0", [field(2, field(1, [0x08, 0x01]))]),
        ("an entry's key as a varint: a bare tag, then an empty key", [field(2, field(1, [0x08, 0x0A, 0x00]))]),
        ("an entry's value as a group start: a bare tag, then a group's end", [field(2, field(1, [0x13, 0x14]))]),
        ("a group's end in an entry", [field(2, field(1, [0x0B, 0x0C]))]),
        ("a group in an entry, skipped", [field(2, field(1, [0x1B, 0x08, 0x01, 0x1C] + field(1, Array("k".utf8))))]),
        ("a group in a value, skipped", [field(2, entry("t", [0x3B, 0x3C] + number(2)))]),
        ("a group that never ends", [field(2, [0x1B, 0x08, 0x01])]),
        ("a group ending as another", [field(2, [0x1B, 0x24])]),
        ("a tag of 6 bytes", [field(2, entry("t", [0x91, 0x80, 0x80, 0x80, 0x80, 0x00] + Array(repeating: 0, count: 8)))]),
        ("a tag of 5 bytes, the last above 15", [field(2, entry("t", [0x91, 0x80, 0x80, 0x80, 0x10] + Array(repeating: 0, count: 8)))]),
        ("a tag of 5 bytes", [field(2, entry("t", [0x91, 0x80, 0x80, 0x80, 0x00] + Array(repeating: 0, count: 8)))]),
        ("the record's metadata in two pieces that only decode joined", [field(1, [0x12]) + field(1, [0x00])]),
    ] as [(String, [[UInt8]])])
    func unusualEncodingsReadAsSwiftProtobufReadsThem(_ what: String, _ records: [[UInt8]]) throws {
        var bytes = try Self.field(1, Self.metadata().serializedBytes())
        for record in records { bytes += Self.field(2, record) }
        #expect(offTheWire(bytes) == throughProtobuf(bytes), "\(what)")
    }

    @Test func theMetadataSentTwiceIsMergedAndARequestCutShortIsRefused() throws {
        var extra = Viam_App_Datasync_V1_UploadMetadata()
        extra.tags = ["more"]
        extra.methodName = "Other"
        let record = Self.field(2, Self.entry("t", Self.number(1)))
        let bytes = try Self.request(record) + Self.field(1, extra.serializedBytes())
        #expect(offTheWire(bytes) == throughProtobuf(bytes))
        guard case .readings(let readings, _) = offTheWire(bytes) else { throw Failure("refused") }
        #expect(readings.first?.tags == ["a", "ü", "more"] && readings.first?.methodName == "Other")
        for cut in 1..<bytes.count { #expect(offTheWire(Array(bytes.prefix(cut))) == throughProtobuf(Array(bytes.prefix(cut))), "cut at \(cut)") }
    }

    /// Groups nest like messages: a request of nothing but group starts is refused at swift-protobuf's
    /// depth, not followed until the stack runs out.
    @Test func nestedGroupsAreRefusedAtTheDepthLimit() throws {
        let bomb = try Self.request(Self.field(2, Self.entry("t", Self.number(1)))) + Array(repeating: 0x0B, count: 1_000_000)
        #expect(offTheWire(bomb) == .refused)
        #expect(throughProtobuf(bomb) == .refused)
        // Around the limit, inside a record's struct (message 3) and at the request's top level.
        for depth in 90...100 {
            let groups = Array(repeating: UInt8(0x0B), count: depth) + Array(repeating: UInt8(0x0C), count: depth)
            for bytes in [try Self.request(Self.field(2, groups)), try Self.request() + groups] {
                #expect(offTheWire(bytes) == throughProtobuf(bytes), "groups nested \(depth) deep")
            }
        }
    }

    /// Structs nested around the decoders' depth limit: refused, or read, at the same depth.
    @Test func deepNestingIsRefusedAtTheSameDepthAsSwiftProtobuf() throws {
        var outcomes: [Bool] = []
        for depth in 40...60 {
            var value = Self.number(1)
            for _ in 0..<depth { value = Self.structValue(Self.entry("n", value)) }
            let bytes = try Self.request(Self.field(2, Self.entry("root", value)))
            let expected = throughProtobuf(bytes)
            #expect(offTheWire(bytes) == expected, "nested \(depth) deep")
            outcomes.append(expected == .refused)
        }
        #expect(outcomes.first == false && outcomes.last == true, "the range spans swift-protobuf's limit: \(outcomes)")
    }

    @Test func otherUploadTypesAreDecodedWhole() throws {
        var request = Viam_App_Datasync_V1_DataCaptureUploadRequest()
        request.metadata = Self.metadata()
        request.metadata.type = .binarySensor
        var record = Viam_App_Datasync_V1_SensorData()
        record.binary = Data([1, 2, 3])
        request.sensorContents = [record]
        guard case .other(let decoded) = try CaptureUpload(serializedBytes: request.serializedBytes()) else { throw Failure("read as tabular") }
        #expect(decoded == request)
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }
}
