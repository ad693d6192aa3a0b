// Ingest and sync benchmarks, side by side in one run with the backend's own bulk load of the same rows
// (SQLite: one prepared INSERT in one transaction; PostgreSQL: COPY into the same table):
//   1. DataCaptureUpload over TLS on loopback (the data server's ingest path, Viam's wire API)
//   2. sync: capture files on disk → SyncEngine → DataCaptureUpload over TLS → store
//   3. PostgreSQL only: two uploaders into one data server vs one each into two replicas on one database
// Run:
//   swift build -c release --product SyncBenchmark && .build/release/SyncBenchmark [readings] [--postgres]
// (--postgres uses FERRY_TEST_DATABASE_URL's server, or starts a throwaway cluster as the tests do.)
import BenchmarkSupport
import FerryAPI
import FerryBSON
import FerryCaptureFile
import FerryMQL
import FerryStore
import FerryStoreFactory
import FerryStoreSQLite
import FerrySync
import FerryTestSupport
import Foundation
import Logging

enum SyncBenchmark {
    /// Where each run's store lives: a fresh SQLite data directory, or a fresh PostgreSQL database.
    enum Backend {
        case sqlite, postgres

        func freshStore() async throws -> StoreLocation {
            switch self {
            case .sqlite: .directory(try Bench.temporaryDirectory())
            case .postgres: .database(try await TestPostgres.freshDatabase())
            }
        }
    }

    static func run(count: Int, backend: Backend) async throws {
        print("SyncBenchmark (\(backend)): \(count) readings (10 sensors), server and client in one process on loopback, TLS\n")
        let readings = Bench.sampleReadings(count, org: "org")
        let baseline: Double
        switch backend {
        case .sqlite:
            baseline = try Bench.rawInsert(readings, indexes: true, synchronous: "FULL")
            print("| path | readings/s | vs SQLite's own insert, same rows |")
            print("|---|---|---|")
            Bench.row("SQLite prepared INSERT, one transaction, readings table + 3 indexes", baseline, baseline)
        case .postgres:
            baseline = try await postgresCopy(readings)
            print("| path | readings/s | vs PostgreSQL's COPY, same rows, same table |")
            print("|---|---|---|")
            Bench.row("PostgreSQL COPY (CSV, server-side file) into Ferry's readings table", baseline, baseline)
        }
        for batch in [500, 5_000] {
            let rate = try await upload(readings, batch: batch, uploaders: 1, replicas: 1, backend: backend)
            Bench.row("DataCaptureUpload over TLS, \(batch) readings per request, with idempotency headers", rate, baseline)
        }
        if backend == .postgres {
            for replicas in [1, 2] {
                let rate = try await upload(readings, batch: 5_000, uploaders: 2, replicas: replicas, backend: backend)
                let into = replicas == 1 ? "both into one data server" : "one into each of two replicas on the database"
                Bench.row("DataCaptureUpload over TLS, 5000 per request, 2 uploaders, \(into)", rate, baseline)
            }
        }
        for workers in [1, 2] {
            let rate = try await syncFromFiles(readings, workers: workers, backend: backend)
            Bench.row("sync from 256 KiB capture files, \(workers) worker\(workers == 1 ? "" : "s") (read, upload, ack, delete)", rate, baseline)
        }
    }

    struct Server {
        let endpoint: GRPCUploader.Endpoint
        let store: any DataStore
        let organization: String
        let task: Task<Void, any Error>
        /// Its TLS directory, and its SQLite store's unless it shares another server's.
        let directories: [String]

        func stop() {
            task.cancel()
            for directory in directories { try? FileManager.default.removeItem(atPath: directory) }
        }
    }

    /// A data server on a new store, or (`sharing`) another replica on the same store, organisation and key.
    static func startServer(_ location: StoreLocation, sharing first: Server? = nil) async throws -> Server {
        let directory = try Bench.temporaryDirectory()
        var storeOptions = StoreOptions()
        storeOptions.logger.logLevel = .warning
        let store = try await StoreFactory.open(location, options: storeOptions)
        let organization: String
        let key: (id: String, secret: String)
        if let first {
            organization = first.organization
            key = (first.endpoint.apiKeyID, first.endpoint.apiKey)
        } else {
            organization = try await store.createOrganization(name: "bench").id
            let created = try await store.createAPIKey(organizationID: organization, role: .operator)
            key = (created.info.id, created.secret)
        }
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
        var owned = [directory]
        if first == nil, case .directory(let path) = location { owned.append(path) }
        return Server(
            endpoint: GRPCUploader.Endpoint(
                host: "127.0.0.1", port: port, apiKeyID: key.id, apiKey: key.secret, caCertificate: tls.certificate),
            store: store, organization: organization, task: task,
            directories: owned)
    }

    static func record(_ reading: Reading) -> SensorData {
        CaptureFile.tabularRecord(
            reading.data, requested: Date(timeIntervalSince1970: Double(reading.timeRequested) / 1000),
            received: Date(timeIntervalSince1970: Double(reading.timeReceived) / 1000))
    }

