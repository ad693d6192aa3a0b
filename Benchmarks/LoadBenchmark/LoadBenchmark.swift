// A fleet against one data server: N simulated machines (default 100), each capturing two
// sensors into real capture files with Ferry's own collectors and writers and syncing them with
// its own SyncEngine, into one real `ferry serve` over TLS on loopback; a share of the machines
// (default 10%) goes through a CuttingProxy that drops their connections at random byte offsets.
// Reports errors, the exactly-once check (every confirmed record stored once), p50/p99 upload
// latency, and the server's CPU and RSS (from /proc). Not a unit test: see Benchmarks/README.md.
//
//   swift build -c release --scratch-path .build-bench --product ferry
//   swift build -c release --scratch-path .build-bench --product LoadBenchmark
//   .build-bench/release/LoadBenchmark [--machines 100] [--minutes 10] [--hz 5] [--cut-share 0.1] [--seed N]
import Dispatch
import FerryBSON
import FerryCapture
import FerryCaptureFile
import FerryClock
import FerryLoader
import FerrySync
import FerryTestSupport
import Foundation
import Logging
import Synchronization

struct LoadOptions: Sendable {
    var machines = 100
    var seconds = 600.0
    /// Capture rate of each of a machine's two sensors.
    var hz = 5.0
    var cutShare = 0.1
    var seed: UInt64 = 0x10AD

    init(_ arguments: [String]) throws {
        var rest = arguments[...]
        func value(_ flag: String) throws -> String {
            guard let next = rest.popFirst() else { throw BenchmarkFailure("\(flag) needs a value") }
            return next
        }
        while let flag = rest.popFirst() {
            switch flag {
            case "--machines": machines = Int(try value(flag)) ?? -1
            case "--minutes": seconds = (Double(try value(flag)) ?? -1) * 60
            case "--seconds": seconds = Double(try value(flag)) ?? -1
            case "--hz": hz = Double(try value(flag)) ?? -1
            case "--cut-share": cutShare = Double(try value(flag)) ?? -1
            case "--seed": seed = UInt64(try value(flag)) ?? 0
            default: throw BenchmarkFailure("unknown flag \(flag); flags: --machines N --minutes M (or --seconds S) --hz F --cut-share 0…1 --seed N")
            }
        }
        guard machines > 0, seconds > 0, hz > 0, (0...1).contains(cutShare) else { throw BenchmarkFailure("bad flag values: \(arguments)") }
    }
}

struct BenchmarkFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Times every upload call and counts failures by kind; the engine is unaware.
final class TimedUploader: DataUploader {
    let inner: GRPCUploader
    let record: @Sendable (Duration, UploadFailure?) -> Void

    init(_ inner: GRPCUploader, record: @escaping @Sendable (Duration, UploadFailure?) -> Void) {
        self.inner = inner
        self.record = record
    }

    func uploadTabular(_ metadata: UploadMetadata, records: [Data], key: UploadKey) async throws(UploadFailure) {
        let start = ContinuousClock.now
        do {
            try await inner.uploadTabular(metadata, records: records, key: key)
            record(ContinuousClock.now - start, nil)
        } catch {
            record(ContinuousClock.now - start, error)
            throw error
        }
    }

    func uploadBinary(_ metadata: UploadMetadata, record: SensorData, key: UploadKey, streamingThreshold: Int) async throws(UploadFailure) {
        try await inner.uploadBinary(metadata, record: record, key: key, streamingThreshold: streamingThreshold)
    }

    func uploadFile(_ metadata: UploadMetadata, path: String, key: UploadKey) async throws(UploadFailure) {
        try await inner.uploadFile(metadata, path: path, key: key)
    }
}

struct Tally {
    var latencies: [Duration] = []
    var failures: [String: Int] = [:]
}

/// Shared, locked state for closures that outlive a scope (a Mutex itself cannot be captured).
final class Locked<Value: Sendable>: Sendable {
    let value: Mutex<Value>
    init(_ value: Value) { self.value = Mutex(value) }
    func withLock<T>(_ body: (inout Value) -> T) -> T { value.withLock { body(&$0) } }
}

