import FerrySystem
import Foundation
import Logging
import Synchronization

/// One `ferry plugin-host LIB.so` child: the channel on its fd 3 (its shared ring on fds 4–6),
/// its stdout and stderr on a pipe this process reads line by line (forwarded to the log, the
/// last lines kept for a crash report), and a thread of its own that reaps it the moment it
/// exits, so no zombie lingers and a crash is noticed even when no call is in flight.
package final class PluginProcess: Sendable {
    package let pid: pid_t
    package let channel: FrameChannel
    private let exit = ExitRecord()
    private let output: OutputTail

    /// How the child is started.
    package struct Launch: Sendable {
        /// The `ferry` binary (its `plugin-host` subcommand serves the plugin).
        package var executable: String
        package var library: String
        package var memoryLimitMB: Int?
        /// The cgroup v2 group, with the module's CPU quota, the child joins before loading the plugin.
        package var cgroup: String?
        /// Whether calls take the shared-memory fast path (``SharedRing``) besides the socket.
        package var sharedRing: Bool
        package init(executable: String, library: String, memoryLimitMB: Int? = nil, cgroup: String? = nil, sharedRing: Bool = true) {
            self.executable = executable
            self.library = library
            self.memoryLimitMB = memoryLimitMB
            self.cgroup = cgroup
            self.sharedRing = sharedRing
        }

        var arguments: [String] {
            ["plugin-host", library] + (memoryLimitMB.map { ["--memory-limit-mb", String($0)] } ?? []) + (cgroup.map { ["--cgroup", $0] } ?? [])
                + (sharedRing ? ["--shared-ring"] : [])
        }
    }

    /// Starts the child. `onExit` runs on the reaper thread with the wait status.
    package init(launch: Launch, logger: Logger, label: String, onExit: @escaping @Sendable (Int32) -> Void) throws(ChannelError) {
        var pair: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0 else {
            throw ChannelError("cannot make a socket pair for \(launch.library): \(String(cString: strerror(errno)))")
        }
        // The output too goes over a socket pair: unlike pipe2, socketpair takes SOCK_CLOEXEC in
        // Swift's Glibc module, so no other child spawned meanwhile inherits either end.
        var pipeEnds: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pipeEnds) == 0 else {
            Glibc.close(pair[0])
            Glibc.close(pair[1])
            throw ChannelError("cannot make a socket pair for \(launch.library)'s output: \(String(cString: strerror(errno)))")
        }
        var ring: (ring: SharedRing, child: SharedRing.ChildDescriptors)?
        if launch.sharedRing {
            do throws(ChannelError) {
                ring = try SharedRing.create()
            } catch {
                for end in pair + pipeEnds { Glibc.close(end) }
                throw error
            }
        }
        defer {
            Glibc.close(pair[1])
            Glibc.close(pipeEnds[1])
            // The child has its own descriptor of the memfd; this side keeps only its mapping.
            if let ring { Glibc.close(ring.child.memory) }
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        // stdout goes where stderr goes: a plugin's printf must never reach the channel.
        posix_spawn_file_actions_adddup2(&actions, pipeEnds[1], 1)
        posix_spawn_file_actions_adddup2(&actions, pipeEnds[1], 2)
        posix_spawn_file_actions_adddup2(&actions, pair[1], 3)
        if let ring {
            posix_spawn_file_actions_adddup2(&actions, ring.child.memory, PluginHostServer.sharedRingDescriptor)
            posix_spawn_file_actions_adddup2(&actions, ring.child.bell, PluginHostServer.bellDescriptor)
            posix_spawn_file_actions_adddup2(&actions, ring.child.hostBell, PluginHostServer.hostBellDescriptor)
        }
        if let closeFrom = SpawnExtensions.closeFrom {
            _ = closeFrom(&actions, ring == nil ? PluginHostServer.sharedRingDescriptor : PluginHostServer.hostBellDescriptor + 1)
        }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        var all = sigset_t()
        sigemptyset(&none)
        sigfillset(&all)
        sigdelset(&all, SIGKILL)
        sigdelset(&all, SIGSTOP)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv = ([launch.executable] + launch.arguments).map { strdup($0) } + [nil]
        // Swift's backtracer would catch a plugin's crash and spend seconds symbolicating the
        // child's stack before it dies; the host reports the signal and the plugin's own output.
        var environment = ProcessInfo.processInfo.environment
        if environment["SWIFT_BACKTRACE"] == nil { environment["SWIFT_BACKTRACE"] = "enable=no" }
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for pointer in argv + envp { free(pointer) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, launch.executable, &actions, &attributes, argv, envp)
        guard result == 0 else {
            Glibc.close(pair[0])
            Glibc.close(pipeEnds[0])
            throw ChannelError("cannot start \(launch.executable) plugin-host \(launch.library): \(String(cString: strerror(result)))")
        }
        self.pid = pid
        channel = FrameChannel(descriptor: pair[0], ring: ring?.ring)
        output = OutputTail(descriptor: pipeEnds[0], logger: logger, label: label)
        OSThread.detach { [exit, pid] in
            // Wait for the exit without reaping, then reap and record under the lock `kill` takes:
            // until reaped the pid cannot be reused, so a SIGKILL never reaches another process.
            var info = siginfo_t()
            var waited: Int32
            repeat { waited = waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) } while waited == -1 && errno == EINTR
            let status = exit.status.withLock { recorded in
                var raw: Int32 = 0
                var result: pid_t
                repeat { result = waitpid(pid, &raw, 0) } while result == -1 && errno == EINTR
                recorded = result == pid ? raw : 255 << 8
                return recorded!
            }
            exit.exited.signal()
            onExit(status)
        }
    }

    /// The wait status once the child has exited.
    package var exitStatus: Int32? { exit.status.withLock { $0 } }

    /// SIGKILLs the child (a no-op once it has exited) and waits for it to be reaped and for the
    /// last of its output to be read, each a bounded wait, then closes the channel.
    package func kill() {
        sendKill()
        if exit.exited.wait(timeout: .now() + 5) == .success { exit.exited.signal() }
        output.waitForEnd(timeout: 2)
        channel.close()
    }

    /// SIGKILLs the child (a no-op once it has exited) and returns: no wait, the channel left open,
    /// so it is safe while another thread is inside a call on the channel (which then fails).
    package func sendKill() {
        exit.status.withLock { if $0 == nil { _ = Glibc.kill(pid, SIGKILL) } }
    }

    /// The last lines the child wrote to stdout or stderr.
    package var lastLines: [String] { output.lines }

    /// "was killed by SIGSEGV", "exited with status 3", from a wait status.
    package static func describe(status: Int32) -> String {
        let signal = status & 0x7f
        if signal == 0 { return "exited with status \((status >> 8) & 0xff)" }
        let name = signalNames[signal].map { "SIG\($0)" } ?? "signal \(signal)"
        return "was killed by \(name)\(status & 0x80 != 0 ? " (core dumped)" : "")"
    }

    static let signalNames: [Int32: String] = [
        SIGHUP: "HUP", SIGINT: "INT", SIGQUIT: "QUIT", SIGILL: "ILL", SIGTRAP: "TRAP", SIGABRT: "ABRT", SIGBUS: "BUS", SIGFPE: "FPE",
        SIGKILL: "KILL", SIGUSR1: "USR1", SIGSEGV: "SEGV", SIGUSR2: "USR2", SIGPIPE: "PIPE", SIGALRM: "ALRM", SIGTERM: "TERM",
        SIGXCPU: "XCPU", SIGXFSZ: "XFSZ", SIGSYS: "SYS",
    ]
}

