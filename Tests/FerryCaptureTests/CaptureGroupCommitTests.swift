import FerryBSON
import FerryLoader
import FerryTestSupport
import Foundation
import Logging
import Synchronization
import Testing

@testable import FerryCapture
@testable import FerryCaptureFile

/// The group commit: readings of a slow collector (10 Hz) wait in the writer and are written and
/// synced together once per group age (the fsync interval), so the collector's lane makes no
/// system call for them, and a killed process loses at most the last group age.
@Suite(.ownThreads) struct CaptureGroupCommitTests {
    let clock = ManualClock(now: Date(timeIntervalSince1970: 1_767_225_601))
    let logger = Logger(label: "test")

    func writer(
        _ dir: TemporaryDirectory, fileSystem: any CaptureFileSystem, fsyncInterval: Duration = .seconds(1), pendingLimitBytes: Int? = nil,
        groupBytes: Int? = nil
    ) -> CaptureFileWriter {
        var options = CaptureWriterOptions()
        options.fsyncInterval = fsyncInterval
        if let pendingLimitBytes { options.pendingLimitBytes = pendingLimitBytes }
        if let groupBytes { options.groupBytes = groupBytes }
        return CaptureFileWriter(
            captureDir: dir.path, api: "rdk:component:sensor", component: "temp", method: "Readings", parameters: [:],
            options: options, clock: clock, fileSystem: fileSystem, logger: logger)
    }

    func reading(_ i: Int) -> CapturedValue { .tabular(["readings": ["i": .int32(Int32(i))]]) }

    /// The timer's flush, a group age later, on another thread, its write(2) blocked in `disk`
    /// (which must be gated); the semaphore is signalled once that flush returns.
    func timerFlushStuck(in disk: GatedFileSystem, sourceLocation: SourceLocation = #_sourceLocation) -> DispatchSemaphore {
        let flushed = DispatchSemaphore(value: 0)
        Thread { [clock] in
            clock.advance(by: .seconds(1))
            flushed.signal()
        }.start()
        #expect(disk.entered.wait(timeout: .now() + 10) == .success, "the timer's flush never reached the disk", sourceLocation: sourceLocation)
        return flushed
    }

    /// What start-up recovery would make of the capture directory if the process were killed now
    /// (the page cache outlives the process): recovery runs on a copy, the writer stays open.
    func readingsAfterAKill(_ dir: TemporaryDirectory) throws -> [Int] {
        let copy = try TemporaryDirectory()
        defer { copy.remove() }
        try FileManager.default.removeItem(atPath: copy.path)
        try FileManager.default.copyItem(atPath: dir.path, toPath: copy.path)
        _ = CaptureRecovery.recover(captureDir: copy.path, logger: logger)
        var numbers: [Int] = []
        for file in CaptureRecovery.files(in: copy.path, withExtension: "capture") {
            numbers += try CaptureFileReader.read(path: file).records.map {
                Int(StructConversion.document(from: $0.struct)["readings"]!.documentValue!["i"]!.doubleValue!)
            }
        }
        return numbers.sorted()
    }

