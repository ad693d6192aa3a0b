import FerryIsolation
import FerryTestSupport
import Foundation
import Logging
import Testing

/// cgroup v2 CPU limits worked out on paths: a temporary directory stands in for /sys/fs/cgroup
/// and for /proc/self/cgroup (the kernel's refusals, such as a busy or read-only group, cannot be
/// staged in a plain directory; their messages are checked where they are made).
@Suite struct CgroupCPUTests {
    struct Tree {
        let dir: TemporaryDirectory
        var paths = CgroupCPU.Paths()

        /// A cgroup v2 root whose `own` group (ferry's, per the membership file) has `controllers`.
        init(own: String, controllers: String = "cpu memory pids", subtree: String = "", v2: Bool = true) throws {
            dir = try TemporaryDirectory("ferry-cgroup")
            paths.root = dir.file("cgroup")
            paths.membership = dir.file("self-cgroup")
            try FileManager.default.createDirectory(atPath: paths.root + own, withIntermediateDirectories: true)
            if v2 { try "cpuset cpu io memory pids\n".write(toFile: paths.root + "/cgroup.controllers", atomically: true, encoding: .utf8) }
            if v2 || own != "/" {  // the root group's files are cgroup v2's mark
                try "\(controllers)\n".write(toFile: paths.root + own + "/cgroup.controllers", atomically: true, encoding: .utf8)
                try "\(subtree)\n".write(toFile: paths.root + own + "/cgroup.subtree_control", atomically: true, encoding: .utf8)
            }
            try "4:memory:/legacy\n0::\(own)\n".write(toFile: paths.membership, atomically: true, encoding: .utf8)
        }

        func read(_ path: String) -> String? { try? String(contentsOfFile: paths.root + path, encoding: .utf8) }
    }

    @Test func theOwnGroupIsTheCgroupV2Line() {
        #expect(CgroupCPU.ownGroup(membership: "0::/system.slice/ferry.service\n") == "/system.slice/ferry.service")
        #expect(CgroupCPU.ownGroup(membership: "9:name=systemd:/\n1:cpu:/\n0::/\n") == "/")
        #expect(CgroupCPU.ownGroup(membership: "1:cpu:/\n4:memory:/x\n") == nil, "cgroup v1 only")
    }

    @Test func quotasAreAShareOfTheDefaultPeriod() {
        #expect(CgroupCPU.cpuMax(percent: 50) == "50000 100000")
        #expect(CgroupCPU.cpuMax(percent: 250) == "250000 100000")
        #expect(CgroupCPU.cpuMax(percent: 1) == "1000 100000", "the kernel's smallest quota is 1 ms")
        #expect(CgroupCPU.cpuMax(percent: 33.3333) == "33333 100000")
    }

    @Test func groupNamesCannotLeaveTheParentDirectory() {
        #expect(CgroupCPU.groupName(module: "bad") == "ferry-plugin-bad")
        #expect(CgroupCPU.groupName(module: "../../etc x/ü") == "ferry-plugin-.._.._etc_x__")
        #expect(CgroupCPU.groupName(module: String(repeating: "a", count: 200)).count == "ferry-plugin-".count + 64)
    }

    @Test func aServiceGroupGetsTheHostMovedIntoALeafAndTheCPUControllerEnabled() throws {
        let tree = try Tree(own: "/system.slice/ferry.service")
        defer { tree.dir.remove() }
        let parent = try CgroupCPU.prepare(paths: tree.paths, pid: 4242).get()
        #expect(parent == tree.paths.root + "/system.slice/ferry.service")
        #expect(tree.read("/system.slice/ferry.service/ferry-host/cgroup.procs") == "4242")
        #expect(tree.read("/system.slice/ferry.service/cgroup.subtree_control") == "+cpu")
    }