/// The server's CPU seconds and memory, read from /proc.
struct ProcessSample {
    var cpuSeconds: Double
    var rssBytes: Int64

    static func read(pid: Int32) -> ProcessSample? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        else { return nil }
        // Fields after the command name (which may hold spaces): utime is 14th, stime 15th overall.
        let fields = stat[stat.index(after: stat.lastIndex(of: ")")!)...].split(separator: " ")
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        let cpu = (Double(fields[11]) ?? 0) / ticks + (Double(fields[12]) ?? 0) / ticks
        let rssKB = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") }?.split(separator: " ").dropFirst().first.flatMap { Int64($0) } ?? 0
        return ProcessSample(cpuSeconds: cpu, rssBytes: rssKB * 1024)
    }
}

struct Machine: Sendable {
    let index: Int
    let captureDir: String
    let archiveDir: String
    let collectors: [Collector]
    let engine: SyncEngine
    let uploader: GRPCUploader
    let cut: Bool
}

@main
enum LoadBenchmark {
    static func main() async {
        do {
            try await run(LoadOptions(Array(CommandLine.arguments.dropFirst())))
        } catch {
            print("LoadBenchmark failed: \(error)")
            exit(1)
        }
    }

    static func ferry(_ arguments: [String]) throws -> String {
        let result = try FerryProcess.run(arguments)
        guard result.status == 0 else { throw BenchmarkFailure("ferry \(arguments.joined(separator: " ")): \(result.stderr)") }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func run(_ options: LoadOptions) async throws {
        let root = try TemporaryDirectory("ferry-load")
        defer { root.remove() }
        let data = root.file("server")
        let organization = try ferry(["org", "create", "load", "--data", data])
        let key = try ferry(["key", "create", "--data", data, "--org", organization, "--role", "operator"]).split(separator: " ").map(String.init)
        let serverLog = root.file("server.log")
        let server = try FerryProcess(["serve", "--data", data, "--listen", "127.0.0.1:0", "--metrics-listen", "off"], log: serverLog)
        defer {
            server.signal(SIGKILL)
            _ = server.wait()
        }
        let marker = "serving Viam's data API on 127.0.0.1:"
        guard eventually(timeout: 120, { ((try? String(contentsOfFile: serverLog, encoding: .utf8)) ?? "").contains(marker) }),
            let port = ((try? String(contentsOfFile: serverLog, encoding: .utf8)) ?? "").components(separatedBy: marker).last
                .flatMap({ Int($0.prefix(while: \.isNumber)) })
        else { throw BenchmarkFailure("ferry serve did not start: \((try? String(contentsOfFile: serverLog, encoding: .utf8)) ?? "")") }
        let proxy = try CuttingProxy(upstreamPort: port, seed: options.seed, byteRange: 2_000..<200_000)
        defer { proxy.close() }

        let tally = Locked(Tally())
        var logger = Logger(label: "load")
        logger.logLevel = .critical
        var random = SeededGenerator(seed: options.seed)
        let cutMachines = Set((0..<options.machines).shuffled(using: &random).prefix(Int((Double(options.machines) * options.cutShare).rounded())))
        var machines: [Machine] = []
        let clock = SystemClock()
        for index in 0..<options.machines {
            let captureDir = root.file("m\(index)/capture")
            let archiveDir = root.file("m\(index)/archive")
            var writerOptions = CaptureWriterOptions()
            writerOptions.maximumFileSize = 16 * 1024
            writerOptions.fsyncInterval = .seconds(1)
            let collectors = ["a", "b"].map { sensor in
                let component = "m\(index)-\(sensor)"
                let writer = CaptureFileWriter(
                    captureDir: captureDir, api: "rdk:component:sensor", component: component, method: "Readings", parameters: [:],
                    options: writerOptions, clock: clock, logger: logger)
                let count = Locked(0)
                return Collector(
                    key: .init(component: component, method: "Readings", parameters: [:]), frequencyHz: options.hz, clock: clock, sink: writer,
                    logger: logger
                ) {
                    let n = count.withLock { value in
                        value += 1
                        return value
                    }
                    return .tabular(["readings": ["temperature_celsius": .double(20 + Double(n % 1000) / 100), "n": .int64(Int64(n))]])
                }
            }
            let cut = cutMachines.contains(index)
            let endpoint = GRPCUploader.Endpoint(
                host: "127.0.0.1", port: cut ? proxy.port : port, apiKeyID: key[0], apiKey: key[1], caCertificate: data + "/tls-cert.pem")
            let uploader = try GRPCUploader(endpoint: endpoint, logger: logger)
            let timed = TimedUploader(uploader) { duration, failure in
                tally.withLock { tally in
                    if let failure {
                        let kind = String(failure.description.prefix(while: { $0 != ":" }))
                        tally.failures[kind, default: 0] += 1
                    } else {
                        tally.latencies.append(duration)
                    }
                }
            }
            var settings = SyncSettings(captureDir: captureDir)
            settings.workers = 1
            settings.archiveDir = archiveDir
            var environment = SyncEngine.Environment()
            environment.finishOpenFiles = { for collector in collectors { collector.finishFile() } }
            // Machines start their 6 s sync cycles spread out, as a real fleet does.
            environment.tick = .milliseconds(500)
            let engine = SyncEngine(settings: settings, server: endpoint.address, uploader: timed, environment: environment, logger: logger)
            machines.append(Machine(index: index, captureDir: captureDir, archiveDir: archiveDir, collectors: collectors, engine: engine, uploader: uploader, cut: cut))
        }

        print("LoadBenchmark: \(options.machines) machines × 2 sensors at \(options.hz) Hz for \(Int(options.seconds)) s, \(cutMachines.count) through a cutting proxy, one ferry serve (TLS, loopback, SQLite)")
        let started = ContinuousClock.now
        let before = ProcessSample.read(pid: server.process.processIdentifier)
        for machine in machines { for collector in machine.collectors { collector.start() } }
        let fleet = machines
        let engines = Task {
            await withDiscardingTaskGroup { group in
                for machine in fleet {
                    group.addTask {
                        // Spread the machines' sync cycles over the first interval.
                        try? await Task.sleep(for: .milliseconds(Int(Double(machine.index) / Double(options.machines) * 6_000)))
                        await machine.engine.run()
                    }
                }
            }
        }
        var peakRSS: Int64 = 0
        var cpuSamples: [Double] = []
        var last = before
        while ContinuousClock.now - started < .seconds(options.seconds) {
            try await Task.sleep(for: .seconds(1))
            if let sample = ProcessSample.read(pid: server.process.processIdentifier) {
                peakRSS = max(peakRSS, sample.rssBytes)
                if let last { cpuSamples.append(sample.cpuSeconds - last.cpuSeconds) }
                last = sample
            }
        }
        let loadEnd = ContinuousClock.now
        let during = ProcessSample.read(pid: server.process.processIdentifier)
        // Stop capture (closing every file), heal the network, and let every backlog drain.
        for machine in machines { for collector in machine.collectors { collector.stop() } }
        proxy.setCutting(false)
        for machine in machines { machine.engine.requestSync() }
        let drainStart = ContinuousClock.now
        func backlog() -> Int {
            machines.reduce(0) { total, machine in
                total + CaptureRecovery.files(in: machine.captureDir, withExtension: CaptureFile.finishedExtension).count
            }
        }
        while backlog() > 0 {
            if ContinuousClock.now - drainStart > .seconds(600) { throw BenchmarkFailure("the backlog did not drain in 10 minutes: \(backlog()) files") }
            try await Task.sleep(for: .milliseconds(500))
            for machine in machines { machine.engine.requestSync() }
        }
        let drained = ContinuousClock.now - drainStart
        engines.cancel()
        await engines.value
        for machine in machines { machine.uploader.close() }

        // Exactly once: the records in the confirmed (archived) files against the store, per sensor.
        var archived: [String: Int] = [:]
        var written = 0
        for machine in machines {
            for path in CaptureRecovery.files(in: machine.archiveDir, withExtension: CaptureFile.finishedExtension) {
                let contents = try CaptureFileReader.read(path: path)
                archived[contents.metadata.componentName, default: 0] += contents.records.count
            }
            written += machine.collectors.reduce(0) { $0 + $1.stats.captures }
        }
        let perSensor = try ferry([
            "data", "query", "--data", data, "--org", organization, "--sql",
            "SELECT component_name AS c, count(*) AS n, count(DISTINCT json_extract(data, '$.readings.n')) AS d FROM readings GROUP BY component_name",
        ])
        var stored: [String: Int] = [:]
        var duplicates = 0
        for line in perSensor.split(separator: "\n") {
            let row = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            let count = (row["n"] as! NSNumber).intValue
            stored[row["c"] as! String] = count
            duplicates += count - (row["d"] as! NSNumber).intValue
        }
        let archivedTotal = archived.values.reduce(0, +)
        let storedTotal = stored.values.reduce(0, +)
        let mismatched = archived.filter { stored[$0.key] != $0.value }.count + stored.filter { archived[$0.key] == nil }.count

        let result = tally.withLock { $0 }
        let sorted = result.latencies.sorted()
        func quantile(_ q: Double) -> String {
            guard !sorted.isEmpty else { return "-" }
            let value = sorted[min(sorted.count - 1, Int((Double(sorted.count) * q).rounded(.up)) - 1)]
            return String(format: "%.1f ms", value.inSeconds * 1000)
        }
        let loadSeconds = (loadEnd - started).inSeconds
        let cpu = (during?.cpuSeconds ?? 0) - (before?.cpuSeconds ?? 0)
        print("")
        print("| measure | value |")
        print("|---|---|")
        print("| machines (through the cutting proxy) | \(options.machines) (\(cutMachines.count)) |")
        print("| load duration | \(Int(loadSeconds)) s, then \(String(format: "%.1f", drained.inSeconds)) s to drain the backlog |")
        print("| readings captured / confirmed (archived) / stored | \(written) / \(archivedTotal) / \(storedTotal) |")
        print("| exactly once: sensors whose stored count differs from confirmed | \(mismatched) of \(archived.count) |")
        print("| readings stored twice (same sensor and sequence number) | \(duplicates) |")
        print("| uploads that succeeded | \(sorted.count) |")
        print("| upload failures (all retried) | \(result.failures.isEmpty ? "0" : result.failures.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")) |")
        print("| proxy: connections cut / opened | \(proxy.cuts) / \(proxy.connections) |")
        print("| upload latency p50 / p99 (successful DataCaptureUpload calls) | \(quantile(0.5)) / \(quantile(0.99)) |")
        print("| ingest rate during the load | \(Int(Double(storedTotal) / max(1, loadSeconds + drained.inSeconds))) readings/s (captured \(Int(Double(written) / loadSeconds))/s) |")
        print("| server CPU during the load (mean / peak 1 s) | \(String(format: "%.0f%%", cpu / loadSeconds * 100)) / \(String(format: "%.0f%%", (cpuSamples.max() ?? 0) * 100)) of one core |")
        print("| server RSS (end of load / peak) | \((during?.rssBytes ?? 0) >> 20) MiB / \(peakRSS >> 20) MiB |")
        if mismatched > 0 || duplicates > 0 || archivedTotal != storedTotal || result.failures.keys.contains(where: { $0.contains("rejected") }) {
            throw BenchmarkFailure("exactly-once check failed: confirmed \(archivedTotal), stored \(storedTotal), duplicates \(duplicates), sensors differing \(mismatched)")
        }
    }
}
