import FerryTestSupport
import Foundation
import Testing

/// The unmodified Viam Python SDK (viam-sdk 0.85.1) against the real `ferry serve` over TLS, on
/// each store backend. The checks are in Tests/python; each test runs one script and reports its
/// output on failure.
@Suite(.ownThreads) struct ViamSDKTests {
    static let scripts = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("python")

    /// The backends a script runs against: SQLite in the script's data directory, or a fresh
    /// PostgreSQL database that every `ferry` command and `ferry serve` it starts reach through
    /// FERRY_DATABASE_URL.
    enum Backend: String, CaseIterable, CustomStringConvertible {
        case sqlite, postgres
        var description: String { rawValue }
    }

    /// Waits for the script without holding a thread of the cooperative pool (as many as cores):
    /// the scripts run for minutes, and blocking waits side by side would stall every async test.
    static func runScript(_ name: String, backend: Backend, environment extra: [String: String] = [:]) async throws
        -> (status: Int32, output: String)
    {
        var environment = ProcessInfo.processInfo.environment.merging(extra) { $1 }
        var database: String?
        if backend == .postgres {
            let url = try await TestPostgres.freshDatabase()
            environment["FERRY_DATABASE_URL"] = url
            database = TestPostgres.databaseName(of: url)
        } else {
            environment["FERRY_DATABASE_URL"] = nil
        }
        let log = try TemporaryDirectory("ferry-viam-sdk-script")
        defer { log.remove() }
        _ = FileManager.default.createFile(atPath: log.file("output"), contents: nil)
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: log.file("output")))
        let python = try ChildProcess(
            executable: "/usr/bin/env", arguments: ["python3", scripts.appendingPathComponent(name).path, BuiltProducts.ferry],
            environment: environment, standardInput: FileHandle.nullDevice.fileDescriptor,
            standardOutput: output.fileDescriptor, standardError: output.fileDescriptor)
        try output.close()
        while python.isRunning { try await Task.sleep(for: .milliseconds(200)) }
        let text = (try? String(contentsOfFile: log.file("output"), encoding: .utf8)) ?? ""
        // A script that failed says why in its output (the caller's expectation shows it); querying
        // the database it never filled would only add a misleading "relation does not exist".
        if let database, python.terminationStatus == 0 {
            // The script's organisations are in the database: it ran on PostgreSQL, not on a SQLite file.
            let organizations = try TestPostgres.psql("SELECT count(*) FROM organizations", database: database)
            #expect(Int(organizations.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0 > 0, "no organisation in \(database)")
        }
        return (python.terminationStatus, text)
    }

    @Test(arguments: Backend.allCases) func publishedPythonSDKWorksAgainstFerryServe(_ backend: Backend) async throws {
        let result = try await Self.runScript("viam_sdk_e2e.py", backend: backend)
        #expect(result.status == 0, "viam-sdk end-to-end checks failed:\n\(result.output)")
        #expect(result.output.contains("all checks passed"))
    }

    /// Binary data browsed with `last`, filtered, fetched by id, tagged and deleted; DeleteTabularData.
    @Test(arguments: Backend.allCases) func publishedPythonSDKBrowsesTagsAndDeletesBinaryData(_ backend: Backend) async throws {
        let result = try await Self.runScript("viam_sdk_binary_e2e.py", backend: backend)
        #expect(result.status == 0, "viam-sdk binary data checks failed:\n\(result.output)")
        #expect(result.output.contains("all checks passed"))
    }

    /// Bounding boxes added to, updated in and removed from images' annotations, as browsing sees them.
    @Test(arguments: Backend.allCases) func publishedPythonSDKLabelsImagesWithBoundingBoxes(_ backend: Backend) async throws {
        let result = try await Self.runScript("viam_sdk_labels_e2e.py", backend: backend)
        #expect(result.status == 0, "viam-sdk labelling checks failed:\n\(result.output)")
        #expect(result.output.contains("all checks passed"))
    }

    /// Datasets: DatasetService, adding and removing binary data, the dataset filter, uploads' dataset ids,
    /// roles and other organisations' ids, then `ferry data dataset …` on the same store.
    @Test(arguments: Backend.allCases) func publishedPythonSDKManagesDatasets(_ backend: Backend) async throws {
        let result = try await Self.runScript("viam_sdk_datasets_e2e.py", backend: backend)
        #expect(result.status == 0, "viam-sdk dataset checks failed:\n\(result.output)")
        #expect(result.output.contains("all checks passed"))
    }

    /// `ferry data export|tag|delete` on data uploaded through the SDK, checked back through it.
    @Test(arguments: Backend.allCases) func dataCommandsExportTagAndDelete(_ backend: Backend) async throws {
        let result = try await Self.runScript("ferry_data_cli_e2e.py", backend: backend)
        #expect(result.status == 0, "ferry data command checks failed:\n\(result.output)")
        #expect(result.output.contains("all checks passed"))
    }

    /// Signed download URLs: curl fetches the payload with no other credential; tampered URLs get 403.
    @Test(arguments: Backend.allCases) func publishedPythonSDKCreatesSignedDownloadURLs(_ backend: Backend) async throws {
        let result = try await Self.runScript("viam_sdk_signed_url_e2e.py", backend: backend)
        #expect(result.status == 0, "viam-sdk signed URL checks failed:\n\(result.output)")
        #expect(result.output.contains("all checks passed"))
    }

    /// Custom indexes: create_index, list_indexes, delete_index on the hot store and on a pipeline's
    /// sink, the physical index in the store's catalog, MQL through it answering what it answers
    /// without it, deleting the pipeline deleting its indexes, refusals and roles.
    @Test(arguments: Backend.allCases) func publishedPythonSDKManagesIndexes(_ backend: Backend) async throws {
        let result = try await Self.runScript("viam_sdk_indexes_e2e.py", backend: backend)
        #expect(result.status == 0, "viam-sdk index checks failed:\n\(result.output)")
        #expect(result.output.contains("all checks passed"))
    }

    /// Saved queries through the SDK's generated stub (its DataClient has no methods for them) and
    /// `tabular_data_by_mql(..., query_prefix_name=...)` through the SDK: names, roles, other organisations.
    @Test(arguments: Backend.allCases) func publishedPythonSDKSavesQueriesAndRunsThemAsPrefixes(_ backend: Backend) async throws {
        let result = try await Self.runScript("viam_sdk_saved_queries_e2e.py", backend: backend)
        #expect(result.status == 0, "viam-sdk saved query checks failed:\n\(result.output)")
        #expect(result.output.contains("all checks passed"))
    }

    /// `ferry serve` refuses download options it cannot use before it starts, saying what it expects.
    @Test func serveRefusesBadDownloadOptions() throws {
        let data = try TemporaryDirectory("ferry-serve-download-options")
        defer { data.remove() }
        let cases: [([String], String)] = [
            (["--download-url", "https://files.example.com"], "--download-url needs --download-listen"),
            (["--download-listen", "127.0.0.1:0", "--download-url", "ftp://files.example.com"], "https://HOST[:PORT]"),
            (["--download-listen", "127.0.0.1:0", "--download-url", "https://files.example.com/a?b=c"], "https://HOST[:PORT]"),
            (["--download-listen", "nowhere"], "--download-listen takes"),
        ]
        for (arguments, message) in cases {
            let result = try FerryProcess.run(["serve", "--data", data.path, "--listen", "127.0.0.1:0", "--metrics-listen", "off"] + arguments)
            #expect(result.status != 0 && result.stderr.contains(message), "\(arguments): \(result.status) \(result.stderr)")
        }
    }

    /// `ferry run --listen`: RobotClient reads all nine component APIs, DataManager Sync syncs.
    @Test func publishedPythonSDKReadsAFerryHostAsAViamMachine() async throws {
        let result = try await Self.runScript("viam_sdk_machine_e2e.py", backend: .sqlite)
        #expect(result.status == 0, "viam-sdk machine API checks failed:\n\(result.output)")
        #expect(result.output.contains("all checks passed"))
    }

    @Test(arguments: Backend.allCases) func publishedPythonSDKManagesPipelinesAndReadsTheSink(_ backend: Backend) async throws {
        let result = try await Self.runScript("viam_sdk_pipelines_e2e.py", backend: backend)
        #expect(result.status == 0, "viam-sdk pipeline checks failed:\n\(result.output)")
        #expect(result.output.contains("all checks passed"))
    }

    /// `--backfill-batch`: a day of hourly windows in one batch, though batches are an hour apart.
    @Test func aLargerBackfillBatchRunsTheHistoryInOneBatch() async throws {
        let result = try await Self.runScript("backfill_batch_e2e.py", backend: .sqlite)
        #expect(result.status == 0, "backfill batch checks failed:\n\(result.output)")
        #expect(result.output.contains("all checks passed"))
    }

    /// Two `ferry serve` replicas on one PostgreSQL database: shared data, tokens valid on both,
    /// one COMPLETED run per window of a pipeline both schedule, and a sink equal to the one the
    /// SQLite backend computes from the same readings.
    @Test func twoReplicasOnOneDatabaseShareDataTokensAndPipelineRuns() async throws {
        let result = try await Self.runScript("replicas_e2e.py", backend: .postgres)
        #expect(result.status == 0, "replica checks failed:\n\(result.output)")
        #expect(result.output.contains("all checks passed"))
    }
}