    /// Ten seconds of a 10 Hz collector: one `write(2)` and one sync a second instead of ten
    /// writes, each sync right after the write it makes durable, and at every moment a kill keeps
    /// every reading older than the group age.
    @Test func slowReadingsAreWrittenAndSyncedOncePerGroupAge() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let disk = FailingFileSystem()
        let w = writer(dir, fileSystem: disk)
        let t = clock.now()
        let start = clock.uptime()
        var taken: [(index: Int, at: Duration)] = []
        for i in 0..<100 {
            w.write(reading(i), timeRequested: t, timeReceived: t)
            taken.append((i, clock.uptime()))
            clock.advance(by: .milliseconds(100))
            let now = clock.uptime()
            let survivors = Set(try readingsAfterAKill(dir))
            for (index, at) in taken where now - at >= .seconds(1) {
                #expect(survivors.contains(index), "reading \(index), taken \(now - at) ago, would be lost")
            }
        }
        let elapsed = clock.uptime() - start
        // The header, then one write per second (the first at once): not one per reading.
        let writes = disk.writeAttempts.withLock { $0 }
        #expect(writes >= 10 && writes <= 12, "\(writes) writes in \(elapsed)")
        // A sync follows each group's write, asked for at the size that write left.
        let syncs = disk.backgroundSyncs.withLock { $0 }
        #expect(syncs.count == writes - 1)
        #expect(syncs == syncs.sorted())
        w.close()
        #expect(try readingsAfterAKill(dir) == Array(0..<100))
    }

    /// With a shorter fsync interval the group age follows it: readings wait at most that long.
    @Test func theGroupAgeIsTheFsyncIntervalWhenThatIsShorter() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let disk = FailingFileSystem()
        let w = writer(dir, fileSystem: disk, fsyncInterval: .milliseconds(250))
        let t = clock.now()
        for i in 0..<20 {
            w.write(reading(i), timeRequested: t, timeReceived: t)
            clock.advance(by: .milliseconds(50))
            let now = i + 1  // readings taken 50 ms apart, this many so far
            let older = max(0, now - 5)  // those at least 250 ms old
            #expect(try readingsAfterAKill(dir).count >= older)
        }
        // 1 s of readings: a write and a sync at once and every 250 ms.
        #expect(disk.backgroundSyncs.withLock { $0.count } == 5)
        w.close()
    }

    /// A write interval of zero writes every reading as it comes, and syncs by the fsync interval only.
    @Test func zeroWriteIntervalWritesEachReadingAtOnce() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let disk = FailingFileSystem()
        var options = CaptureWriterOptions()
        options.writeInterval = .zero
        let w = CaptureFileWriter(
            captureDir: dir.path, api: "rdk:component:sensor", component: "temp", method: "Readings", parameters: [:],
            options: options, clock: clock, fileSystem: disk, logger: logger)
        let t = clock.now()
        for i in 0..<25 {
            w.write(reading(i), timeRequested: t, timeReceived: t)
            #expect(try readingsAfterAKill(dir).count == i + 1)
            clock.advance(by: .milliseconds(100))
        }
        #expect(disk.writeAttempts.withLock { $0 } == 26)
        #expect(disk.backgroundSyncs.withLock { $0.count } == 2)
        w.close()
    }
}

extension CaptureGroupCommitTests {
    /// A `write(2)` stuck in the disk (a journal commit) holds the writer's flush, not the
    /// collector: a tick's reading goes into the inbox without waiting, and is written after.
    @Test func aTickDoesNotWaitForAWriteStuckInTheDisk() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let disk = GatedFileSystem()
        let w = writer(dir, fileSystem: disk)
        let t = clock.now()
        w.write(reading(0), timeRequested: t, timeReceived: t)  // written at once
        disk.gated.withLock { $0 = true }
        w.write(reading(1), timeRequested: t, timeReceived: t)
        let flushed = timerFlushStuck(in: disk)
        // Meanwhile a tick writes: it returns while the flush is still stuck.
        let ticked = DispatchSemaphore(value: 0)
        Thread {
            w.write(reading(2), timeRequested: t, timeReceived: t)
            ticked.signal()
        }.start()
        #expect(ticked.wait(timeout: .now() + 10) == .success)
        #expect(flushed.wait(timeout: .now()) == .timedOut)  // the flush is still stuck
        disk.release.signal()
        #expect(flushed.wait(timeout: .now() + 10) == .success)
        w.close()
        #expect(try readingsAfterAKill(dir) == [0, 1, 2])
    }
}