    @Test func aHostAlreadyInItsLeafUsesTheParentAndTheRootGroupNeedsNoLeaf() throws {
        let restarted = try Tree(own: "/system.slice/ferry.service/ferry-host")
        defer { restarted.dir.remove() }
        try "cpu memory\n".write(toFile: restarted.paths.root + "/system.slice/ferry.service/cgroup.controllers", atomically: true, encoding: .utf8)
        try "cpu\n".write(toFile: restarted.paths.root + "/system.slice/ferry.service/cgroup.subtree_control", atomically: true, encoding: .utf8)
        #expect(try CgroupCPU.prepare(paths: restarted.paths, pid: 1).get() == restarted.paths.root + "/system.slice/ferry.service")
        #expect(!FileManager.default.fileExists(atPath: restarted.paths.root + "/system.slice/ferry.service/ferry-host/ferry-host"))

        let container = try Tree(own: "/")
        defer { container.dir.remove() }
        #expect(try CgroupCPU.prepare(paths: container.paths, pid: 1).get() == container.paths.root)
        #expect(!FileManager.default.fileExists(atPath: container.paths.root + "/ferry-host"), "the root group may hold processes and children")
        #expect(container.read("/cgroup.subtree_control") == "+cpu")
    }

    @Test func withoutCgroupV2OrTheCPUControllerTheReasonIsSaid() throws {
        let v1 = try Tree(own: "/", v2: false)
        defer { v1.dir.remove() }
        #expect(CgroupCPU.prepare(paths: v1.paths, pid: 1) == .failure(CgroupCPU.Unavailable(
            "cgroup v2 is not mounted at \(v1.paths.root) (no cgroup.controllers there: cgroup v1, or no cgroups)")))

        try FileManager.default.createDirectory(atPath: v1.paths.root + "/unified", withIntermediateDirectories: true)
        try "\n".write(toFile: v1.paths.root + "/unified/cgroup.controllers", atomically: true, encoding: .utf8)
        #expect(CgroupCPU.prepare(paths: v1.paths, pid: 1) == .failure(CgroupCPU.Unavailable(
            "this host mounts cgroups in hybrid mode: the cpu controller belongs to cgroup v1, and the v2 tree at \(v1.paths.root)/unified has none")))

        let undelegated = try Tree(own: "/user.slice/session-1.scope", controllers: "memory pids")
        defer { undelegated.dir.remove() }
        guard case .failure(let why) = CgroupCPU.prepare(paths: undelegated.paths, pid: 1) else { Issue.record("prepared without cpu"); return }
        #expect(why.reason.hasPrefix("the cpu controller is not delegated to ferry's cgroup \(undelegated.paths.root)/user.slice/session-1.scope (its cgroup.controllers: memory pids)"))
        #expect(!FileManager.default.fileExists(atPath: undelegated.paths.root + "/user.slice/session-1.scope/ferry-host"), "nothing moved")

        var unreadable = try Tree(own: "/")
        defer { unreadable.dir.remove() }
        unreadable.paths.membership = unreadable.dir.file("missing")
        guard case .failure(let missing) = CgroupCPU.prepare(paths: unreadable.paths, pid: 1) else { Issue.record("prepared without membership"); return }
        #expect(missing.reason.hasPrefix("cannot read \(unreadable.dir.file("missing"))"))
    }

    @Test func aModuleGroupGetsItsQuotaAndTheStatusSaysWhetherTheLimitApplies() throws {
        let tree = try Tree(own: "/ferry", subtree: "cpu")
        defer { tree.dir.remove() }
        let limits = CgroupCPU(paths: tree.paths, pid: 7, logger: Logger(label: "test"))
        let (group, note) = limits.limit(percent: 50, module: "bad", label: "module bad")
        #expect(group == tree.paths.root + "/ferry/ferry-plugin-bad")
        #expect(note == "50% of one CPU (cgroup \(tree.paths.root)/ferry/ferry-plugin-bad)")
        #expect(tree.read("/ferry/ferry-plugin-bad/cpu.max") == "50000 100000")
        // Made again after a restart of the host: reused, its quota set anew.
        #expect(try limits.group(module: "bad", percent: 150).get() == group)
        #expect(tree.read("/ferry/ferry-plugin-bad/cpu.max") == "150000 100000")

        let none = try Tree(own: "/", v2: false)
        defer { none.dir.remove() }
        let unavailable = CgroupCPU(paths: none.paths, pid: 7, logger: Logger(label: "test")).limit(percent: 25, module: "bad", label: "module bad")
        #expect(unavailable.group == nil)
        #expect(unavailable.note.hasPrefix("25% of one CPU requested, NOT applied: cgroup v2 is not mounted at"))
    }
}