    /// `uploaders` clients, each uploading its share of the readings in requests of `batch`, spread
    /// over `replicas` data servers on one store.
    static func upload(_ readings: [Reading], batch: Int, uploaders: Int, replicas: Int, backend: Backend) async throws -> Double {
        let location = try await backend.freshStore()
        let first = try await startServer(location)
        var servers = [first]
        for _ in 1..<replicas { servers.append(try await startServer(location, sharing: first)) }
        defer { servers.forEach { $0.stop() } }
        var metadata = UploadMetadata()
        metadata.componentType = "rdk:component:sensor"
        metadata.componentName = "sensor"
        metadata.methodName = "Readings"
        metadata.type = .tabularSensor
        // Encoded before the clock starts, as a host's capture files hold them.
        let records = try readings.map { Data(try record($0).serializedBytes() as [UInt8]) }
        let share = (records.count + uploaders - 1) / uploaders
        let clients = try (0..<uploaders).map { try GRPCUploader(endpoint: servers[$0 % servers.count].endpoint) }
        defer { clients.forEach { $0.close() } }
        let header = metadata
        let started = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, client) in clients.enumerated() {
                let mine = Array(records[min(records.count, index * share)..<min(records.count, (index + 1) * share)])
                group.addTask {
                    for start in stride(from: 0, to: mine.count, by: batch) {
                        let end = min(mine.count, start + batch)
                        try await client.uploadTabular(
                            header, records: Array(mine[start..<end]), key: UploadKey(fileID: "bench-\(index)", first: start, end: end))
                    }
                }
            }
            try await group.waitForAll()
        }
        let rate = Double(readings.count) / Bench.seconds(ContinuousClock.now - started)
        try await check(first, count: readings.count)
        return rate
    }

    /// PostgreSQL's own bulk load of the same rows into Ferry's readings table (its indexes and
    /// partitions made by Ferry's schema): one server-side `COPY … FROM` a CSV file.
    static func postgresCopy(_ readings: [Reading]) async throws -> Double {
        let url = try await TestPostgres.freshDatabase()
        var storeOptions = StoreOptions()
        storeOptions.logger.logLevel = .warning
        let store = try await StoreFactory.open(.database(url), options: storeOptions)
        let organization = try await store.createOrganization(name: "bench").id
        let database = TestPostgres.databaseName(of: url)
        // The month partitions Ferry's ingest would add (one call per day of data; it skips those that exist).
        for day in Set(readings.map { $0.timeReceived / 86_400_000 }) {
            try TestPostgres.psql("SELECT ferry_readings_partition(to_timestamp(\(day * 86_400)))", database: database)
        }
        let directory = try Bench.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: directory)
        let path = directory + "/readings.csv"
        let time = ISO8601DateFormatter()
        time.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        func quoted(_ text: String) -> String { "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }
        func hex(_ bytes: [UInt8]) -> String { "\\x" + bytes.map { String(format: "%02x", $0) }.joined() }
        var csv = ""
        for r in readings {
            let fields = [
                organization, r.locationID, r.robotID, r.partID, r.componentType, r.componentName, r.methodName,
                time.string(from: Date(timeIntervalSince1970: Double(r.timeRequested) / 1000)),
                time.string(from: Date(timeIntervalSince1970: Double(r.timeReceived) / 1000)), "[]", "{}", r.data.extendedJSON(.relaxed),
                hex(r.additionalParameters.encode()), hex(r.data.encode()),
            ]
            csv += fields.map(quoted).joined(separator: ",") + "\n"
        }
        try csv.write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
        let columns = "organization_id, location_id, robot_id, part_id, component_type, component_name, method_name, time_requested, time_received, tags, additional_parameters, data, additional_parameters_bson, data_bson"
        let started = ContinuousClock.now
        try TestPostgres.psql("COPY readings (\(columns)) FROM '\(path)' WITH (FORMAT csv)", database: database)
        let rate = Double(readings.count) / Bench.seconds(ContinuousClock.now - started)
        let stored = try TestPostgres.psql("SELECT count(*) FROM readings", database: database).trimmingCharacters(in: .whitespacesAndNewlines)
        guard stored == "\(readings.count)" else { throw BenchmarkError("COPY stored \(stored) readings, expected \(readings.count)") }
        return rate
    }

    static func syncFromFiles(_ readings: [Reading], workers: Int, backend: Backend) async throws -> Double {
        let server = try await startServer(try await backend.freshStore())
        defer { server.stop() }
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
let count = arguments.dropFirst().compactMap { Int($0) }.first ?? 100_000
let done = DispatchSemaphore(value: 0)
Task.detached {
    do {
        try await SyncBenchmark.run(count: count, backend: arguments.contains("--postgres") ? .postgres : .sqlite)
    } catch {
        print("benchmark failed: \(error)")
    }
    done.signal()
}
done.wait()
