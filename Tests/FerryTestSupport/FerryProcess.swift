import Foundation

/// Runs the real `ferry` binary, as a user would.
///
/// Output goes to files, never to pipes: tests run in parallel, and a pipe's write end open in
/// this process when another test spawns a long-running child leaks into that child, so reading
/// the pipe to its end would wait for an unrelated process to exit (two tests doing so wait for
/// each other for ever). The child itself is a `ChildProcess`, for the same reason.
public final class FerryProcess: Sendable {
    public let process: ChildProcess
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
        let output: (stdout: Int32, stderr: Int32)
        var logDescriptor: Int32 = -1
        if let log {
            logDescriptor = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
            guard logDescriptor >= 0 else { throw ChildProcessError(description: "cannot open \(log): \(String(cString: strerror(errno)))") }
            logOffset = UInt64(max(0, lseek(logDescriptor, 0, SEEK_END)))
            output = (logDescriptor, logDescriptor)
            captured = nil
        } else {
            logOffset = 0
            let files = try CapturedOutput()
            output = (files.stdout.fileDescriptor, files.stderr.fileDescriptor)
            captured = files
        }
        defer { if logDescriptor >= 0 { close(logDescriptor) } }
        process = try ChildProcess(
            executable: executable, arguments: arguments, environment: ChildProcess.environment(environment), directory: directory,
            standardInput: FileHandle.nullDevice.fileDescriptor, standardOutput: output.stdout, standardError: output.stderr)
    }

    /// Runs to completion and returns (status, stdout, stderr). `executable`: another program
    /// than `ferry` (a wrapper such as umockdev's that then runs ferry, or `/usr/bin/env` to find
    /// a tool on PATH). `directory`: where it runs.
    public static func run(
        _ arguments: [String], environment: [String: String] = [:], stdin: String? = nil, directory: String? = nil,
        executable: String = BuiltProducts.ferry
    ) throws -> (status: Int32, stdout: String, stderr: String) {
        let output = try CapturedOutput()
        let input = try stdin.map { try output.input($0) } ?? FileHandle.nullDevice
        let process = try ChildProcess(
            executable: executable, arguments: arguments, environment: ChildProcess.environment(environment), directory: directory,
            standardInput: input.fileDescriptor, standardOutput: output.stdout.fileDescriptor, standardError: output.stderr.fileDescriptor)
        let status = process.wait()
        return (status, output.read("stdout"), output.read("stderr"))
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
        let status = process.wait()
        if let logPath {
            return (status, "", (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "")
        }
        return (status, captured?.read("stdout") ?? "", captured?.read("stderr") ?? "")
    }
}

/// A child's stdout and stderr as files in a directory of their own, removed with this object.
final class CapturedOutput: Sendable {
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
/// the assertions are about what happened, never about how long it took. A cancelled test (past
/// its time limit, see `OwnThreadsTrait`) stops waiting at once.
public func eventually(timeout: TimeInterval = 90, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline, !Task.isCancelled {
        if try condition() { return true }
        Thread.sleep(forTimeInterval: 0.05)
    }
    return try condition()
}

/// Polls without blocking a cooperative thread; true once `condition` holds, false after `timeout`.
public func eventuallyAsync(timeout: TimeInterval = 120, _ condition: () -> Bool) async -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline, !Task.isCancelled {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(25))
    }
    return condition()
}
