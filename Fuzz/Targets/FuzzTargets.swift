import FerryBSON
import FerryCaptureFile
import FerryConfig
import FerryIngest
import FerryIsolation
import FerryLoader
import FerryMQL
import FerryMongoWire
import FerryPipelines
import FerryStore
import Foundation
import Logging
import ViamProtos

/// One fuzz target: untrusted bytes into one parser, with the properties that must hold for every
/// input. A violated property traps (`check`), as a crash does, so libFuzzer keeps the input.
/// The same functions replay the committed corpora and regressions in `swift test`.
package struct FuzzTarget: Sendable {
    package let name: String
    /// What the input is, for Fuzz/README.md and `FerryFuzz --list`.
    package let summary: String
    package let run: @Sendable ([UInt8]) -> Void

    package static let all: [FuzzTarget] = [
        FuzzTarget(name: "bson", summary: "BSON document decoding; a decoded document re-encodes to bytes that decode to the same", run: bson),
        FuzzTarget(
            name: "extjson", summary: "Extended JSON v2 parsing; a parsed document's canonical form parses back to the same", run: extendedJSON),
        FuzzTarget(
            name: "capture", summary: "capture-file reading, strict and lenient; the lenient read's whole-record prefix reads strictly",
            run: captureFile),
        FuzzTarget(
            name: "recovery", summary: "start-up recovery of a .prog file on disk: removed, quarantined, or promoted to a strictly readable file",
            run: recovery),
        FuzzTarget(name: "config", summary: "machine config parsing (Viam's JSON and Ferry's own keys)", run: config),
        FuzzTarget(name: "mql", summary: "an MQL pipeline (JSON array of stages) compiled and run over 16 sensor readings", run: mql),
        FuzzTarget(name: "cron", summary: "cron schedule parsing; next/previous ticks fire and bracket the time they were asked about", run: cron),
        FuzzTarget(name: "ffi-manifest", summary: "the simple tier's JSON manifest with C signatures", run: ffiManifest),
        FuzzTarget(
            name: "upload", summary: "DataSyncService request bytes (DataCaptureUpload, StreamingDataCaptureUpload, FileUpload metadata) converted as the server does",
            run: upload),
        FuzzTarget(
            name: "mongo-wire",
            summary: "MongoDB wire-protocol frames as a client sends them (OP_MSG, OP_QUERY, SCRAM); what parses re-encodes stably",
            run: MongoWireFuzz.run),
        FuzzTarget(
            name: "plugin-channel",
            summary: "what a plugin process sends the host: length-prefixed BSON frames, split as they arrive; what decodes re-encodes to the same frame",
            run: pluginChannel),
        FuzzTarget(
            name: "plugin-ring",
            summary: "what a plugin process writes into the shared ring: a sequence word, a length word and the slot's bytes; what the host takes re-encodes to the same frame",
            run: pluginRing),
    ]

    package static func named(_ name: String) -> FuzzTarget? { all.first { $0.name == name } }
}

/// A property every input must keep; a broken one is a finding.
func check(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String, file: StaticString = #fileID, line: UInt = #line) {
    if !condition() { fatalError("fuzz property violated: \(message())", file: file, line: line) }
}

func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

// MARK: - BSON and Extended JSON

func bson(_ bytes: [UInt8]) {
    guard let document = try? BSONDocument(bytes: bytes) else { return }
    let encoded = document.encode()
    guard let again = try? BSONDocument(bytes: encoded) else {
        fatalError("fuzz property violated: a decoded document re-encodes to bytes that do not decode")
    }
    check(again.encode() == encoded, "re-encoding is not stable")
    _ = document.extendedJSON(.relaxed)
}

func extendedJSON(_ bytes: [UInt8]) {
    guard let document = try? BSONDocument(extendedJSON: text(bytes)) else { return }
    let canonical = document.extendedJSON(.canonical)
    guard let again = try? BSONDocument(extendedJSON: canonical) else {
        fatalError("fuzz property violated: canonical Extended JSON that does not parse back: \(canonical.prefix(300))")
    }
    check(again.encode() == document.encode(), "canonical Extended JSON changes the document: \(canonical.prefix(300))")
    _ = document.extendedJSON(.relaxed)
}

// MARK: - Capture files

func captureFile(_ bytes: [UInt8]) {
    let data = Data(bytes)
    guard let lenient = try? CaptureFileReader.parse(data, path: "fuzz.prog", strict: false) else {
        check((try? CaptureFileReader.parse(data, path: "fuzz.capture", strict: true)) == nil, "strict reads what lenient refuses")
        return
    }
    check(lenient.validLength + lenient.trailingBytes == bytes.count, "valid length and trailing bytes do not add up")
    let prefix = try? CaptureFileReader.parse(data.prefix(lenient.validLength), path: "fuzz.capture", strict: true)
    check(prefix?.records.count == lenient.records.count, "the whole-record prefix does not read strictly with the same records")
    // What `ferry capture cat` prints of each record.
    for record in lenient.records {
        _ = CaptureFile.document(file: "fuzz.prog", metadata: lenient.metadata, record: record, withBytes: true).extendedJSON(.relaxed)
    }
    _ = CaptureFile.unpackParameters(lenient.metadata.methodParameters)
}

