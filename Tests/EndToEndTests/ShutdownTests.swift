import Foundation
import GRDB
import Testing

import FerryTestSupport

/// SIGTERM and SIGINT on the real binaries: the first stops gracefully (capture files closed, the
/// calls and uploads in flight finished within the grace period, the pipeline lease handed back),
/// a second exits at once.
@Suite(.ownThreads) struct ShutdownTests {
    /// The pipeline lease as the store holds it: (owner, expiry in Unix ms), or nil before any.
    func lease(_ dataDirectory: String) throws -> (owner: String, expiry: Int64)? {
        let database = try DatabaseQueue(path: dataDirectory + "/store.sqlite")
        guard let value = try database.read({ try String.fetchOne($0, sql: "SELECT value FROM store_meta WHERE key = 'pipeline_scheduler_lease'") })
        else { return nil }
        let parts = value.split(separator: " ")
        return (String(parts[0]), Int64(parts[1]) ?? 0)
    }

    func nowMilliseconds() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    @Test func ferryServeStopsGracefullyAndHandsBackThePipelineLease() throws {
        let rig = try SyncRig()
        defer { rig.tearDown() }
        try rig.startServer()
        // Its scheduler holds the lease while it serves.
        #expect(eventually { (try? lease(rig.dataDirectory)).flatMap { $0 }.map { $0.expiry > nowMilliseconds() } ?? false })
        rig.server!.signal(SIGTERM)
        let result = rig.server!.wait()
        rig.server = nil
        #expect(result.status == 0, "\(rig.log("server.log").suffix(3000))")
        let log = rig.log("server.log")
        #expect(log.contains("SIGTERM: stopping gracefully"))
        #expect(log.contains("pipeline scheduler stopped"))
        #expect(log.contains("data server stopped"))
        // Handed back: another replica (or this one restarted) takes over without waiting for expiry.
        let handedBack = try lease(rig.dataDirectory)
        #expect(handedBack != nil && handedBack!.expiry <= nowMilliseconds(), "lease after the stop: \(String(describing: handedBack))")
    }

    /// A data server that accepts connections and never answers, so an upload stays in flight.
    final class SilentServer {
        let process: FerryProcess
        let output: String
        init(directory: TemporaryDirectory) throws {
            output = directory.file("silent.out")
            let script = """
                import socket
                s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(16)
                print(s.getsockname()[1], flush=True)
                held = []
                while True:
                    c, _ = s.accept(); held.append(c); print("accepted", flush=True)
                """
            process = try FerryProcess(["-c", script], log: output, executable: "/usr/bin/python3")
        }
        var text: String { (try? String(contentsOfFile: output, encoding: .utf8)) ?? "" }
        var port: Int? { text.split(separator: "\n").first.flatMap { Int($0) } }
        func stop() {
            process.signal(SIGKILL)
            _ = process.wait()
        }
    }

    /// The host's last line after a graceful stop (from `ferry` or from the `ferry-host` it became).
    static func saysStopped(_ log: String) -> Bool {
        log.split(separator: "\n").contains { $0.contains(" info ferry: [") && $0.hasSuffix("] stopped") }
    }

    /// `ferry run` syncing to the silent server, once an upload is in flight.
    func hostWithAnUploadInFlight(_ rig: SyncRig, _ silent: SilentServer, arguments: [String]) throws {
        #expect(eventually { silent.port != nil }, "python3 did not start:\n\(silent.text)")
        try rig.writeConfig(ferry: ["server": "127.0.0.1:\(silent.port ?? 0)", "api_key_id": "k", "api_key": "an-api-key-of-some-length", "insecure": true], captureDisabled: false)
        rig.host = try FerryProcess(["run", rig.config] + arguments, log: rig.directory.file("host.log"))
        // A file's sync progress is written just before its first upload call, which never returns.
        let uploading = eventually(timeout: 120) {
            silent.text.contains("accepted")
                && (FileManager.default.enumerator(atPath: rig.captureDir)?.contains { ($0 as? String)?.hasSuffix(".sync") == true } ?? false)
        }
        #expect(uploading, "no upload started:\n\(rig.log("host.log").suffix(2000))")
    }

    @Test func ferryRunClosesItsFilesAndCutsTheUploadInFlightWhenTheGracePeriodEnds() throws {
        let rig = try SyncRig()
        let silent = try SilentServer(directory: rig.directory)
        defer {
            silent.stop()
            rig.tearDown()
        }
        try hostWithAnUploadInFlight(rig, silent, arguments: ["--shutdown-grace", "1"])
        rig.host!.signal(SIGTERM)
        let result = rig.host!.wait()
        rig.host = nil
        let log = rig.log("host.log")
        #expect(result.status == 0, "\(log.suffix(3000))")
        #expect(log.contains("stopping: closing capture files"))
        #expect(Self.saysStopped(log))
        let files = captureFileCounts(rig.captureDir)
        #expect(files.inProgress == 0 && files.finished > 0, "\(files)")
    }

    @Test func aSecondSignalEndsFerryRunAtOnce() throws {
        let rig = try SyncRig()
        let silent = try SilentServer(directory: rig.directory)
        defer {
            silent.stop()
            rig.tearDown()
        }
        // A grace period far longer than the test: only the second signal can end it this soon.
        try hostWithAnUploadInFlight(rig, silent, arguments: ["--shutdown-grace", "3600"])
        rig.host!.signal(SIGINT)
        #expect(eventually { rig.log("host.log").contains("stopping: closing capture files") }, "\(rig.log("host.log").suffix(2000))")
        rig.host!.signal(SIGTERM)
        let result = rig.host!.wait()
        rig.host = nil
        let log = rig.log("host.log")
        #expect(result.status == 128 + SIGTERM, "\(log.suffix(3000))")
        #expect(log.contains("SIGINT: stopping gracefully"))
        #expect(log.contains("SIGTERM again: exiting at once"))
        #expect(!Self.saysStopped(log))
    }
}
