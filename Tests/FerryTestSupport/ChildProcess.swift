import Foundation
import Synchronization

/// A child process started with `posix_spawn` and waited for with `waitpid`, for tests.
///
/// Not Foundation's `Process`: on Linux it learns that a child exited when a socket the child
/// inherited closes. Tests spawn in parallel, so that socket (or a pipe) leaks into another test's
/// long-running child, and `waitUntilExit` then spins until that unrelated process ends, or for
/// ever (seen: a finished `ferry` left a zombie while the test waiting for it hung). Here the
/// child closes every descriptor but its three standard ones, and exit is learnt from the kernel.
///
/// A thread of its own reaps each child the moment it exits, whether or not a test waits for it:
/// a zombie left unreaped makes Swift Testing's exit-test monitor (`waitid(P_ALL, WNOWAIT)`) spin
/// on a core for the rest of the run.
public final class ChildProcess: Sendable {
    public let processIdentifier: pid_t
    private let exit = ExitStatus()

    /// Starts `executable` with `arguments` (argv[1...]). Standard input, output and error are
    /// the given descriptors (dup'ed into the child; the caller keeps and closes its own).
    public init(
        executable: String, arguments: [String], environment: [String: String], directory: String? = nil,
        standardInput: Int32, standardOutput: Int32, standardError: Int32
    ) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, standardInput, 0)
        posix_spawn_file_actions_adddup2(&actions, standardOutput, 1)
        posix_spawn_file_actions_adddup2(&actions, standardError, 2)
        if let closeFrom = GlibcSpawnExtensions.closeFrom { _ = closeFrom(&actions, 3) }
        if let directory {
            guard let changeDirectory = GlibcSpawnExtensions.changeDirectory else {
                throw ChildProcessError(description: "this C library cannot set a child's directory (glibc 2.29 or later needed)")
            }
            _ = directory.withCString { changeDirectory(&actions, $0) }
        }

        // Signals back to their defaults and none blocked: the test process ignores SIGPIPE, and an
        // ignored signal stays ignored across exec.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t(), all = sigset_t()
        sigemptyset(&none)
        sigfillset(&all)
        sigdelset(&all, SIGKILL)
        sigdelset(&all, SIGSTOP)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for pointer in argv + envp { free(pointer) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard result == 0 else {
            throw ChildProcessError(description: "cannot start \(executable): \(String(cString: strerror(result)))")
        }
        processIdentifier = pid
        Thread.detachNewThread { [exit, pid] in
            var raw: Int32 = 0
            var result: pid_t
            repeat { result = waitpid(pid, &raw, 0) } while result == -1 && errno == EINTR
            // Reaped elsewhere (ECHILD): the status is lost; say so as exit status 255.
            exit.record(result == pid ? raw : 255 << 8)
        }
    }

    /// The process's environment with `overrides` applied.
    public static func environment(_ overrides: [String: String]) -> [String: String] {
        ProcessInfo.processInfo.environment.merging(overrides) { $1 }
    }

    public var isRunning: Bool { exit.status == nil }

    /// Waits for the child to exit; after `timeout`, or once the waiting test is cancelled (past
    /// its time limit), it is killed: a hung child must fail its test, not the whole run.
    /// Returns `terminationStatus`.
    @discardableResult
    public func wait(timeout: Duration = .seconds(600)) -> Int32 {
        let deadline = ContinuousClock.now + timeout
        while !exit.wait(timeout: .seconds(1)) {
            if ContinuousClock.now >= deadline || Task.isCancelled {
                kill(processIdentifier, SIGKILL)
                _ = exit.wait(timeout: .seconds(60))
                break
            }
        }
        return terminationStatus
    }

    /// As Foundation reports it: the exit status, or the number of the signal that killed it;
    /// -1 while running.
    public var terminationStatus: Int32 {
        guard let status = exit.status else { return -1 }
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : signal
    }
}

/// The wait status, once the reaper thread has it.
private final class ExitStatus: Sendable {
    private let raw = Mutex<Int32?>(nil)
    private let exited = DispatchSemaphore(value: 0)

    var status: Int32? { raw.withLock { $0 } }

    func record(_ status: Int32) {
        raw.withLock { $0 = status }
        exited.signal()
    }

    /// True once recorded, waiting up to `timeout`.
    func wait(timeout: Duration) -> Bool {
        if status != nil { return true }
        let seconds = Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18
        guard exited.wait(timeout: .now() + seconds) == .success else { return status != nil }
        exited.signal()  // for any other waiter
        return true
    }
}

public struct ChildProcessError: Error, CustomStringConvertible {
    public let description: String
}

/// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34) and `…_addchdir_np` (2.29), which
/// Swift's Glibc module hides behind _GNU_SOURCE; looked up at run time.
private enum GlibcSpawnExtensions {
    typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    typealias ChangeDirectory = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32

    static let closeFrom: CloseFrom? = symbol("posix_spawn_file_actions_addclosefrom_np")
    static let changeDirectory: ChangeDirectory? = symbol("posix_spawn_file_actions_addchdir_np")

    private static func symbol<T>(_ name: String) -> T? {
        guard let address = dlsym(UnsafeMutableRawPointer(bitPattern: 0), name) else { return nil }
        return unsafeBitCast(address, to: T.self)
    }
}
