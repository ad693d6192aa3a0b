import FerryBSON
import FerryLoader
import FerryTestSupport
import Foundation
import Logging
import Synchronization
import Testing

@testable import FerryCapture
@testable import FerryCaptureFile

@Suite struct CaptureFileTests {
    let clock = ManualClock(now: Date(timeIntervalSince1970: 1_767_225_601))
    let logger = Logger(label: "test")

    func writer(_ dir: TemporaryDirectory, maxSize: Int64 = 256 * 1024, fileSystem: any CaptureFileSystem = POSIXCaptureFileSystem())
        -> CaptureFileWriter
    {
        var options = CaptureWriterOptions()
        options.maximumFileSize = maxSize
        options.tags = ["lab"]
        return CaptureFileWriter(
            captureDir: dir.path, api: "rdk:component:sensor", component: "temp", method: "Readings",
            parameters: ["unit": "celsius"], options: options, clock: clock, fileSystem: fileSystem, logger: logger)
    }

    func reading(_ i: Int) -> CapturedValue { .tabular(["readings": ["temperature": .double(20 + Double(i) / 10), "i": .int32(Int32(i))]]) }

    @Test func roundTripsInViamsLayoutAndFormat() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let w = writer(dir)
        let t0 = clock.now()
        for i in 0..<5 { w.write(reading(i), timeRequested: t0, timeReceived: t0.addingTimeInterval(0.001)) }
        w.close()
        let files = CaptureRecovery.files(in: dir.path, withExtension: "capture")
        #expect(files.count == 1)
        #expect(files[0].hasPrefix(dir.path + "/rdk_component_sensor/temp/Readings/"))
        #expect(CaptureRecovery.files(in: dir.path, withExtension: "prog").isEmpty)
        let contents = try CaptureFileReader.read(path: files[0])
        #expect(contents.metadata.componentType == "rdk:component:sensor")
        #expect(contents.metadata.componentName == "temp")
        #expect(contents.metadata.methodName == "Readings")
        #expect(contents.metadata.type == .tabularSensor)
        #expect(contents.metadata.tags == ["lab"])
        #expect(CaptureFile.unpackParameters(contents.metadata.methodParameters) == ["unit": "celsius"])
        #expect(contents.records.count == 5)
        let third = StructConversion.document(from: contents.records[2].struct)
        #expect(third == ["readings": ["i": .double(2), "temperature": .double(20.2)]])
        #expect(contents.records[2].metadata.timeRequested.date == t0)
    }

    @Test func theFastEncoderWritesTheSameMessageAsSwiftProtobuf() throws {
        let reading: BSONDocument = [
            "readings": [
                "t": 21.5, "n": .int32(-3), "big": .int64(1 << 40), "ok": true, "off": false, "none": .null, "s": "x\u{e9}",
                "list": [1, "a", ["k": 2.5], []], "empty": [:], "when": .datetime(1_700_000_000_123),
            ]
        ]
        let requested = Date(timeIntervalSince1970: 1_700_000_000.25)
        let received = Date(timeIntervalSince1970: -1.5)
        let fast = SensorDataEncoder.delimitedTabular(reading, requested: requested, received: received)
        let reference = try CaptureFile.delimited(CaptureFile.tabularRecord(reading, requested: requested, received: received))
        let metadata = try CaptureFile.delimited(CaptureFile.metadata(api: "a:b:c", component: "c", method: "m", parameters: [:], tabular: true, tags: []))
        let parsedFast = try CaptureFileReader.parse(Data(metadata + fast), path: "fast", strict: true).records
        let parsedReference = try CaptureFileReader.parse(Data(metadata + reference), path: "ref", strict: true).records
        #expect(parsedFast == parsedReference)
        #expect(fast.count == reference.count)
    }

    /// Sync reads files as frames: the records' own bytes, checked field by field but not decoded.
    @Test func framesLocateEachRecordsBytesAndRefuseARecordWhoseFieldsOverrunIt() throws {
        let metadata = try CaptureFile.delimited(CaptureFile.metadata(api: "a:b:c", component: "c", method: "m", parameters: [:], tabular: true, tags: []))
        let t0 = Date(timeIntervalSince1970: 1_700_000_000)
        let records = (0..<3).map { SensorDataEncoder.delimitedTabular(["readings": ["i": .int32(Int32($0))]], requested: t0, received: t0) }
        let file = Data(metadata + records.joined())
        let frames = try CaptureFileReader.frames(file, path: "f", strict: true)
        #expect(frames.records.count == 3)
        let decoded = try CaptureFileReader.parse(file, path: "f", strict: true).records
        for index in 0..<3 {
            #expect(try SensorData(serializedBytes: frames.record(index)) == decoded[index])
            #expect(Array(frames.record(index)) == Array(records[index].dropFirst(1)), "the record's bytes without their length prefix")
        }
        // The same bytes at a non-zero offset of a larger buffer (a slice) locate the same records.
        let slice = (Data([0xFF, 0xFF]) + file).dropFirst(2)
        #expect(try (0..<3).map { try CaptureFileReader.frames(slice, path: "f", strict: true).record($0) } == (0..<3).map(frames.record))

        // The second record's first field claims more bytes than the record has.
        var broken = records[1]
        broken[2] = 0x7F
        let refused = #expect(throws: CaptureFileError.self) {
            try CaptureFileReader.frames(Data(metadata + records[0] + broken + records[2]), path: "f", strict: true)
        }
        #expect(refused?.offset == metadata.count + records[0].count)
        #expect(refused?.message.contains("record 1 does not decode") == true)
    }

    @Test(arguments: [
        ([0x08, 0x96, 0x01], true), ([0x0A, 0x02, 0x61, 0x62, 0x15, 1, 2, 3, 4], true), ([], true),
        ([0x0A, 0x03, 0x61], false), ([0x09, 1, 2, 3], false), ([0x0B], false), ([0x00, 0x01], false), ([0x08, 0x96], false),
    ] as [([UInt8], Bool)])
    func wireFramingIsCheckedWithoutASchema(_ bytes: [UInt8], _ isMessage: Bool) {
        #expect(bytes.withUnsafeBytes(ProtobufWire.isMessage) == isMessage)
    }

    @Test func tabularFilesRotateAtTheSizeLimitAndEachBinaryIsItsOwnFile() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let w = writer(dir, maxSize: 2048)
        let t = clock.now()
        for i in 0..<200 { w.write(reading(i), timeRequested: t, timeReceived: t) }
        w.write(.binary([.init(bytes: [1, 2, 3], mimeType: "image/png"), .init(bytes: [4], mimeType: "image/png")]), timeRequested: t, timeReceived: t)
        w.close()
        let files = CaptureRecovery.files(in: dir.path, withExtension: "capture")
        var tabular = 0
        var binary: [[UInt8]] = []
        for file in files {
            let contents = try CaptureFileReader.read(path: file)
            if contents.metadata.type == .binarySensor {
                #expect(contents.records.count == 1)
                #expect(contents.metadata.mimeType == "image/png")
                #expect(contents.metadata.fileExtension == ".png")
                binary.append(Array(contents.records[0].binary))
            } else {
                tabular += contents.records.count
                // Rotation happens once a file reaches the limit: no file is much bigger.
                let size = try FileManager.default.attributesOfItem(atPath: file)[.size] as! Int
                #expect(size < 2048 + 200)
            }
        }
        #expect(tabular == 200)
        #expect(files.count > 5)
        #expect(binary.sorted { $0.count > $1.count } == [[1, 2, 3], [4]])
    }

    @Test func recoveryCutsAPartialRecordAndPromotesTheFile() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        // Simulate a crash: a .prog with 3 whole records and half of a fourth.
        let metadata = CaptureFile.metadata(api: "rdk:component:sensor", component: "t", method: "Readings", parameters: [:], tabular: true, tags: [])
        var bytes = try CaptureFile.delimited(metadata)
        for i in 0..<4 {
            bytes += try CaptureFile.delimited(CaptureFile.tabularRecord(["i": .int32(Int32(i))], requested: Date(), received: Date()))
        }
        let whole = bytes.count
        let last = try CaptureFile.delimited(CaptureFile.tabularRecord(["i": 3], requested: Date(), received: Date())).count
        bytes.removeLast(last / 2)
        let folder = dir.path + "/rdk_component_sensor/t/Readings"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: folder + "/a.prog", contents: Data(bytes))
        _ = FileManager.default.createFile(atPath: folder + "/b.prog", contents: Data(bytes.prefix(3)))  // header cut short
        _ = FileManager.default.createFile(atPath: folder + "/c.prog", contents: Data([0x05, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02, 0x08]))  // garbage
        let report = CaptureRecovery.recover(captureDir: dir.path, logger: logger)
        #expect(report.recovered == [folder + "/a.capture"])
        #expect(report.truncatedBytes == last - last / 2)
        #expect(report.removedEmpty == [folder + "/b.prog"])
        #expect(report.quarantined == [folder + "/c.prog.corrupt"])
        let contents = try CaptureFileReader.read(path: folder + "/a.capture")
        #expect(contents.records.count == 3)
        #expect(contents.validLength == whole - last)
        #expect(CaptureRecovery.files(in: dir.path, withExtension: "prog").isEmpty)
    }

    /// Readings are written in groups; a group reaches the file within the group age (the fsync
    /// interval, 1 s, by default) even when no more readings come, so a killed process loses at
    /// most that much. Here the `.prog` file is read while the writer is still open, as recovery
    /// would find it.
    @Test func groupedReadingsReachTheFileWithinTheGroupAge() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let w = writer(dir)
        let t = clock.now()
        func recordsOnDisk() throws -> Int {
            let open = CaptureRecovery.files(in: dir.path, withExtension: "prog")
            return try open.reduce(0) { $0 + (try CaptureFileReader.read(path: $1).records.count) }
        }
        w.write(reading(0), timeRequested: t, timeReceived: t)
        #expect(try recordsOnDisk() == 1)  // the first reading is written at once
        clock.advance(by: .milliseconds(5))
        for i in 1...50 { w.write(reading(i), timeRequested: t, timeReceived: t) }
        // These wait in memory...
        let written = try recordsOnDisk()
        #expect(written < 51)
        #expect(w.stats.recordsWritten == written)
        clock.advance(by: .milliseconds(994))
        #expect(try recordsOnDisk() < 51)
        // ...and no longer than the group age.
        clock.advance(by: .milliseconds(1))
        #expect(try recordsOnDisk() == 51)
        #expect(w.stats.recordsWritten == 51)
        w.close()
    }

    /// Grouped writes rotate files exactly where one write per reading would: after the reading
    /// that brings a file to the maximum size.
    @Test func groupedWritesRotateAfterTheReadingThatReachesTheMaximum() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let maxSize: Int64 = 4096
        let w = writer(dir, maxSize: maxSize)
        let t = clock.now()
        for i in 0..<600 { w.write(reading(i), timeRequested: t, timeReceived: t) }
        w.close()
        let files = CaptureRecovery.files(in: dir.path, withExtension: "capture")
        #expect(files.count > 5)
        var all: [Int] = []
        var partial = 0
        for file in files {
            let contents = try CaptureFileReader.read(path: file)
            let size = Int64(contents.validLength)
            let lastRecord = Int64(try CaptureFile.delimited(contents.records.last!).count)
            if size < maxSize {
                partial += 1  // the last file, closed before it filled
            } else {
                #expect(size - lastRecord < maxSize)
            }
            let numbers = contents.records.map { Int(StructConversion.document(from: $0.struct)["readings"]!.documentValue!["i"]!.doubleValue!) }
            #expect(numbers == Array(numbers[0]..<numbers[0] + numbers.count))  // each file a run of readings, in order
            all += numbers
        }
        #expect(partial <= 1)
        #expect(all.sorted() == Array(0..<600))
    }

    @Test func writeErrorsBackOffKeepReadingsAndResume() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let disk = FailingFileSystem()
        let w = writer(dir, fileSystem: disk)
        let t = clock.now()
        w.write(reading(0), timeRequested: t, timeReceived: t)
        disk.failing.withLock { $0 = true }  // the disk fills up
        for i in 1..<20 {
            clock.advance(by: .milliseconds(100))
            w.write(reading(i), timeRequested: t, timeReceived: t)
        }
        #expect(w.stats.healthy == false)
        #expect(w.stats.lastError?.contains("No space left on device") == true)
        #expect(w.stats.pendingRecords == 19)
        // Within the backoff the writer does not hammer the disk.
        let attempts = disk.writeAttempts.withLock { $0 }
        clock.advance(by: .milliseconds(10))
        w.write(reading(20), timeRequested: t, timeReceived: t)
        #expect(disk.writeAttempts.withLock { $0 } == attempts)
        disk.failing.withLock { $0 = false }  // space is freed
        clock.advance(by: .seconds(60))
        w.write(reading(21), timeRequested: t, timeReceived: t)
        #expect(w.stats.healthy)
        #expect(w.stats.pendingRecords == 0)
        w.close()
        var all: [Int] = []
        for file in CaptureRecovery.files(in: dir.path, withExtension: "capture") {
            all += try CaptureFileReader.read(path: file).records.map {
                Int(StructConversion.document(from: $0.struct)["readings"]!.documentValue!["i"]!.doubleValue!)
            }
        }
        #expect(all.sorted() == Array(0...21))
    }
}

