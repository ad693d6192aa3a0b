import CFerrySystem
import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// A program run to its end (a module's `first_run`, `ferry plugin inspect` of a new plugin):
/// stdin from /dev/null, stdout and stderr together into a file read at the end (a pipe's write
/// end could leak into another child started meanwhile and keep the read from ending), no other
/// descriptor of this process, and killed when it runs past its time.
package enum ChildProcess {
    package enum Termination: Equatable, Sendable {
        case exited(Int32)
        case signalled(Int32)
        /// Ran past the timeout and was killed (SIGKILL).
        case timedOut
    }

    package struct Outcome: Sendable {
        package var termination: Termination
        /// stdout and stderr, interleaved as written.
        package var output: [UInt8]
    }

    /// Why the program could not be started (not found, not executable): `strerror`'s text.
    package struct SpawnError: Error, CustomStringConvertible {
        package var description: String
    }

    /// Which of the program's streams make its output; the other goes to /dev/null.
    package enum Captured: Sendable {
        case both, standardOutput, standardError
    }

    /// Runs `executable` (a path) with `arguments`, in `directory` when given, with `environment`
    /// (else this process's), for at most `timeout`.
    package static func run(
        _ executable: String, arguments: [String] = [], directory: String? = nil, environment: [String: String]? = nil,
        capturing captured: Captured = .both, timeout: Duration
    ) async throws(SpawnError) -> Outcome {
        var template = Array("\(ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp")/ferry-child-XXXXXX".utf8CString)
        let output = mkstemp(&template)
        guard output >= 0 else { throw SpawnError(description: "cannot create a file for its output: \(String(cString: strerror(errno)))") }
        unlink(String(cString: template))  // read through the descriptor; nothing left behind
        _ = fcntl(output, F_SETFD, FD_CLOEXEC)  // no other child (started by another thread) inherits it
        defer { close(output) }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        for (stream, kept) in [(Int32(1), captured != .standardError), (2, captured != .standardOutput)] {
            if kept {
                posix_spawn_file_actions_adddup2(&actions, output, stream)
            } else {
                posix_spawn_file_actions_addopen(&actions, stream, "/dev/null", O_WRONLY, 0)
            }
        }
        ferry_spawn_add_close_from(&actions, 3)
        if let directory { ferry_spawn_add_chdir(&actions, directory) }
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let variables = (environment ?? ProcessInfo.processInfo.environment).map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + variables).forEach { free($0) } }
        var pid = pid_t()
        let status = posix_spawn(&pid, executable, &actions, nil, argv, variables)
        guard status == 0 else { throw SpawnError(description: String(cString: strerror(status))) }

        let deadline = ContinuousClock.now + timeout
        var termination: Termination?
        while termination == nil {
            var waitStatus: Int32 = 0
            let reaped = waitpid(pid, &waitStatus, WNOHANG)
            if reaped == pid {
                termination = exitedNormally(waitStatus) ? .exited(exitCode(waitStatus)) : .signalled(waitStatus & 0x7f)
            } else if reaped < 0, errno != EINTR {
                termination = .exited(-1)
            } else if ContinuousClock.now >= deadline {
                kill(pid, SIGKILL)
                _ = waitpid(pid, &waitStatus, 0)
                termination = .timedOut
            } else {
                try? await Task.sleep(for: .milliseconds(20))
            }
        }
        return Outcome(termination: termination!, output: readAll(output))
    }

    // The <sys/wait.h> macros, which Swift does not import.
    private static func exitedNormally(_ status: Int32) -> Bool { status & 0x7f == 0 }
    private static func exitCode(_ status: Int32) -> Int32 { (status >> 8) & 0xff }

    private static func readAll(_ descriptor: Int32) -> [UInt8] {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        var offset: off_t = 0
        while true {
            let count = chunk.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, offset) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { return bytes }
            bytes += chunk[..<count]
            offset += off_t(count)
        }
    }
}
