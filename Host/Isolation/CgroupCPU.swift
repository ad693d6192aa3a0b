import Foundation
#if canImport(Glibc)
    import Glibc
#endif
import Logging
import Synchronization

/// CPU limits for plugin processes (`cpu_limit_percent`) through cgroup v2: each limited module
/// gets a child group of the host's own cgroup with `cpu.max` set, and its `plugin-host` joins
/// that group before it loads the plugin, so no plugin code runs unlimited. A plugin over its
/// share is slowed (throttled), never killed.
///
/// There is no fallback. RLIMIT_CPU kills a process once it has used so many CPU seconds in
/// total, which limits how long a driver may live, not its share of the CPU; a host that cannot
/// make cgroups runs the module unlimited and says so in its log and in `ferry sync status`.
///
/// Making child groups needs the cpu controller delegated to the host's cgroup and, cgroup v2
/// allowing processes only in leaves, the host out of the group it enables controllers for: the
/// host moves itself into `<its cgroup>/ferry-host` first (a host started again by `ferry run`
/// finds itself there already and uses the parent).
package final class CgroupCPU: Sendable {
    package struct Paths: Sendable {
        /// Where cgroup v2 is mounted.
        package var root = "/sys/fs/cgroup"
        /// This process's cgroup membership (`0::/path` for cgroup v2).
        package var membership = "/proc/self/cgroup"
        package init() {}
    }

    /// Why CPU limits cannot be applied here.
    package struct Unavailable: Error, Sendable, Equatable, CustomStringConvertible {
        package var reason: String
        package init(_ reason: String) { self.reason = reason }
        package var description: String { reason }
    }

    /// The leaf the host moves itself into so its own group may have child groups.
    package static let hostLeaf = "ferry-host"
    /// The period `cpu.max` quotas are given in, in microseconds (the kernel's default).
    package static let period = 100_000

    let paths: Paths
    let pid: pid_t
    let logger: Logger
    /// The directory module groups are made in, or why there is none; worked out at first use.
    private let parent = Mutex<Result<String, Unavailable>?>(nil)

    package init(paths: Paths = Paths(), pid: pid_t = getpid(), logger: Logger) {
        self.paths = paths
        self.pid = pid
        self.logger = logger
    }

    /// What a module's status says about its CPU limit, and the group its process joins (nil
    /// when the limit could not be applied; the reason is logged as a warning).
    package func limit(percent: Double, module: String, label: String) -> (group: String?, note: String) {
        let share = "\(Self.format(percent))% of one CPU"
        switch group(module: module, percent: percent) {
        case .success(let directory):
            return (directory, "\(share) (cgroup \(directory))")
        case .failure(let unavailable):
            logger.warning("\(label): cpu_limit_percent \(Self.format(percent)) is NOT applied, the plugin runs without a CPU limit: \(unavailable.reason)")
            return (nil, "\(share) requested, NOT applied: \(unavailable.reason)")
        }
    }

    /// Makes (or reuses) the module's group with its quota set.
    package func group(module: String, percent: Double) -> Result<String, Unavailable> {
        let prepared = parent.withLock { cached in
            if let cached { return cached }
            let result = Self.prepare(paths: paths, pid: pid)
            switch result {
            case .success(let directory): logger.info("CPU limits of plugin processes use cgroup v2 groups under \(directory)")
            case .failure(let unavailable): logger.warning("CPU limits of plugin processes cannot be applied on this host: \(unavailable.reason)")
            }
            cached = result
            return result
        }
        guard case .success(let parent) = prepared else { return prepared }
        let directory = parent + "/" + Self.groupName(module: module)
        if mkdir(directory, 0o755) != 0 && errno != EEXIST {
            return .failure(Unavailable("cannot make the cgroup \(directory): \(Self.errorText())"))
        }
        if let problem = Self.write(Self.cpuMax(percent: percent), to: directory + "/cpu.max") {
            return .failure(Unavailable("cannot set \(directory)/cpu.max: \(problem)"))
        }
        return .success(directory)
    }

    /// Removes a module's group once its process is gone (the kernel refuses while one is in it).
    package static func remove(group: String) {
        _ = rmdir(group)
    }

    // MARK: - The steps, on paths alone (tests stand a temporary directory in for /sys/fs/cgroup)

    /// The directory to make module groups in: the host's own cgroup, with the cpu controller
    /// enabled for its children.
    package static func prepare(paths: Paths, pid: pid_t) -> Result<String, Unavailable> {
        let root = paths.root.hasSuffix("/") && paths.root.count > 1 ? String(paths.root.dropLast()) : paths.root
        guard FileManager.default.fileExists(atPath: root + "/cgroup.controllers") else {
            if FileManager.default.fileExists(atPath: root + "/unified/cgroup.controllers") {
                return .failure(
                    Unavailable("this host mounts cgroups in hybrid mode: the cpu controller belongs to cgroup v1, and the v2 tree at \(root)/unified has none"))
            }
            return .failure(Unavailable("cgroup v2 is not mounted at \(root) (no cgroup.controllers there: cgroup v1, or no cgroups)"))
        }
        guard let membership = read(paths.membership) else {
            return .failure(Unavailable("cannot read \(paths.membership): \(errorText())"))
        }
        guard var own = ownGroup(membership: membership) else {
            return .failure(Unavailable("\(paths.membership) names no cgroup v2 group (no \"0::\" line)"))
        }
        // Started again by `ferry run` (or by a host before it): already in its leaf.
        if own.hasSuffix("/" + hostLeaf) { own.removeLast(hostLeaf.count + 1) }
        let directory = own == "/" || own.isEmpty ? root : root + own
        let controllers = words(read(directory + "/cgroup.controllers"))
        guard controllers.contains("cpu") else {
            return .failure(
                Unavailable(
                    "the cpu controller is not delegated to ferry's cgroup \(directory) (its cgroup.controllers: \(controllers.isEmpty ? "none" : controllers.joined(separator: " "))); run ferry where it is, e.g. a systemd service with Delegate=yes"
                ))
        }
        if words(read(directory + "/cgroup.subtree_control")).contains("cpu") { return .success(directory) }
        if directory != root {
            // Only the root group may have both processes and controllers enabled for children.
            let leaf = directory + "/" + hostLeaf
            if mkdir(leaf, 0o755) != 0 && errno != EEXIST {
                return .failure(Unavailable("cannot make \(leaf) to move ferry into: \(errorText())"))
            }
            if let problem = write(String(pid), to: leaf + "/cgroup.procs") {
                return .failure(Unavailable("cannot move ferry into \(leaf): \(problem)"))
            }
        }
        if let problem = write("+cpu", to: directory + "/cgroup.subtree_control") {
            return .failure(Unavailable("cannot enable the cpu controller for child groups of \(directory): \(problem)"))
        }
        return .success(directory)
    }

    /// The cgroup v2 path in `/proc/self/cgroup`'s text: its `0::/path` line.
    package static func ownGroup(membership: String) -> String? {
        for line in membership.split(separator: "\n") where line.hasPrefix("0::") {
            let path = String(line.dropFirst(3))
            return path.hasPrefix("/") ? path : nil
        }
        return nil
    }

    /// A group name from a module's name: letters, digits, `.`, `_` and `-` kept, anything else
    /// `_`, at most 64 characters, so no name reaches outside the parent or clashes with the
    /// kernel's own files.
    package static func groupName(module: String) -> String {
        let kept = module.unicodeScalars.map { scalar -> Character in
            scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || "._-".unicodeScalars.contains(scalar)) ? Character(scalar) : "_"
        }
        return "ferry-plugin-" + String(String(kept).prefix(64))
    }

    /// `cpu.max`'s "quota period" for a share of one CPU (at least the kernel's 1 ms quota).
    package static func cpuMax(percent: Double) -> String {
        let quota = max(1000, Int((percent / 100 * Double(period)).rounded()))
        return "\(quota) \(period)"
    }

    static func format(_ percent: Double) -> String {
        percent == percent.rounded() ? String(Int(percent)) : String(percent)
    }

    // MARK: - Files

    static func read(_ path: String) -> String? {
        FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) }
    }

    static func words(_ text: String?) -> [String] {
        (text ?? "").split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init)
    }

    /// Writes `text` in one write(2), as cgroup files want; the error, if any.
    package static func write(_ text: String, to path: String) -> String? {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { return errorText() }
        defer { close(descriptor) }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
        return written == bytes.count ? nil : errorText()
    }

    /// errno's text, with what it usually means here.
    static func errorText() -> String {
        let code = errno
        let text = String(cString: strerror(code))
        switch code {
        case EROFS: return text + " (cgroups are mounted read-only here, as in a container without a writable cgroup namespace)"
        case EBUSY: return text + " (other processes share ferry's cgroup; run ferry in a cgroup of its own)"
        default: return text
        }
    }
}