/// One scratch directory per process (libFuzzer runs inputs one at a time, on one thread).
let recoveryScratch: String = {
    let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
    let path = "\(base)/ferry-fuzz-recovery-\(getpid())"
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}()

func recovery(_ bytes: [UInt8]) {
    let directory = recoveryScratch + "/capture/rdk_component_sensor/s/Readings"
    try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let prog = directory + "/2026-01-01T00:00:00.000Z-fuzz.prog"
    _ = FileManager.default.createFile(atPath: prog, contents: Data(bytes))
    defer { try? FileManager.default.removeItem(atPath: recoveryScratch + "/capture") }
    let report = CaptureRecovery.recover(captureDir: recoveryScratch + "/capture", logger: Logger(label: "fuzz", factory: { _ in SwiftLogNoOpLogHandler() }))
    check(!FileManager.default.fileExists(atPath: prog), "recovery left the .prog in place")
    check(report.recovered.count + report.removedEmpty.count + report.quarantined.count == 1, "the .prog was not accounted for once: \(report)")
    for path in report.recovered {
        let contents = try? CaptureFileReader.read(path: path, strict: true)
        check(contents.map { !$0.records.isEmpty } == true, "a promoted file does not read strictly, or holds no record")
    }
}

// MARK: - Configs, manifests, schedules

func config(_ bytes: [UInt8]) {
    _ = try? ConfigParser.parse(text(bytes), baseDirectory: "/fuzz")
}

func ffiManifest(_ bytes: [UInt8]) {
    _ = try? FFIManifest(text: text(bytes), path: "fuzz.ferry.json")
}

func cron(_ bytes: [UInt8]) {
    // The first 8 bytes pick the time asked about (within ±3000 years of 1970); the rest is the schedule.
    guard bytes.count >= 8 else { return }
    let raw = bytes.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    let span: UInt64 = 2 * 3_000 * 366 * 86_400_000
    let at = Int64(raw % span) - Int64(span / 2)
    guard let schedule = try? CronSchedule(text(Array(bytes.dropFirst(8)))) else { return }
    if let next = schedule.next(after: at) {
        check(next > at && schedule.fires(at: next), "next(after:) \(next) does not fire or is not after \(at)")
        if let back = schedule.previous(before: next) { check(back <= at, "a tick between \(at) and next(after:) \(next): \(back)") }
    }
    if let previous = schedule.previous(before: at) {
        check(previous < at && schedule.fires(at: previous), "previous(before:) \(previous) does not fire or is not before \(at)")
    }
}

// MARK: - MQL

let mqlInput: [BSONDocument] = (0..<16).map { (i: Int) -> BSONDocument in
    let readings: BSONDocument = [
        "t": .double(20 + Double(i) / 4), "s": .string("r\(i)"), "v": .array([.int32(Int32(i)), .null, .double(.nan)]),
    ]
    let tags: [BSON] = i % 2 == 0 ? [.string("x"), .string("y")] : []
    var document = BSONDocument()
    document["_id"] = .int32(Int32(i))
    document["component_name"] = .string(i % 3 == 0 ? "a" : "b")
    document["time_received"] = .datetime(1_767_225_600_000 + Int64(i) * 60_000)
    document["tags"] = .array(tags)
    document["n"] = .int64(Int64(i) - 8)
    document["data"] = .document(["readings": .document(readings)])
    return document
}

func mql(_ bytes: [UInt8]) {
    // A small memory limit: a pipeline that would need more must fail with MQL's own error, not exhaust the process.
    let options = MQLOptions(memoryLimitBytes: 4 << 20, randomSeed: 7)
    guard let pipeline = try? MQLPipeline(json: text(bytes), registry: .builtin, options: options) else { return }
    let context = MQLContext(now: Date(timeIntervalSince1970: 1_767_225_600), lookup: { _ in Array(mqlInput.prefix(4)) })
    _ = try? pipeline.run(mqlInput, context: context)
}

// MARK: - Uploads

let uploader = APIKeyIdentity(keyID: "fuzz", organizationID: "org", role: .operator, scope: MachineScope(locationID: "l", robotID: "r"))
let uploadTime = Date(timeIntervalSince1970: 1_767_225_600)

