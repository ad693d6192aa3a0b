import FerrySystem
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Replaces this process with a fresh `ferry` of the same arguments and environment (same pid,
/// so a supervisor sees no exit). Used once a module's new version is installed: libraries are
/// never unloaded, so loading another version of a plugin takes a new process. The caller has
/// stopped the machine (capture files closed) first.
package enum HostRestart {
    /// Descriptors the process was started with (a supervisor's pipes or sockets, systemd's
    /// sockets): they pass to the new image as they passed to this one. Read once, at start;
    /// the runtime's own epoll/eventfd/timerfd/signalfd descriptors (which may already exist
    /// then) are never among them.
    package static let inherited: Set<DescriptorIdentity> = Set(
        openDescriptors().filter { fd in
            let target = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(fd)")) ?? ""
            return !target.hasPrefix("anon_inode:")
        }.compactMap(DescriptorIdentity.init))

    package struct DescriptorIdentity: Hashable {
        var fd: Int32
        var device: UInt64
        var inode: UInt64

        init?(_ fd: Int32) {
            var info = stat()
            guard fstat(fd, &info) == 0 else { return nil }
            self.fd = fd
            device = UInt64(info.st_dev)
            inode = UInt64(info.st_ino)
        }
    }

    package static func openDescriptors() -> [Int32] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []).compactMap(Int32.init).filter { $0 > 2 }
    }

    package static func reexecute() -> Never {
        become("/proc/self/exe", arguments: CommandLine.arguments)
    }

    /// Replaces this process with `executable` (argv `arguments`, the same environment): what it
    /// inherited stays open for the new image, everything it opened closes.
    package static func become(_ executable: String, arguments: [String]) -> Never {
        // Everything this process opened closes in the new image (listening sockets, the
        // capture-dir lock, the store), marked rather than closed so threads still running until
        // exec see nothing change. What it inherited stays open.
        for fd in openDescriptors() {
            if let identity = DescriptorIdentity(fd), inherited.contains(identity) { continue }
            let flags = fcntl(fd, F_GETFD)
            if flags >= 0 { _ = fcntl(fd, F_SETFD, flags | FD_CLOEXEC) }
        }
        // Dispatch's signal handling blocks signals; the new image must start with none blocked,
        // or Ctrl-C would never reach it.
        var empty = sigset_t()
        sigemptyset(&empty)
        pthread_sigmask(SIG_SETMASK, &empty, nil)
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) }
        argv.append(nil)
        execv(executable, argv)
        let reason = String(cString: strerror(errno))
        writeToStandardError("ferry: cannot execute \(executable) (execv: \(reason)); start it again\n")
        exit(1)
    }
}