/// The child's wait status, recorded by the reaper thread.
private final class ExitRecord: Sendable {
    let status = Mutex<Int32?>(nil)
    let exited = DispatchSemaphore(value: 0)
}

/// The last lines of a child's output.
private final class Lines: Sendable {
    let kept = Mutex<[String]>([])
}

/// Reads a child's output on a thread of its own: each line goes to the log (so a plugin's own
/// messages are not lost) and the last few are kept for the crash report.
private final class OutputTail: Sendable {
    private let tail = Lines()
    private let done = DispatchSemaphore(value: 0)
    static let kept = 20

    init(descriptor: Int32, logger: Logger, label: String) {
        OSThread.detach { [tail, done] in
            var pending: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 4096)
            func emit(_ bytes: ArraySlice<UInt8>) {
                let line = String(decoding: bytes, as: UTF8.self)
                logger.info("\(label): \(line)")
                tail.kept.withLock {
                    $0.append(line)
                    if $0.count > OutputTail.kept { $0.removeFirst($0.count - OutputTail.kept) }
                }
            }
            while true {
                let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
                if count < 0 && errno == EINTR { continue }
                if count <= 0 { break }
                pending.append(contentsOf: chunk[0..<count])
                while let newline = pending.firstIndex(of: 10) {
                    emit(pending[0..<newline])
                    pending.removeSubrange(0...newline)
                }
                // A line longer than this is cut rather than held without end.
                if pending.count > 8192 {
                    emit(pending[0...])
                    pending.removeAll()
                }
            }
            if !pending.isEmpty { emit(pending[0...]) }
            Glibc.close(descriptor)
            done.signal()
        }
    }

    var lines: [String] { tail.kept.withLock { $0 } }

    func waitForEnd(timeout: Double) {
        if done.wait(timeout: .now() + timeout) == .success { done.signal() }
    }
}

/// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34), which Swift's Glibc module hides
/// behind _GNU_SOURCE; looked up at run time.
private enum SpawnExtensions {
    typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    static let closeFrom: CloseFrom? = {
        guard let address = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") else { return nil }
        return unsafeBitCast(address, to: CloseFrom.self)
    }()
}
