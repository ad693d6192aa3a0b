// Ingest and sync benchmarks, side by side in one run with SQLite's own bulk insert of the same rows:
//   1. DataCaptureUpload over TLS on loopback (the data server's ingest path, Viam's wire API)
//   2. sync: capture files on disk → SyncEngine → DataCaptureUpload over TLS → store
// Run:
//   swift build -c release --product SyncBenchmark && .build/release/SyncBenchmark [readings]
import BenchmarkSupport
import FerryAPI
import FerryBSON
import FerryCaptureFile
import FerryMQL
import FerryStore
import FerryStoreSQLite
import FerrySync
import Foundation
import Logging

enum SyncBenchmark {
    static func run(count: Int) async throws {
        print("SyncBenchmark: \(count) readings (10 sensors), server and client in one process on loopback, TLS\n")
        let readings = Bench.sampleReadings(count, org: "org")
        let baseline = try Bench.rawInsert(readings, indexes: true, synchronous: "FULL")
        print("| path | readings/s | vs SQLite's own insert, same rows |")
        print("|---|---|---|")
        Bench.row("SQLite prepared INSERT, one transaction, readings table + 3 indexes", baseline, baseline)
        for batch in [500, 5_000] {
            let rate = try await directUpload(readings, batch: batch)
            Bench.row("DataCaptureUpload over TLS, \(batch) readings per request, with idempotency headers", rate, baseline)
        }
        for workers in [1, 2] {
            let rate = try await syncFromFiles(readings, workers: workers)
            Bench.row("sync from 256 KiB capture files, \(workers) worker\(workers == 1 ? "" : "s") (read, upload, ack, delete)", rate, baseline)
        }
    }

    struct Server {
        let endpoint: GRPCUploader.Endpoint
        let store: SQLiteReadingStore
        let organization: String
        let task: Task<Void, any Error>
    }

    static func startServer() async throws -> Server {
        let directory = try Bench.temporaryDirectory()
        var configuration = SQLiteReadingStore.Configuration()
        configuration.logger.logLevel = .warning
        let store = try SQLiteReadingStore(dataDirectory: directory, configuration: configuration)
        let organization = try await store.createOrganization(name: "bench").id
        let key = try await store.createAPIKey(organizationID: organization, role: .operator)
        var options = DataServer.Options()
        options.port = 0
        var logger = Logger(label: "bench.server")
        logger.logLevel = .warning
        let tls = try DataServer.selfSignedCertificate(in: directory, listenHost: options.host, logger: logger)
        options.tls = tls
        let server = DataServer(store: store, operators: MQLOperatorRegistry(), options: options, logger: logger)
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let task = Task { try await server.run { continuation.yield($0) } }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw BenchmarkError("server did not start") }
        return Server(
            endpoint: GRPCUploader.Endpoint(
                host: "127.0.0.1", port: port, apiKeyID: key.info.id, apiKey: key.secret, caCertificate: tls.certificate),
            store: store, organization: organization, task: task)
    }

    static func record(_ reading: Reading) -> SensorData {
        CaptureFile.tabularRecord(
            reading.data, requested: Date(timeIntervalSince1970: Double(reading.timeRequested) / 1000),
            received: Date(timeIntervalSince1970: Double(reading.timeReceived) / 1000))
    }

    static func directUpload(_ readings: [Reading], batch: Int) async throws -> Double {
        let server = try await startServer()
        defer { server.task.cancel() }
        let uploader = try GRPCUploader(endpoint: server.endpoint)
        defer { uploader.close() }
        var metadata = UploadMetadata()
        metadata.componentType = "rdk:component:sensor"
        metadata.componentName = "sensor"
        metadata.methodName = "Readings"
        metadata.type = .tabularSensor
        let records = readings.map(record)
        let started = ContinuousClock.now
        for first in stride(from: 0, to: records.count, by: batch) {
            let end = min(records.count, first + batch)
            try await uploader.uploadTabular(
                metadata, records: Array(records[first..<end]), key: UploadKey(fileID: "bench", first: first, end: end))
        }
        let rate = Double(readings.count) / Bench.seconds(ContinuousClock.now - started)
        try await check(server, count: readings.count)
        return rate
    }

    static func syncFromFiles(_ readings: [Reading], workers: Int) async throws -> Double {
        let server = try await startServer()
        defer { server.task.cancel() }
        let captureDir = try Bench.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: captureDir) }
        try writeCaptureFiles(readings, captureDir: captureDir)
        var settings = SyncSettings(captureDir: captureDir)
        settings.workers = workers
        settings.interval = .seconds(3600)
        var environment = SyncEngine.Environment()
        environment.tick = .milliseconds(5)
        var logger = Logger(label: "bench.sync")
        logger.logLevel = .error
        let engine = SyncEngine(
            settings: settings, server: server.endpoint.address, uploader: try GRPCUploader(endpoint: server.endpoint),
            environment: environment, logger: logger)
        let started = ContinuousClock.now
        let running = Task { await engine.run() }
        while engine.status.syncedRecords < readings.count {
            try await Task.sleep(for: .milliseconds(5))
            if let error = engine.status.lastError, engine.status.retries > 100 { throw BenchmarkError(error) }
        }
        let rate = Double(readings.count) / Bench.seconds(ContinuousClock.now - started)
        running.cancel()
        try await check(server, count: readings.count)
        return rate
    }

    /// Capture files as a collector writes them: one directory per sensor, rotated at 256 KiB.
    static func writeCaptureFiles(_ readings: [Reading], captureDir: String) throws {
        var bySensor: [String: [Reading]] = [:]
        for reading in readings { bySensor[reading.componentName, default: []].append(reading) }
        for (sensor, rows) in bySensor {
            let directory = CaptureFile.directory(captureDir: captureDir, api: "rdk:component:sensor", component: sensor, method: "Readings")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let header = try CaptureFile.delimited(
                CaptureFile.metadata(api: "rdk:component:sensor", component: sensor, method: "Readings", parameters: [:], tabular: true, tags: []))
            var file = header
            var index = 0
            func flush() throws {
                guard file.count > header.count else { return }
                let name = String(format: "2026-01-01T00:00:00.000Z-%06d.capture", index)
                try Data(file).write(to: directory.appendingPathComponent(name))
                index += 1
                file = header
            }
            for reading in rows {
                file += try CaptureFile.delimited(record(reading))
                if file.count >= 256 * 1024 { try flush() }
            }
            try flush()
        }
    }

    /// The benchmark counts only if every reading arrived, once.
    static func check(_ server: Server, count: Int) async throws {
        let stored = try await server.store.tabularDataBySQL(
            organizationID: server.organization, source: .standard, query: "SELECT count(*) AS n FROM readings")
        guard stored.first?["n"]?.int64Value == Int64(count) else {
            throw BenchmarkError("the store holds \(String(describing: stored.first?["n"])) readings, expected \(count)")
        }
    }
}

let arguments = CommandLine.arguments
let count = arguments.count > 1 ? Int(arguments[1]) ?? 100_000 : 100_000
let done = DispatchSemaphore(value: 0)
Task.detached {
    do {
        try await SyncBenchmark.run(count: count)
    } catch {
        print("benchmark failed: \(error)")
    }
    done.signal()
}
done.wait()