extension CaptureGroupCommitTests {
    /// A group that fills before its age is written off the collector's lane (a fast collector's
    /// lane would otherwise stall in that write now and then, and skip ticks): the tick that fills
    /// it returns while the write is stuck in the disk, and the group reaches the file without the
    /// clock moving.
    @Test func aFullGroupIsWrittenOffTheLane() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let disk = GatedFileSystem()
        let w = writer(dir, fileSystem: disk, groupBytes: 256)
        let t = clock.now()
        w.write(reading(0), timeRequested: t, timeReceived: t)  // written at once
        disk.gated.withLock { $0 = true }
        let ticked = DispatchSemaphore(value: 0)
        Thread { [self] in
            for i in 1...20 { w.write(reading(i), timeRequested: t, timeReceived: t) }
            ticked.signal()
        }.start()
        #expect(disk.entered.wait(timeout: .now() + 10) == .success, "no write of the full group")
        #expect(ticked.wait(timeout: .now() + 10) == .success, "a tick waited for the stuck write")
        disk.release.signal()
        // Without the clock moving, the full groups reach the file (the last, partial one waits).
        var survivors: [Int] = []
        for _ in 0..<1_000 {
            survivors = try readingsAfterAKill(dir)
            if survivors.count >= 10 { break }
            Thread.sleep(forTimeInterval: 0.01)
        }
        #expect(survivors.count >= 10, "\(survivors)")
        #expect(survivors == Array(0..<survivors.count))
        w.close()
        #expect(try readingsAfterAKill(dir) == Array(0...20))
    }

    /// While a write is stuck in the disk, the readings that arrive meanwhile are bounded too: the
    /// oldest of them are dropped and counted, the newest are written once the disk answers.
    @Test func readingsArrivingDuringAStuckWriteAreBounded() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let disk = GatedFileSystem()
        let w = writer(dir, fileSystem: disk, pendingLimitBytes: 2_000)
        let t = clock.now()
        w.write(reading(0), timeRequested: t, timeReceived: t)  // written at once
        disk.gated.withLock { $0 = true }
        w.write(reading(1), timeRequested: t, timeReceived: t)
        let flushed = timerFlushStuck(in: disk)
        for i in 2..<500 { w.write(reading(i), timeRequested: t, timeReceived: t) }
        let dropped = w.stats.droppedRecords
        #expect(dropped > 400, "\(dropped) dropped")
        disk.release.signal()
        #expect(flushed.wait(timeout: .now() + 10) == .success)
        w.close()
        let kept = try readingsAfterAKill(dir)
        #expect(kept.count + dropped == 500)
        #expect(kept.prefix(2) == [0, 1])
        #expect(Array(kept.dropFirst(2)) == Array((500 - (kept.count - 2))..<500), "the newest are kept")
    }
}

extension CaptureGroupCommitTests {
    /// Every writer's group timer runs on one queue: while one writer's `write(2)` is stuck there,
    /// another writer's timer cannot run, and that collector's tick writes its group itself once
    /// it is two group ages old.
    @Test func aTickWritesItsGroupWhenTheTimersAreAWholeGroupAgeBehind() throws {
        let stuckDir = try TemporaryDirectory()
        defer { stuckDir.remove() }
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let gate = GatedFileSystem()
        let stuck = writer(stuckDir, fileSystem: gate)
        let w = writer(dir, fileSystem: POSIXCaptureFileSystem())
        let t = clock.now()
        stuck.write(reading(100), timeRequested: t, timeReceived: t)
        w.write(reading(0), timeRequested: t, timeReceived: t)  // both written at once
        clock.advance(by: .milliseconds(500))
        gate.gated.withLock { $0 = true }
        stuck.write(reading(101), timeRequested: t, timeReceived: t)
        w.write(reading(1), timeRequested: t, timeReceived: t)
        // At 1 s the first writer's timer gets stuck in its write, holding up the other's.
        let flushed = DispatchSemaphore(value: 0)
        Thread { [clock] in
            clock.advance(by: .milliseconds(500))
            flushed.signal()
        }.start()
        #expect(gate.entered.wait(timeout: .now() + 10) == .success)
        clock.advance(by: .milliseconds(1400))  // 2.4 s: reading 1 is 1.9 s old
        w.write(reading(2), timeRequested: t, timeReceived: t)
        #expect(try readingsAfterAKill(dir) == [0])
        clock.advance(by: .milliseconds(100))  // 2.5 s: 2 s old, two group ages
        w.write(reading(3), timeRequested: t, timeReceived: t)
        #expect(try readingsAfterAKill(dir) == [0, 1, 2, 3])
        #expect(flushed.wait(timeout: .now()) == .timedOut)  // the timers are still stuck
        gate.release.signal()
        #expect(flushed.wait(timeout: .now() + 10) == .success)
        stuck.close()
        w.close()
        #expect(try readingsAfterAKill(stuckDir) == [100, 101])
    }
}

