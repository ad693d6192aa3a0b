import Dispatch
import FerryBSON
import FerryCapture
import FerryCaptureFile
import FerryClock
import FerryLoader
import Foundation
import Logging

#if canImport(Glibc)
    import Glibc
#endif

enum CaptureBenchmark {
    static let logger = Logger(label: "bench")

    static func main() {
        let seconds = Double(ProcessInfo.processInfo.environment["BENCH_SECONDS"] ?? "") ?? 10
        let binDir = URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]).deletingLastPathComponent()
        let registry = PluginRegistry(logger: logger)
        do {
            try registry.load(path: binDir.appendingPathComponent("libFerryFake.so").path)
        } catch {
            print("cannot load the fake plugin: \(error)")
            exit(1)
        }
        let model = registry.model(api: "rdk:component:sensor", model: "rdk:builtin:fake")!
        let config: BSONDocument = ["name": "bench", "api": .string(model.api), "model": .string(model.model), "attributes": [:], "depends_on": []]
        print("# Capture benchmarks (\(ProcessInfo.processInfo.activeProcessorCount) cores, \(seconds) s per timed run, load average \(loadAverage()))\n")
        // BENCH_ONLY=ceiling,single,many,writer runs some of them (e.g. one under a profiler).
        let only = Set((ProcessInfo.processInfo.environment["BENCH_ONLY"] ?? "ceiling,single,many,writer").split(separator: ",").map(String.init))
        if only.contains("ceiling") { pluginCallCeiling(model: model, config: config, seconds: min(seconds, 3)) }
        if only.contains("single") { singleCollector(model: model, config: config, seconds: seconds) }
        if only.contains("many") { manyCollectors(model: model, config: config, count: 1000, hz: 10, seconds: seconds) }
        if only.contains("writer") { writeThroughput(records: 200_000) }
        print("\nload average at the end: \(loadAverage())")
    }

    static func loadAverage() -> String {
        ((try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? "?").split(separator: " ").prefix(3).joined(separator: " ")
    }

    static func temporaryDirectory() -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ferry-bench-\(UUID().uuidString.prefix(8))").path
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec)
            + Double(usage.ru_stime.tv_usec) / 1e6
    }

    static func format(_ value: Double) -> String { String(format: "%.0f", value) }
    /// A peer's speed against the writer's, from the writer's time over the peer's.
    static func relative(_ ratio: Double) -> String {
        ratio >= 1 ? String(format: "%.1f× faster", ratio) : String(format: "%.1f× slower", 1 / ratio)
    }
    static func micros(_ duration: Duration) -> String { String(format: "%.0f µs", duration.inSeconds * 1e6) }

    /// Calls the plugin's capture in a tight loop: the most any collector could do.
    static func pluginCallCeiling(model: RegisteredModel, config: BSONDocument, seconds: Double) {
        let instance = try! model.create(config: config)
        let start = DispatchTime.now().uptimeNanoseconds
        var calls = 0
        while Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 < seconds {
            _ = try? instance.capture(method: "Readings")
            calls += 1
        }
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        instance.close()
        print("## Plugin call ceiling (fake sensor Readings through the C ABI, no scheduling, no file)")
        print("- \(format(Double(calls) / elapsed)) calls/s\n")
    }

    /// One collector at 1 to 100 kHz, writing real capture files.
    static func singleCollector(model: RegisteredModel, config: BSONDocument, seconds: Double) {
        print("## One collector, fake sensor, real capture files")
        print("| requested | achieved readings/s | captured of scheduled | skipped ticks | p50 lateness | p99 lateness | CPU |")
        print("|---|---|---|---|---|---|---|")
        for hz in [1_000.0, 10_000.0, 20_000.0, 100_000.0] {
            let dir = temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let instance = try! model.create(config: config)
            let clock = SystemClock()
            let writer = CaptureFileWriter(
                captureDir: dir, api: model.api, component: "bench", method: "Readings", parameters: [:],
                options: CaptureWriterOptions(), clock: clock, logger: logger)
            let collector = Collector(
                key: .init(component: "bench", method: "Readings", parameters: [:]), frequencyHz: hz, clock: clock, sink: writer,
                logger: logger
            ) { () throws(PluginCallError) in try instance.capture(method: "Readings") }
            let cpuBefore = cpuSeconds()
            let wallBefore = Date()
            collector.start()
            Thread.sleep(forTimeInterval: seconds)
            let stats = collector.stats
            let wall = Date().timeIntervalSince(wallBefore)
            let cpu = cpuSeconds() - cpuBefore
            collector.stop()
            instance.close()
            let scheduled = hz * wall
            print(
                "| \(format(hz)) Hz | \(format(Double(stats.captures) / wall)) | \(String(format: "%.2f", 100 * Double(stats.captures) / scheduled))% | "
                    + "\(stats.skippedTicks) | \(micros(stats.lateness.quantile(0.5))) | \(micros(stats.lateness.quantile(0.99))) | "
                    + "\(String(format: "%.2f", cpu / wall)) cores |")
        }
        print("")
    }

    /// Many collectors at a modest rate: do they all keep their schedule, and at what CPU cost?
    static func manyCollectors(model: RegisteredModel, config: BSONDocument, count: Int, hz: Double, seconds: Double) {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let clock = SystemClock()
        var collectors: [Collector] = []
        var instances: [PluginInstance] = []
        for index in 0..<count {
            let instance = try! model.create(config: config)
            instances.append(instance)
            let name = "sensor-\(index)"
            let writer = CaptureFileWriter(
                captureDir: dir, api: model.api, component: name, method: "Readings", parameters: [:],
                options: CaptureWriterOptions(), clock: clock, logger: logger)
            collectors.append(
                Collector(
                    key: .init(component: name, method: "Readings", parameters: [:]), frequencyHz: hz, clock: clock, sink: writer,
                    logger: logger
                ) { () throws(PluginCallError) in try instance.capture(method: "Readings") })
        }
        let cpuBefore = cpuSeconds()
        let wallBefore = Date()
        collectors.forEach { $0.start() }
        Thread.sleep(forTimeInterval: seconds)
        // Measure the steady state only: stopping closes 1,000 files (an fsync each), counted apart.
        let snapshot = collectors.map(\.stats)
        let wall = Date().timeIntervalSince(wallBefore)
        let cpu = cpuSeconds() - cpuBefore
        let stopStart = Date()
        collectors.forEach { $0.stop() }
        let stopSeconds = Date().timeIntervalSince(stopStart)
        instances.forEach { $0.close() }
        var lateness = LatencyHistogram()
        var captures = 0
        var skipped = 0
        for stats in snapshot {
            lateness.merge(stats.lateness)
            captures += stats.captures
            skipped += stats.skippedTicks
        }
        let expected = Double(count) * hz * wall
        print("## \(count) collectors at \(format(hz)) Hz for \(String(format: "%.1f", wall)) s, real capture files")
        // Of the ticks that fell due, those captured (the rest were skipped); the share of count ×
        // hz × the wall time also counts the time start() takes to make 1,000 directories.
        print(
            "- readings: \(captures) of \(captures + skipped) ticks due (\(String(format: "%.2f", 100 * Double(captures) / Double(max(1, captures + skipped))))%), "
                + "skipped ticks: \(skipped); \(String(format: "%.2f", 100 * Double(captures) / expected))% of \(count) × \(format(hz)) Hz × the wall time")
        print("- tick lateness: p50 \(micros(lateness.quantile(0.5))), p99 \(micros(lateness.quantile(0.99))), max \(micros(lateness.maximum))")
        print("- CPU: \(String(format: "%.2f", cpu / wall)) cores busy (user+sys / wall)")
        print("- stopping all \(count) (close, fsync, rename each file): \(String(format: "%.1f", stopSeconds)) s\n")
    }

    /// The capture-file writer against a raw sequential write of exactly the bytes it produced.
    static func writeThroughput(records: Int) {
        let reading: BSONDocument = [
            "readings": ["temperature": 21.5, "humidity": 48.25, "pressure_hpa": 1013.2, "status": "ok"]
        ]
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let clock = SystemClock()
        var options = CaptureWriterOptions()
        options.fsyncInterval = .seconds(1)
        let writer = CaptureFileWriter(
            captureDir: dir, api: "rdk:component:sensor", component: "w", method: "Readings", parameters: [:], options: options,
            clock: clock, logger: logger)
        let now = Date()
        var start = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<records { writer.write(.tabular(reading), timeRequested: now, timeReceived: now) }
        writer.close()
        let writerSeconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let files = CaptureRecovery.files(in: dir, withExtension: "capture")
        let bytes = files.reduce(0) { $0 + ((try? FileManager.default.attributesOfItem(atPath: $1)[.size] as? Int) ?? 0) }

        // The same bytes, one write(2) per record, then fsync: what the disk allows at this grain.
        let record = try! CaptureFile.delimited(CaptureFile.tabularRecord(reading, requested: now, received: now))
        let rawPath = dir + "/raw.bin"
        let fd = open(rawPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        start = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<records { _ = record.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } }
        fdatasync(fd)
        let rawSeconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        close(fd)

        // And in one big buffer: the disk's sequential ceiling.
        var big: [UInt8] = []
        big.reserveCapacity(record.count * records)
        for _ in 0..<records { big += record }
        let fd2 = open(rawPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        start = DispatchTime.now().uptimeNanoseconds
        _ = big.withUnsafeBytes { write(fd2, $0.baseAddress, $0.count) }
        fdatasync(fd2)
        let bigSeconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        close(fd2)

        let mb = Double(bytes) / 1e6
        print("## Capture-file write throughput, \(records) readings (\(String(format: "%.1f", mb)) MB in \(files.count) rotated files)")
        print("| writer | readings/s | MB/s | vs capture writer |")
        print("|---|---|---|---|")
        print("| CaptureFileWriter (encode + write + rotate + fsync each second) | \(format(Double(records) / writerSeconds)) | \(String(format: "%.1f", mb / writerSeconds)) | 1.0× |")
        print("| raw write(2) per record, same bytes, one fsync | \(format(Double(records) / rawSeconds)) | \(String(format: "%.1f", Double(record.count * records) / 1e6 / rawSeconds)) | \(relative(writerSeconds / rawSeconds)) |")
        print("| raw single write, same bytes, one fsync | \(format(Double(records) / bigSeconds)) | \(String(format: "%.1f", Double(record.count * records) / 1e6 / bigSeconds)) | \(relative(writerSeconds / bigSeconds)) |")
    }
}
