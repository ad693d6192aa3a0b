import Foundation

/// Runs the real `ferry` binary, as a user would.
public final class FerryProcess: @unchecked Sendable {
    // @unchecked: `process` and the pipes are set up in init and then only read; Foundation's
    // Process is safe to query from any thread.
    public let process = Process()
    let stdoutPipe = Pipe()
    let stderrPipe = Pipe()
    let logPath: String?
    /// Where this process's output begins in `logPath` (processes of one test may share a log).
    let logOffset: UInt64

    /// `log`: send stdout and stderr to this file instead of pipes, for long-running processes
    /// whose output nobody reads while they run (a full pipe would block them). `executable`:
    /// another long-running program than `ferry` (a static HTTP server, say).
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
        } else {
            logOffset = 0
            process.standardOutput = stdoutPipe
            process.standardError = stderrPipe
        }
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

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
        let out = Pipe()
        let err = Pipe()
        let input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = stdin == nil ? FileHandle.nullDevice : input
        try process.run()
        if let stdin {
            input.fileHandleForWriting.write(Data(stdin.utf8))
            try input.fileHandleForWriting.close()
        }
        // Read both pipes before waiting, so a chatty child never blocks on a full pipe.
        let group = DispatchGroup()
        nonisolated(unsafe) var errData = Data()
        // nonisolated(unsafe): written by the one async block, read only after group.wait().
        DispatchQueue.global().async(group: group) { errData = err.fileHandleForReading.readDataToEndOfFile() }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self))
    }

    public func signal(_ signal: Int32) { kill(process.processIdentifier, signal) }

    /// Waits for exit and returns (status, stdout, stderr).
    public func wait() -> (status: Int32, stdout: String, stderr: String) {
        if let logPath {
            process.waitUntilExit()
            return (process.terminationStatus, "", (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "")
        }
        let group = DispatchGroup()
        nonisolated(unsafe) var errData = Data()
        // nonisolated(unsafe): written by the one async block, read only after group.wait().
        DispatchQueue.global().async(group: group) { errData = self.stderrPipe.fileHandleForReading.readDataToEndOfFile() }
        let outData = stdoutPipe.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self))
    }
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
