import FerryCaptureFile
import FerryTestSupport
import Foundation
import Logging
import Testing

/// Capture into a file system that really fills: a small ext4 image mounted through a loop device
/// (tmpfs of the same size if the kernel has no loop device to give), with sync off, so only the
/// disk-full policy can make room. The host must back off and say so, thin every nth file per
/// collector as Viam's policy says, resume writing once space is back, and leave no file that
/// does not read. Mounting needs root, as CI runs; a machine where neither mount works fails here
/// with what was tried.
extension HeavyEndToEnd {
@Suite(.serialized, .ownThreads) struct DiskFullTests {
    @Test func captureIntoAFullFileSystemBacksOffThinsAndResumes() throws {
        let directory = try TemporaryDirectory("ferry-disk-full")
        defer { directory.remove() }
        let volume = try SmallFileSystem(mountPoint: directory.file("volume"), image: directory.file("volume.img"), megabytes: 4)
        defer { volume.unmount() }
        let captureDir = volume.mountPoint + "/capture"
        let log = directory.file("host.log")
        let config = directory.file("machine.json")
        let machine: [String: Any] = [
            "components": [
                // Each image is its own file: many files, so thinning every 4th leaves an even spread.
                [
                    "name": "cam", "api": "rdk:component:camera", "model": "fake", "attributes": ["width": 640, "height": 480],
                    "service_configs": [["type": "data_manager", "attributes": ["capture_methods": [["method": "ReadImage", "capture_frequency_hz": 10]]]]],
                ],
                [
                    "name": "temp", "api": "rdk:component:sensor", "model": "fake",
                    "service_configs": [["type": "data_manager", "attributes": ["capture_methods": [["method": "Readings", "capture_frequency_hz": 100]]]]],
                ],
            ],
            "services": [
                [
                    "name": "dm", "api": "rdk:service:data_manager",
                    "attributes": [
                        "capture_dir": captureDir, "sync_disabled": true, "delete_every_nth_when_disk_full": 4,
                        "maximum_capture_file_size_bytes": 16384, "ferry": ["fsync_interval_ms": 100],
                    ],
                ]
            ],
        ]
        try JSONSerialization.data(withJSONObject: machine).write(to: URL(fileURLWithPath: config))
        let host = try FerryProcess(["run", config], log: log)
        defer {
            if host.process.isRunning {
                host.signal(SIGKILL)
                _ = host.wait()
            }
        }
        func text() -> String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }
        // Full: the writer reports the error and keeps readings in memory, retrying with backoff.
        #expect(
            eventually(timeout: 300) { text().contains("No space left on device") && text().contains("keeping readings in memory and retrying") },
            "capture never ran out of space on \(volume.description):\n\(text().suffix(3000))")
        func finishedFiles() -> Set<String> {
            Set((FileManager.default.enumerator(atPath: captureDir)?.allObjects as? [String] ?? []).filter { $0.hasSuffix(".capture") })
        }
        // Thinned by Viam's rule (≥ 90% used, capture directory ≥ half of it), every 4th file of each collector.
        var atThinning: Set<String> = []
        let thinnedOnce = eventually(timeout: 300) {
            guard text().contains("the disk is") && text().contains("every 4th of each collector") else { return false }
            atThinning = finishedFiles()
            return true
        }
        #expect(thinnedOnce, "\(text().suffix(3000))")
        // Resumed: with sync off only capture makes files, and a file whose first reading never
        // landed is removed, so a capture file finished after the thinning holds readings written
        // after it.
        #expect(
            eventually(timeout: 300) { !finishedFiles().subtracting(atThinning).isEmpty },
            "capture did not resume after thinning:\n\(text().suffix(3000))")
        let status = try FerryProcess.run(["sync", "status", "--capture-dir", captureDir, "--json"])
        let thinned = ((try? JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any])?["host"] as? [String: Any])?["thinned_files"] as? Int
        #expect((thinned ?? 0) > 0, "sync status should count the thinned files: \(status.stdout)")
        host.signal(SIGTERM)
        let exit = host.wait()
        #expect(exit.status == 0, "ferry run did not stop cleanly:\n\(text().suffix(3000))")

        // The disk may be full when a file is finished (at an error or at the stop): its rename can
        // fail for want of a directory entry, and the .prog stays for the next start to promote.
        // Run that recovery, as `ferry run` starts with it.
        _ = CaptureRecovery.recover(captureDir: captureDir, logger: Logger(label: "test"))
        // Nothing half-written is left, and every file reads as a whole capture file.
        var finished = 0
        var bad: [String] = []
        let walker = FileManager.default.enumerator(atPath: captureDir)
        while let relative = walker?.nextObject() as? String {
            if relative.hasSuffix(".prog") || relative.hasSuffix(".corrupt") { bad.append(relative) }
            guard relative.hasSuffix(".capture") else { continue }
            finished += 1
            do {
                let contents = try CaptureFileReader.read(path: captureDir + "/" + relative)
                if contents.records.isEmpty { bad.append("\(relative) (no record)") }
            } catch {
                bad.append("\(relative): \(error)")
            }
        }
        #expect(bad.isEmpty, "files that are open, quarantined or unreadable after the disk filled: \(bad.prefix(5))\n\(text().suffix(3000))")
        #expect(finished > 20, "too few capture files to prove anything: \(finished)")
    }
}
}

/// A file system of a few megabytes that really fills: ext4 on a loop device (no blocks reserved
/// for root, so full means full; inodes enough that bytes run out first, as Viam's rule counts
/// bytes), or tmpfs when no loop device can be had.
struct SmallFileSystem: CustomStringConvertible {
    let mountPoint: String
    let kind: String

    init(mountPoint: String, image: String, megabytes: Int) throws {
        self.mountPoint = mountPoint
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        var tried: [String] = []
        let loop = [
            ["truncate", "-s", "\(megabytes)M", image], ["mkfs.ext4", "-q", "-F", "-m", "0", "-N", "4096", image], ["mount", "-o", "loop", image, mountPoint],
        ]
        if let failure = Self.runAll(loop) {
            tried.append("ext4 on a loop device: \(failure)")
            if let failure = Self.runAll([["mount", "-t", "tmpfs", "-o", "size=\(megabytes)m", "tmpfs", mountPoint]]) {
                tried.append("tmpfs: \(failure)")
                throw RigError("cannot mount a small file system to fill (this test needs root): \(tried.joined(separator: "; "))")
            }
            kind = "tmpfs of \(megabytes) MiB (\(tried[0]))"
        } else {
            kind = "ext4 of \(megabytes) MiB on a loop device"
        }
    }

    var description: String { "\(kind) at \(mountPoint)" }

    func unmount() { _ = Self.runAll([["umount", mountPoint]]) }

    /// Runs each command in turn; the first failure as text, or nil.
    static func runAll(_ commands: [[String]]) -> String? {
        for command in commands {
            let result: (status: Int32, stdout: String, stderr: String)
            do {
                result = try FerryProcess.run(command, executable: "/usr/bin/env")
            } catch {
                return "\(command.joined(separator: " ")): \(error)"
            }
            if result.status != 0 { return "\(command.joined(separator: " ")) exited \(result.status): \(result.stdout)\(result.stderr)" }
        }
        return nil
    }
}
