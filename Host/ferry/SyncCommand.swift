import ArgumentParser
import FerryConfig
import FerryIsolation
import FerryRun
import FerrySync
import Foundation

struct SyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync", abstract: "Inspect and trigger the host's sync to its data server.",
        subcommands: [Status.self, Now.self])

    /// The capture directory from a machine config or given directly.
    struct Target: ParsableArguments {
        @Argument(help: "The machine config `ferry run` uses (its data_manager capture_dir is inspected).")
        var config: String?

        @Option(name: .customLong("capture-dir"), help: "The capture directory, instead of a config.")
        var captureDir: String?

        func resolve() throws -> String {
            if let captureDir { return captureDir }
            guard let config else { throw ValidationError("name the machine config, or --capture-dir DIR") }
            do {
                return try ConfigParser.load(file: config).dataManager.captureDir
            } catch {
                throw Failure("\(error)")
            }
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The backlog (files, bytes, oldest reading), refused files, last error and next retry.")
        @OptionGroup var target: Target
        @Flag(help: "Print one JSON object.") var json = false

        func run() async throws {
            let captureDir = try target.resolve()
            let scan = CaptureDirectoryScan.scan(captureDir)
            let oldest = scan.oldestReading()
            let status = SyncStatus.load(captureDir: captureDir)
            let failed = SyncStatus.failedFiles(captureDir: captureDir)
            if json {
                print(try Self.json(captureDir: captureDir, scan: scan, oldest: oldest, status: status, failed: failed))
                return
            }
            let date = ISO8601DateFormatter()
            print("capture dir: \(captureDir)")
            print("backlog:     \(scan.finished.count) files, \(Self.bytes(scan.finishedBytes))" + (oldest.map { ", oldest reading \(date.string(from: $0))" } ?? ""))
            print("being written: \(scan.inProgress.count) files, \(Self.bytes(scan.totalBytes - scan.finishedBytes))")
            if let status {
                let age = Date().timeIntervalSince(status.updatedAt)
                let host = age < 15 ? "host running" : "host not running (status from \(date.string(from: status.updatedAt)))"
                print("server:      \(status.server) (\(status.offline ? "offline" : "online")); \(host)")
                print("synced:      \(status.syncedFiles) files, \(status.syncedRecords) records, \(Self.bytes(Int64(status.syncedBytes))) since the host started; \(status.retries) retries, \(status.thinnedFiles) files thinned for disk space")
                if let error = status.lastError {
                    print("last error:  \(error)" + (status.lastErrorAt.map { " (at \(date.string(from: $0)))" } ?? ""))
                }
                if let retry = status.nextRetry { print("next retry:  \(date.string(from: retry))") }
            } else {
                print("server:      no status yet (the host has not synced from this directory)")
            }
            if !failed.isEmpty {
                print("failed:      \(failed.count) files refused by the server, kept in \(SyncSettings.failedDirectory(captureDir: captureDir)):")
                for file in failed { print("  \(file.path): \(file.reason)") }
            }
            if let report = PluginProcessReport.load(captureDir: captureDir) {
                let age = Date().timeIntervalSince(report.updatedAt)
                print("plugin processes (\(age < 15 ? "now" : "as of \(date.string(from: report.updatedAt)), host not running")):")
                for process in report.processes {
                    let state = process.running ? "running, pid \(process.pid ?? 0)" : "down"
                    print(
                        "  \(process.library): \(state), \(process.restarts) restarts" + (process.lastFailure.map { "; last failure: it \($0)" } ?? "")
                            + (process.cpuLimit.map { "; cpu limit: \($0)" } ?? ""))
                }
            }
        }

        static func bytes(_ count: Int64) -> String {
            ByteCountFormatter.string(fromByteCount: count, countStyle: .binary)
        }

        static func json(
            captureDir: String, scan: CaptureDirectoryScan, oldest: Date?, status: SyncStatus?, failed: [(path: String, reason: String)]
        ) throws -> String {
            var object: [String: Any] = [
                "capture_dir": captureDir, "backlog_files": scan.finished.count, "backlog_bytes": scan.finishedBytes,
                "in_progress_files": scan.inProgress.count,
                "failed": failed.map { ["path": $0.path, "reason": $0.reason] },
            ]
            if let oldest { object["oldest_reading"] = ISO8601DateFormatter().string(from: oldest) }
            if let status { object["host"] = try JSONSerialization.jsonObject(with: Data(status.json.utf8)) }
            if let report = PluginProcessReport.load(captureDir: captureDir), let data = try? PluginProcessReport.encoder.encode(report) {
                object["plugin_processes"] = try JSONSerialization.jsonObject(with: data)
            }
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            return String(decoding: data, as: UTF8.self)
        }
    }

    struct Now: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Ask the running host to sync now (ignores the selective syncer and sync_disabled).")
        @OptionGroup var target: Target
        @Option(help: "Wait up to this many seconds for the backlog to empty; exit 1 if it does not.")
        var wait: Double?

        func run() async throws {
            let captureDir = try target.resolve()
            try FileManager.default.createDirectory(atPath: SyncSettings.stateDirectory(captureDir: captureDir), withIntermediateDirectories: true)
            guard FileManager.default.createFile(atPath: SyncStatus.triggerPath(captureDir: captureDir), contents: nil) else {
                throw Failure("cannot write the sync trigger in \(SyncSettings.stateDirectory(captureDir: captureDir))")
            }
            guard let wait else {
                print("sync requested; a running host picks it up within a second (see `ferry sync status`)")
                return
            }
            let deadline = Date().addingTimeInterval(wait)
            while Date() < deadline {
                if !FileManager.default.fileExists(atPath: SyncStatus.triggerPath(captureDir: captureDir)),
                    CaptureDirectoryScan.scan(captureDir).finished.isEmpty
                {
                    print("synced: no finished capture files left")
                    return
                }
                try await Task.sleep(for: .milliseconds(200))
            }
            let scan = CaptureDirectoryScan.scan(captureDir)
            let error = SyncStatus.load(captureDir: captureDir)?.lastError.map { "; last error: \($0)" } ?? ""
            throw Failure("after \(wait) s, \(scan.finished.count) files are still waiting\(error)")
        }
    }
}