/// The real file system, except that once `gated` is set the next write waits for `release`
/// (after signalling `entered`).
final class GatedFileSystem: CaptureFileSystem {
    let real = POSIXCaptureFileSystem()
    let gated = Mutex(false)
    let entered = DispatchSemaphore(value: 0)
    let release = DispatchSemaphore(value: 0)
    func createDirectory(_ path: String) throws(CaptureIOError) { try real.createDirectory(path) }
    func create(_ path: String) throws(CaptureIOError) -> Int32 { try real.create(path) }
    func write(_ fd: Int32, _ bytes: [UInt8], path: String) throws(CaptureIOError) {
        let wait = gated.withLock { gated in
            defer { gated = false }
            return gated
        }
        if wait {
            entered.signal()
            // Bounded: a test that never releases fails instead of hanging.
            _ = release.wait(timeout: .now() + 30)
        }
        try real.write(fd, bytes, path: path)
    }
    func sync(_ fd: Int32, path: String) throws(CaptureIOError) { try real.sync(fd, path: path) }
    func syncInBackground(_ fd: Int32, path: String, completion: @escaping @Sendable (CaptureIOError?) -> Void) {
        real.syncInBackground(fd, path: path, completion: completion)
    }
    func truncate(_ fd: Int32, to length: Int64, path: String) throws(CaptureIOError) { try real.truncate(fd, to: length, path: path) }
    func close(_ fd: Int32) { real.close(fd) }
    func rename(_ from: String, _ to: String) throws(CaptureIOError) { try real.rename(from, to) }
    func remove(_ path: String) { real.remove(path) }
    func syncDirectory(_ path: String) { real.syncDirectory(path) }
}

/// Periodic syncs of many files gathered into rounds.
@Suite struct SyncBatcherTests {
    final class Recorder: Sendable {
        let calls = Mutex<[String]>([])
        let fileSystemFails = Mutex(false)
    }

    func batcher(_ recorder: Recorder) -> SyncBatcher {
        // A window long enough that the test's own call runs each round with every request in it.
        SyncBatcher(
            window: .seconds(30), fileSystemThreshold: 4,
            syncFile: { fd in
                recorder.calls.withLock { $0.append("fdatasync \(fd)") }
                return fd == 13 ? EIO : 0
            },
            syncFileSystem: { fd in
                recorder.calls.withLock { $0.append("syncfs \(fd)") }
                return recorder.fileSystemFails.withLock { $0 } ? ENOSYS : 0
            },
            // Descriptors from 20 up live on a second disk; 99's device is unknown.
            device: { fd in fd == 99 ? nil : fd >= 20 ? 2 : 1 })
    }

    /// Submits `fds` and runs the round on the batcher's queue; returns each one's answer.
    func round(_ batcher: SyncBatcher, _ fds: [Int32]) -> [Int32: CaptureIOError?] {
        let answers = Mutex<[Int32: CaptureIOError?]>([:])
        for fd in fds { batcher.submit(fd: fd, path: "/f\(fd)") { error in answers.withLock { $0[fd] = error } } }
        batcher.queue.sync { batcher.round() }
        return answers.withLock { $0 }
    }

    @Test func manyFilesShareOneFileSystemSync() {
        let recorder = Recorder()
        let answers = round(batcher(recorder), [10, 11, 12, 13, 14])
        #expect(recorder.calls.withLock { $0 } == ["syncfs 10"])
        #expect(answers.count == 5)
        #expect(answers.values.allSatisfy { $0 == nil })
    }

    @Test func aFewFilesAreSyncedEachOnItsOwn() {
        let recorder = Recorder()
        let answers = round(batcher(recorder), [12, 13])
        #expect(recorder.calls.withLock { $0 } == ["fdatasync 12", "fdatasync 13"])
        #expect(answers[12]! == nil)
        #expect(answers[13]??.code == EIO)
        #expect(answers[13]??.path == "/f13")
    }

    /// One syncfs covers only its own file system: files on another disk, or on one that cannot
    /// be told, are synced by a syncfs of their own disk or each on its own.
    @Test func filesOnTwoDisksAreSyncedPerDisk() {
        let recorder = Recorder()
        let answers = round(batcher(recorder), [10, 11, 12, 13, 20, 21, 22, 23, 24, 99])
        #expect(Set(recorder.calls.withLock { $0 }) == ["syncfs 10", "syncfs 20", "fdatasync 99"])
        #expect(answers.count == 10 && answers.values.allSatisfy { $0 == nil })
        let recorder2 = Recorder()
        let mixed = round(batcher(recorder2), [10, 11, 12, 13, 20, 21])
        #expect(recorder2.calls.withLock { $0 } == ["syncfs 10", "fdatasync 20", "fdatasync 21"])
        #expect(mixed.count == 6)
    }

    @Test func aFailedFileSystemSyncFallsBackToEachFile() {
        let recorder = Recorder()
        recorder.fileSystemFails.withLock { $0 = true }
        let answers = round(batcher(recorder), [10, 11, 12, 13])
        #expect(recorder.calls.withLock { $0 } == ["syncfs 10", "fdatasync 10", "fdatasync 11", "fdatasync 12", "fdatasync 13"])
        #expect(answers.count == 4)
        #expect(answers[13]??.code == EIO)
        #expect(answers[10]! == nil)
    }

