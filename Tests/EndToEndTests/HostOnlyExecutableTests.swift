import FerryTestSupport
import Foundation
import Testing

/// `ferry run` becomes `ferry-host` (the host alone, same pid) when the run needs none of the
/// data server's code, and stays `ferry` when it does.
@Suite struct HostOnlyExecutableTests {
    /// A machine capturing one fake sensor, syncing to the data server `server` names (nothing
    /// listens there: these tests are about which executable runs, not about sync).
    func machine(_ directory: TemporaryDirectory, server: String?) throws -> String {
        let ferry = server.map { #", "ferry": {"server": "\#($0)", "api_key_id": "k", "api_key": "an-api-key-of-some-length", "insecure": true}"# } ?? ""
        let config = directory.file("machine.json")
        try """
        {"components": [{"name": "s", "api": "rdk:component:sensor", "model": "fake", "service_configs": [{"type": "data_manager",
          "attributes": {"capture_methods": [{"method": "Readings", "capture_frequency_hz": 5}]}}]}],
         "services": [{"name": "data_manager", "api": "rdk:service:data_manager",
          "attributes": {"capture_dir": "\(directory.file("capture"))", "sync_interval_mins": 0.01\(ferry)}}]}
        """.write(toFile: config, atomically: true, encoding: .utf8)
        return config
    }

    /// A process's mappings, read to the end (a procfs file has no size to read up to).
    static func maps(_ pid: Int32) -> String {
        guard let file = FileHandle(forReadingAtPath: "/proc/\(pid)/maps") else { return "" }
        defer { try? file.close() }
        return String(decoding: file.readDataToEndOfFile(), as: UTF8.self)
    }

    /// Runs `ferry run` until it is up, and returns what executable the process is then, and
    /// its exit status and log after a SIGTERM.
    func run(_ arguments: [String], environment: [String: String] = [:], in directory: TemporaryDirectory) throws
        -> (executable: String, maps: String, status: Int32, log: String)
    {
        let host = try FerryProcess(["run"] + arguments, environment: environment, log: directory.file("run.log"))
        let up = eventually(timeout: 120) { host.loggedOutput().contains("Ctrl-C to stop") }
        let pid = host.process.processIdentifier
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/exe")) ?? ""
        let maps = Self.maps(pid)
        let result = host.terminateOnceUp()
        #expect(up, "ferry run did not start:\n\(result.stderr.suffix(2000))")
        return (executable, maps, result.status, result.stderr)
    }

    @Test func aRunThatSyncsToANamedServerBecomesTheHostAloneAndStopsCleanly() throws {
        let directory = try TemporaryDirectory("ferry-host-only")
        defer { directory.remove() }
        let config = try machine(directory, server: "127.0.0.1:9")
        let (executable, maps, status, log) = try run([config, "--shutdown-grace", "2"], in: directory)
        #expect(executable.hasSuffix("/ferry-host"), "\(executable)")
        #expect(status == 0, "\(log.suffix(2000))")
        // Only the built-in plugin the config uses is loaded; what the others provide was learned
        // in child processes and kept beside the sync state.
        #expect(log.contains("loaded plugin fake") && !log.contains("loaded plugin gpio"), "\(log.prefix(3000))")
        #expect(maps.contains("libFerryFake.so") && !maps.contains("libFerryGPIO.so") && !maps.contains("libFerryWebcam.so"))
        let catalog = (try? String(contentsOfFile: directory.file("capture/.ferry/builtin-plugins.json"), encoding: .utf8)) ?? ""
        #expect(catalog.contains("rdk:builtin:customlinux"), "\(catalog)")
        #expect(log.contains("stopping: closing capture files"))
        #expect(ShutdownTests.saysStopped(log), "\(log.suffix(2000))")
        // Capture ran in the host alone: its files were closed (finished, none in progress).
        let files = (FileManager.default.subpaths(atPath: directory.file("capture")) ?? [])
        #expect(files.contains { $0.hasSuffix(".capture") } && !files.contains { $0.hasSuffix(".prog") }, "\(files)")
    }

    @Test func aRunThatServesMetricsStaysInFerry() throws {
        let directory = try TemporaryDirectory("ferry-host-only")
        defer { directory.remove() }
        let config = try machine(directory, server: "127.0.0.1:9")
        let (executable, _, status, log) = try run([config, "--metrics-listen", "127.0.0.1:0"], in: directory)
        #expect(executable.hasSuffix("/ferry"), "\(executable)")
        #expect(status == 0, "\(log.suffix(2000))")
    }

    @Test func ferryRunInProcessKeepsTheHostInFerry() throws {
        let directory = try TemporaryDirectory("ferry-host-only")
        defer { directory.remove() }
        let config = try machine(directory, server: "127.0.0.1:9")
        let (executable, _, status, log) = try run([config], environment: ["FERRY_RUN_IN_PROCESS": "1"], in: directory)
        #expect(executable.hasSuffix("/ferry"), "\(executable)")
        #expect(status == 0, "\(log.suffix(2000))")
    }

    @Test func aModelOfAnotherBuiltinNamedByAConfigEditLoadsItsPlugin() throws {
        let directory = try TemporaryDirectory("ferry-host-only")
        defer { directory.remove() }
        let config = try machine(directory, server: "127.0.0.1:9")
        let host = try FerryProcess(["run", config], log: directory.file("run.log"))
        defer {
            host.signal(SIGKILL)
            _ = host.wait()
        }
        #expect(eventually(timeout: 120) { host.loggedOutput().contains("Ctrl-C to stop") }, "\(host.loggedOutput().suffix(2000))")
        #expect(!host.loggedOutput().contains("loaded plugin system-stats"))
        // The edit adds the system-stats plugin's sensor: the running host loads that plugin then.
        var text = try String(contentsOfFile: config, encoding: .utf8)
        text = text.replacingOccurrences(
            of: #"{"components": ["#, with: #"{"components": [{"name": "box", "api": "rdk:component:sensor", "model": "ferry:linux:system-stats"}, "#)
        try text.write(toFile: config, atomically: true, encoding: .utf8)
        #expect(eventually(timeout: 120) { host.loggedOutput().contains("loaded plugin system-stats") }, "\(host.loggedOutput().suffix(2000))")
        let maps = Self.maps(host.process.processIdentifier)
        #expect(maps.contains("libFerrySystemStats.so"))
    }
}
