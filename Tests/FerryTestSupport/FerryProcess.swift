import Foundation

/// Runs the real `ferry` binary, as a user would.
///
/// Output goes to files, never to pipes: tests run in parallel, and a pipe's write end open in
/// this process when another test spawns a long-running child leaks into that child, so reading
/// the pipe to its end would wait for an unrelated process to exit (two tests doing so wait for
/// each other for ever).
public final class FerryProcess: @unchecked Sendable {
    // @unchecked: everything is set up in init and then only read; Foundation's Process is safe to
    // query from any thread.
    public let process = Process()
    let logPath: String?
    /// Where this process's output begins in `logPath` (processes of one test may share a log).
    let logOffset: UInt64
    /// Without a log: stdout and stderr, in files of their own.
    private let captured: CapturedOutput?

    /// `log`: send stdout and stderr to this file (appended), for long-running processes a test
    /// reads while they run. `executable`: another long-running program than `ferry` (a static
    /// HTTP server, say).
    public init(
        _ arguments: [String], environment: [String: String] = [:], directory: String? = nil, log: String? = nil,
        executable: String = BuiltProducts.ferry
    ) throws {
        logPath = log
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        process.environment = env
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        if let log {
            if !FileManager.default.fileExists(atPath: log) { _ = FileManager.default.createFile(atPath: log, contents: nil) }
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
            logOffset = handle.seekToEndOfFile()
            process.standardOutput = handle
            process.standardError = handle
            captured = nil
        } else {
            logOffset = 0
            let output = try CapturedOutput()
            process.standardOutput = output.stdout
            process.standardError = output.stderr
            captured = output
        }
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    /// Runs to completion and returns (status, stdout, stderr). `executable`: another program
    /// than `ferry` (a wrapper such as umockdev's that then runs ferry).
    public static func run(
        _ arguments: [String], environment: [String: String] = [:], stdin: String? = nil, executable: String = BuiltProducts.ferry
    ) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let output = try CapturedOutput()
        process.standardOutput = output.stdout
        process.standardError = output.stderr
        process.standardInput = try stdin.map { try output.input($0) } ?? FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return (process.terminationStatus, output.read("stdout"), output.read("stderr"))
    }

    public func signal(_ signal: Int32) { kill(process.processIdentifier, signal) }

    /// What this process has written to its log so far ("" without a log).
    public func loggedOutput() -> String {
        guard let logPath, let data = FileManager.default.contents(atPath: logPath), data.count >= logOffset else { return "" }
        return String(decoding: data.dropFirst(Int(logOffset)), as: UTF8.self)
    }

    /// Sends SIGTERM once `ferry run` or `ferry serve` says it is up (its signal handling is in
    /// place by then: a SIGTERM during start-up, before the process can catch it, would kill it
    /// with status 15), and waits for it to exit.
    public func terminateOnceUp(marker: String = "Ctrl-C to stop") -> (status: Int32, stdout: String, stderr: String) {
        _ = eventually(timeout: 120) { loggedOutput().contains(marker) }
        signal(SIGTERM)
        return wait()
    }

    /// Waits for exit and returns (status, stdout, stderr); with a log, stderr is the whole log.
    public func wait() -> (status: Int32, stdout: String, stderr: String) {
        process.waitUntilExit()
        if let logPath {
            return (process.terminationStatus, "", (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "")
        }
        return (process.terminationStatus, captured?.read("stdout") ?? "", captured?.read("stderr") ?? "")
    }
}

/// A child's stdout and stderr as files in a directory of their own, removed with this object.
final class CapturedOutput {
    let directory: TemporaryDirectory
    let stdout: FileHandle
    let stderr: FileHandle

    init() throws {
        directory = try TemporaryDirectory("ferry-process-output")
        for name in ["stdout", "stderr"] { _ = FileManager.default.createFile(atPath: directory.file(name), contents: nil) }
        stdout = try FileHandle(forWritingTo: URL(fileURLWithPath: directory.file("stdout")))
        stderr = try FileHandle(forWritingTo: URL(fileURLWithPath: directory.file("stderr")))
    }

    deinit { directory.remove() }

    /// `text` as a file to read standard input from.
    func input(_ text: String) throws -> FileHandle {
        try Data(text.utf8).write(to: URL(fileURLWithPath: directory.file("stdin")))
        return try FileHandle(forReadingFrom: URL(fileURLWithPath: directory.file("stdin")))
    }

    func read(_ name: String) -> String { (try? String(contentsOfFile: directory.file(name), encoding: .utf8)) ?? "" }
}

/// Polls `condition` until it holds or `timeout` passes. For waiting on a real process's files;
/// the assertions are about what happened, never about how long it took.
public func eventually(timeout: TimeInterval = 90, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try condition() { return true }
        Thread.sleep(forTimeInterval: 0.05)
    }
    return try condition()
}

/// Polls without blocking a cooperative thread; true once `condition` holds, false after `timeout`.
public func eventuallyAsync(timeout: TimeInterval = 120, _ condition: () -> Bool) async -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(25))
    }
    return condition()
}