    /// The real system calls on real files: every request is answered, without an error.
    @Test func realFilesAreSyncedWithTheSystemCalls() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let batcher = SyncBatcher(window: .seconds(30), fileSystemThreshold: 3)
        var fds: [Int32] = []
        for i in 0..<5 {
            let fd = open(dir.path + "/f\(i)", O_WRONLY | O_CREAT, 0o644)
            try #require(fd != -1, "cannot create \(dir.path)/f\(i): errno \(errno)")
            _ = write(fd, "x", 1)
            fds.append(fd)
        }
        defer { fds.forEach { _ = close($0) } }
        let many = round(batcher, fds)
        #expect(many.count == 5 && many.values.allSatisfy { $0 == nil })
        let few = round(batcher, [fds[0]])
        #expect(few.count == 1 && few[fds[0]]! == nil)
    }
}

/// Collectors started together get tick grids spread over their interval, so that a lane never has
/// hundreds of ticks due at once (the last of a batch is as late as the batch is long).
@Suite struct CapturePhaseTests {
    let clock = ManualClock(now: Date(timeIntervalSince1970: 1_767_225_601))
    let logger = Logger(label: "test")

    /// When each tick ran.
    final class TickLog: Sendable {
        let times = Mutex<[Duration]>([])
    }

    func collectors(_ count: Int, scheduler: CaptureScheduler, ticks: TickLog) -> [Collector] {
        (0..<count).map { i in
            Collector(
                key: .init(component: "c\(i)", method: "Readings", parameters: [:]), frequencyHz: 10, clock: clock, sink: RecordingSink(),
                logger: logger, scheduler: scheduler
            ) { [clock] () throws(PluginCallError) in
                ticks.times.withLock { $0.append(clock.uptime()) }
                return .tabular(["v": 1])
            }
        }
    }

    @Test func collectorsStartedTogetherTickSpreadOverTheInterval() {
        let scheduler = CaptureScheduler(clock: clock, lanes: 1, spreadsPhases: true)
        let ticks = TickLog()
        let all = collectors(100, scheduler: scheduler, ticks: ticks)
        let start = clock.uptime()
        all.forEach { $0.start() }
        for _ in 0..<350 { clock.advance(by: .milliseconds(1)) }
        let times = ticks.times.withLock { $0 }
        // Each collector ticks on its own grid (start + phase + n × 100 ms), on time, none skipped...
        for (k, collector) in all.enumerated() {
            let phase = CaptureScheduler.phase(index: k, interval: .milliseconds(100)).inNanoseconds
            let expected = Int((350_000_000 - phase) / 100_000_000) + 1
            #expect(collector.stats.captures == expected, "collector \(k), phase \(phase) ns")
            #expect(collector.stats.skippedTicks == 0)
            #expect(collector.stats.lateness.maximum < .milliseconds(1))
        }
        // ...and never more than three fall due in the same millisecond (all 100 without the spread).
        var perMillisecond: [Int64: Int] = [:]
        for time in times { perMillisecond[(time - start).inNanoseconds / 1_000_000, default: 0] += 1 }
        #expect(perMillisecond.values.max()! <= 3)
        #expect(perMillisecond.count >= 150)
        all.forEach { $0.stop() }
    }

    @Test func underATestClockTicksStayOnTheStartsGridUnlessAsked() {
        let scheduler = CaptureScheduler(clock: clock, lanes: 1)
        let ticks = TickLog()
        let all = collectors(20, scheduler: scheduler, ticks: ticks)
        let start = clock.uptime()
        all.forEach { $0.start() }
        #expect(ticks.times.withLock { $0 } == Array(repeating: start, count: 20))
        all.forEach { $0.stop() }
    }

    @Test func phasesLieWithinTheIntervalAndFillItEvenly() {
        let interval = Duration.milliseconds(100)
        let phases = (0..<1000).map { CaptureScheduler.phase(index: $0, interval: interval) }
        #expect(phases.allSatisfy { $0 >= .zero && $0 < interval })
        #expect(phases[0] == .zero)
        // Every tenth of the interval holds close to a tenth of them.
        let tenths = Dictionary(grouping: phases) { $0.inNanoseconds / 10_000_000 }.mapValues(\.count)
        #expect(tenths.count == 10)
        #expect(tenths.values.allSatisfy { (95...105).contains($0) })
    }
}
