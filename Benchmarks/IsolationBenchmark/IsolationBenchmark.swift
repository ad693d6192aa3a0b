import Dispatch
import FerryBSON
import FerryCapture
import FerryCaptureFile
import FerryClock
import FerryIsolation
import FerryLoader
import Foundation
import Logging

#if canImport(Glibc)
    import Glibc
#endif

enum IsolationBenchmark {
    static let logger: Logger = {
        var logger = Logger(label: "bench")
        logger.logLevel = .warning
        return logger
    }()

    /// One way of running the plugin: its model, and the plugin process's pid when isolated.
    struct Mode {
        var name: String
        var model: any ComponentModel
        var child: pid_t?
    }

    struct Row {
        var calls = 0.0
        /// The tight loop's calls by duration: the fastest tenth, and the median.
        var callP10 = 0.0
        var callP50 = 0.0
        var single = Run()
        var many = Run()
    }

    struct Run {
        var captured = 0.0
        var p50 = Duration.zero
        var p99 = Duration.zero
        var maximum = Duration.zero
        var hostCores = 0.0
        var childCores = 0.0
    }

    static func main() {
        let arguments = CommandLine.arguments
        if arguments.count >= 3, arguments[1] == "plugin-host" {
            exit(PluginHostServer.run(library: arguments[2], memoryLimitMB: nil, sharedRing: arguments.contains("--shared-ring")))
        }
        let seconds = Double(ProcessInfo.processInfo.environment["BENCH_SECONDS"] ?? "") ?? 10
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? arguments[0]
        let plugin =
            ProcessInfo.processInfo.environment["BENCH_PLUGIN"]
            ?? URL(fileURLWithPath: executable).deletingLastPathComponent().appendingPathComponent("libFerryFake.so").path
        let registry = PluginRegistry(logger: logger)
        do {
            try registry.load(path: plugin)
        } catch {
            print("cannot load the fake plugin \(plugin) (set BENCH_PLUGIN): \(error)")
            exit(1)
        }
        // BENCH_SHARED_RING=0: the socket pair alone, as before the shared-memory fast path.
        let sharedRing = ProcessInfo.processInfo.environment["BENCH_SHARED_RING"] != "0"
        let inProcess = registry.model(api: "rdk:component:sensor", model: "rdk:builtin:fake")!
        let module = IsolatedModule(launch: PluginProcess.Launch(executable: executable, library: plugin, sharedRing: sharedRing), label: "bench", logger: logger)
        do throws(PluginCallError) {
            try module.start()
        } catch {
            print("cannot start the plugin process: \(error)")
            exit(1)
        }
        defer { module.shutDown() }
        let isolated = module.models.first { $0.api == "rdk:component:sensor" && $0.model == "rdk:builtin:fake" }!

        print("# Isolation benchmark (\(ProcessInfo.processInfo.activeProcessorCount) cores, \(seconds) s per timed run, load average \(loadAverage()))")
        print("plugin: \(plugin), shared ring: \(sharedRing ? "yes" : "no (BENCH_SHARED_RING=0)")\n")
        let modes = [Mode(name: "in process", model: inProcess, child: nil), Mode(name: "isolated", model: isolated, child: module.status.pid)]
        var rows: [Row] = []
        for mode in modes {
            var row = Row()
            (row.calls, row.callP10, row.callP50) = callCeiling(mode, seconds: min(seconds, 3))
            // BENCH_CALLS_ONLY=1: the tight loop alone (for a profile of the channel).
            if ProcessInfo.processInfo.environment["BENCH_CALLS_ONLY"] != "1" {
                row.single = collectors(mode, count: 1, hz: 1000, seconds: seconds)
                row.many = collectors(mode, count: 100, hz: 10, seconds: seconds)
            }
            rows.append(row)
        }
        print("| | calls/s (tight loop) | 1 × 1 kHz: ticks captured | p50 / p99 / max lateness | host + plugin CPU | 100 × 10 Hz: ticks captured | p50 / p99 / max lateness | host + plugin CPU |")
        print("|---|---|---|---|---|---|---|---|")
        for (mode, row) in zip(modes, rows) {
            func cells(_ run: Run) -> String {
                "\(String(format: "%.2f", run.captured))% | \(micros(run.p50)) / \(micros(run.p99)) / \(micros(run.maximum)) | "
                    + "\(String(format: "%.2f", run.hostCores))" + (mode.child == nil ? "" : " + \(String(format: "%.2f", run.childCores))") + " cores"
            }
            print("| \(mode.name) | \(format(row.calls)) | \(cells(row.single)) | \(cells(row.many)) |")
        }
        print("\nisolated call rate: \(String(format: "%.1f", 100 * rows[1].calls / rows[0].calls))% of in process")
        // On a shared machine the rate is the scheduler's as much as the channel's; the fastest
        // tenth of the calls is what a call costs while both processes have a core.
        for (mode, row) in zip(modes, rows) {
            print("\(mode.name): one call takes \(String(format: "%.1f", row.callP10)) µs (fastest tenth), \(String(format: "%.1f", row.callP50)) µs (median)")
        }
        print("isolated call rate from the fastest tenth: \(String(format: "%.1f", 100 * rows[0].callP10 / rows[1].callP10))% of in process")
        print("load average at the end: \(loadAverage())")
    }