func upload(_ bytes: [UInt8]) {
    // The first byte picks the message, the rest are its protobuf bytes as a client sends them.
    guard let kind = bytes.first else { return }
    let body = Array(bytes.dropFirst())
    switch kind % 3 {
    case 0:
        // The server reads a tabular upload off the wire: it must give what swift-protobuf's
        // decoding gives, readings or a refusal, for any bytes.
        let decoded = try? Viam_App_Datasync_V1_DataCaptureUploadRequest(serializedBytes: body)
        if decoded.map({ [.tabularSensor, .unspecified].contains($0.metadata.type) }) ?? true {
            let reference = decoded.flatMap { try? UploadConversion.readings($0, caller: uploader, now: uploadTime) }
            var offTheWire: [Reading]?
            if case .tabular(let upload)? = try? CaptureUpload(serializedBytes: body) {
                offTheWire = try? UploadConversion.readings(upload, caller: uploader, now: uploadTime)
            }
            precondition(
                offTheWire.map { $0.map(\.comparable) } == reference.map { $0.map(\.comparable) },
                "reading the upload off the wire gave \(String(describing: offTheWire)), swift-protobuf \(String(describing: reference))")
        }
        guard let request = decoded else { return }
        if let readings = try? UploadConversion.readings(request, caller: uploader, now: uploadTime) {
            // As the store encodes them: checked, since a Struct key may hold a NUL byte that no BSON key can.
            for reading in readings {
                _ = try? reading.data.encodeChecked()
                _ = try? reading.additionalParameters.encodeChecked()
            }
        }
        if let first = request.sensorContents.first {
            _ = try? UploadConversion.binaryMetadata(request.metadata, first.metadata, caller: uploader, fileID: "f", now: uploadTime)
        }
    case 1:
        guard let request = try? Viam_App_Datasync_V1_StreamingDataCaptureUploadRequest(serializedBytes: body),
            case .metadata(let metadata)? = request.uploadPacket
        else { return }
        _ = try? UploadConversion.binaryMetadata(metadata.uploadMetadata, metadata.sensorMetadata, caller: uploader, fileID: nil, now: uploadTime)
    default:
        guard let request = try? Viam_App_Datasync_V1_FileUploadRequest(serializedBytes: body), case .metadata(let metadata)? = request.uploadPacket
        else { return }
        _ = try? UploadConversion.fileMetadata(metadata, caller: uploader, fileID: nil, now: uploadTime)
    }
}

extension Reading {
    /// The reading as text, so a NaN compares equal to itself (and a key holding NUL, which no BSON
    /// encoding takes, still compares).
    var comparable: [String] {
        [organizationID, locationID, robotID, partID, componentType, componentName, methodName,
         "\(timeRequested)", "\(timeReceived)", "\(tags)", "\(additionalParameters)", "\(data)"]
    }
}

// MARK: - The plugin channel

/// A frame the host took re-encodes to bytes that decode to the same bytes again. Bytes, not `==`:
/// a NaN in a reading is never equal to itself, yet travels unchanged.
func checkReencodes(_ frame: ChannelFrame) {
    let encoded = ChannelCodec.encode(frame)
    let again = try? ChannelCodec.decode(encoded)
    check(again.map(ChannelCodec.encode) == encoded, "a decoded frame does not survive re-encoding: \(frame)")
}

/// Bytes from a plugin process, arriving in two pieces (split where the first byte says) as a
/// socket may deliver them: the host splits them into frames or drops the channel, never more.
func pluginChannel(_ bytes: [UInt8]) {
    var buffer = FrameBuffer()
    let split = bytes.isEmpty ? 0 : Int(bytes[0]) % (bytes.count + 1)
    for piece in [bytes[..<split], bytes[split...]] {
        buffer.append(piece)
        while true {
            let frame: ChannelFrame?
            do {
                frame = try buffer.next()
            } catch {
                return  // the host kills the process and restarts it
            }
            guard let frame else { break }
            checkReencodes(frame)
            check(buffer.wanted >= 1, "the reader would ask for no bytes")
        }
    }
}

/// What a plugin process writes into its side of the shared ring (it can write any byte of the
/// mapping): the input's first four bytes are the slot's sequence word, the next four its length
/// word (both little-endian), the rest its bytes. The host takes a frame that re-encodes to the
/// same, or drops the channel; it never reads past the slot, and a frame is taken once.
func pluginRing(_ bytes: [UInt8]) {
    guard bytes.count >= 8, let made = try? SharedRing.create() else { return }
    close(made.child.memory)
    let ring = made.ring
    func word(_ offset: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(bytes[offset + $1]) << (8 * UInt32($1)) } }
    ring.field(.sequence, incoming: true).pointee = word(0)
    ring.field(.length, incoming: true).pointee = word(4)
    let slot = ring.slot(incoming: true)
    let payload = bytes[8...].prefix(slot.count)
    slot.copyBytes(from: payload)
    let frame: ChannelFrame?
    do {
        frame = try ring.take()
    } catch {
        return  // the host kills the process and restarts it
    }
    guard let frame else {
        check(word(0) == 0, "a new sequence was not taken")
        return
    }
    checkReencodes(frame)
    check(ring.field(.taken, incoming: true).pointee == word(0), "the slot was not freed")
    let again = Result { () throws(ChannelError) in try ring.take() }
    check(again == .success(nil), "a frame was taken twice")
}