extension CaptureFileTests {
    /// The disk fills between a new file's header and its first reading, and capture stops before
    /// space returns: the file is removed, not finished as a capture file with nothing in it.
    @Test func aFileWhoseFirstReadingNeverLandsIsRemovedNotFinished() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let disk = FailingFileSystem()
        disk.failingAfterWrites.withLock { $0 = 1 }
        let w = writer(dir, fileSystem: disk)
        let t = clock.now()
        w.write(reading(0), timeRequested: t, timeReceived: t)
        #expect(w.stats.healthy == false)
        w.close()
        #expect(CaptureRecovery.files(in: dir.path, withExtension: "capture").isEmpty)
        #expect(CaptureRecovery.files(in: dir.path, withExtension: "prog").isEmpty)
    }
}

/// The real file system, except that writes fail with ENOSPC while `failing` is set.
final class FailingFileSystem: CaptureFileSystem {
    let real = POSIXCaptureFileSystem()
    let failing = Mutex(false)
    /// Writes after this many fail too (the disk fills after a file's header, say).
    let failingAfterWrites = Mutex<Int?>(nil)
    let writeAttempts = Mutex(0)
    func createDirectory(_ path: String) throws(CaptureIOError) { try real.createDirectory(path) }
    func create(_ path: String) throws(CaptureIOError) -> Int32 { try real.create(path) }
    func write(_ fd: Int32, _ bytes: [UInt8], path: String) throws(CaptureIOError) {
        let attempt = writeAttempts.withLock {
            $0 += 1
            return $0
        }
        if failing.withLock({ $0 }) || failingAfterWrites.withLock({ $0.map { attempt > $0 } ?? false }) {
            // Half the bytes land before the disk fills: the writer must cut them off again.
            try real.write(fd, Array(bytes.prefix(bytes.count / 2)), path: path)
            throw CaptureIOError(operation: "write", path: path, code: ENOSPC)
        }
        try real.write(fd, bytes, path: path)
    }
    /// Background syncs asked for, and the size of the file at each request.
    let backgroundSyncs = Mutex<[Int64]>([])
    func sync(_ fd: Int32, path: String) throws(CaptureIOError) { try real.sync(fd, path: path) }
    /// Synchronous, so that a sync is never still in flight (and the next one skipped) however
    /// fast a test moves its clock.
    func syncInBackground(_ fd: Int32, path: String, completion: @escaping @Sendable (CaptureIOError?) -> Void) {
        let size = Int64(lseek(fd, 0, SEEK_END))
        backgroundSyncs.withLock { $0.append(size) }
        do {
            try real.sync(fd, path: path)
            completion(nil)
        } catch {
            completion(error)
        }
    }
    func truncate(_ fd: Int32, to length: Int64, path: String) throws(CaptureIOError) { try real.truncate(fd, to: length, path: path) }
    func close(_ fd: Int32) { real.close(fd) }
    func rename(_ from: String, _ to: String) throws(CaptureIOError) { try real.rename(from, to) }
    func remove(_ path: String) { real.remove(path) }
    func syncDirectory(_ path: String) { real.syncDirectory(path) }
}