    static func loadAverage() -> String {
        ((try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? "?").split(separator: " ").prefix(3).joined(separator: " ")
    }

    static func format(_ value: Double) -> String { String(format: "%.0f", value) }
    static func micros(_ duration: Duration) -> String { String(format: "%.0f µs", duration.inSeconds * 1e6) }

    static func temporaryDirectory() -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ferry-bench-\(UUID().uuidString.prefix(8))").path
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func config(_ name: String) -> BSONDocument {
        ["name": .string(name), "api": "rdk:component:sensor", "model": "rdk:builtin:fake", "attributes": [:], "depends_on": []]
    }

    /// CPU seconds (user + system) of this process, or of the plugin process from /proc.
    static func cpuSeconds(_ pid: pid_t? = nil) -> Double {
        guard let pid else {
            var usage = rusage()
            getrusage(RUSAGE_SELF.rawValue, &usage)
            return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec)
                + Double(usage.ru_stime.tv_usec) / 1e6
        }
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return 0 }
        // After "pid (comm)": state is field 3, utime 14, stime 15.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// Capture in a tight loop on one instance: the most one collector could get.
    /// Calls per second, and the 10th and 50th percentile of one call's duration in µs.
    static func callCeiling(_ mode: Mode, seconds: Double) -> (calls: Double, p10: Double, p50: Double) {
        let instance = try! mode.model.createInstance(config: config("ceiling"))
        defer { instance.close() }
        // Durations in buckets of 100 ns up to 1 ms, the last bucket for anything longer.
        var buckets = [Int](repeating: 0, count: 10_001)
        let start = DispatchTime.now().uptimeNanoseconds
        var now = start
        var calls = 0
        while Double(now - start) / 1e9 < seconds {
            _ = try? instance.capture(method: "Readings", parameters: [:])
            let after = DispatchTime.now().uptimeNanoseconds
            buckets[min(Int((after - now) / 100), 10_000)] += 1
            now = after
            calls += 1
        }
        func percentile(_ p: Double) -> Double {
            var seen = 0
            for (index, count) in buckets.enumerated() {
                seen += count
                if Double(seen) >= p * Double(calls) { return Double(index + 1) / 10 }
            }
            return 1000
        }
        return (Double(calls) / (Double(now - start) / 1e9), percentile(0.1), percentile(0.5))
    }

    /// `count` collectors at `hz`, each on an instance of its own, writing real capture files.
    static func collectors(_ mode: Mode, count: Int, hz: Double, seconds: Double) -> Run {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let clock = SystemClock()
        var instances: [any ComponentInstance] = []
        var collectors: [Collector] = []
        for index in 0..<count {
            let name = "sensor-\(index)"
            let instance = try! mode.model.createInstance(config: config(name))
            instances.append(instance)
            let writer = CaptureFileWriter(
                captureDir: dir, api: "rdk:component:sensor", component: name, method: "Readings", parameters: [:],
                options: CaptureWriterOptions(), clock: clock, logger: logger)
            collectors.append(
                Collector(
                    key: .init(component: name, method: "Readings", parameters: [:]), frequencyHz: hz, clock: clock, sink: writer, logger: logger
                ) { () throws(PluginCallError) in try instance.capture(method: "Readings", parameters: [:]) })
        }
        let hostBefore = cpuSeconds()
        let childBefore = cpuSeconds(mode.child)
        let wallBefore = Date()
        collectors.forEach { $0.start() }
        Thread.sleep(forTimeInterval: seconds)
        let snapshot = collectors.map(\.stats)
        let wall = Date().timeIntervalSince(wallBefore)
        var run = Run()
        run.hostCores = (cpuSeconds() - hostBefore) / wall
        run.childCores = (cpuSeconds(mode.child) - childBefore) / wall
        collectors.forEach { $0.stop() }
        instances.forEach { $0.close() }
        var lateness = LatencyHistogram()
        var captures = 0
        for stats in snapshot {
            lateness.merge(stats.lateness)
            captures += stats.captures
        }
        run.captured = 100 * Double(captures) / (Double(count) * hz * wall)
        run.p50 = lateness.quantile(0.5)
        run.p99 = lateness.quantile(0.99)
        run.maximum = lateness.maximum
        return run
    }
}
