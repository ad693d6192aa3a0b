import FerrySystem
import Foundation

/// How full the file system under a directory is; a seam so tests drive the policy without
/// filling a disk.
package protocol DiskUsageProbe: Sendable {
    /// Bytes in use and total on the file system holding `path`.
    func usage(of path: String) -> (used: Int64, total: Int64)?
}

package struct StatvfsDiskUsage: DiskUsageProbe {
    package init() {}
    package func usage(of path: String) -> (used: Int64, total: Int64)? {
        var info = statvfs()
        guard statvfs(path, &info) == 0 else { return nil }
        let total = Int64(info.f_blocks) * Int64(info.f_frsize)
        let free = Int64(info.f_bfree) * Int64(info.f_frsize)
        return (total - free, total)
    }
}

/// Viam's disk-full rule: when the file system is at least 90% used and the capture directory
/// holds at least half of what is used, delete every nth finished capture file. Ferry adds a
/// size cap on the capture directory, and thins each collector's files separately, so every
/// stream keeps evenly spaced coverage instead of one busy camera losing everything.
package struct DiskSpacePolicy: Sendable {
    package static let fileSystemThreshold = 0.90
    package static let captureDirShareThreshold = 0.5

    package var deleteEveryNth: Int
    package var captureDirMaxBytes: Int64?

    package init(deleteEveryNth: Int, captureDirMaxBytes: Int64?) {
        self.deleteEveryNth = max(2, deleteEveryNth)
        self.captureDirMaxBytes = captureDirMaxBytes
    }

    package enum Reason: Equatable, Sendable, CustomStringConvertible {
        case diskFull(usedFraction: Double, captureShare: Double)
        case overCap(bytes: Int64, cap: Int64)
        package var description: String {
            switch self {
            case .diskFull(let used, let share):
                "the disk is \(Int(used * 100))% used and the capture directory holds \(Int(share * 100))% of that"
            case .overCap(let bytes, let cap): "the capture directory holds \(bytes) bytes, over capture_dir_max_bytes (\(cap))"
            }
        }
    }

    /// Why files must be thinned now, or nil.
    package func reason(captureDirBytes: Int64, usage: (used: Int64, total: Int64)?) -> Reason? {
        if let usage, usage.total > 0, usage.used > 0 {
            let used = Double(usage.used) / Double(usage.total)
            let share = Double(captureDirBytes) / Double(usage.used)
            if used >= Self.fileSystemThreshold, share >= Self.captureDirShareThreshold {
                return .diskFull(usedFraction: used, captureShare: share)
            }
        }
        if let cap = captureDirMaxBytes, captureDirBytes > cap { return .overCap(bytes: captureDirBytes, cap: cap) }
        return nil
    }

    /// Every nth file of each collector directory, oldest first, never a file being uploaded.
    /// `files` are finished capture files (paths); names sort by capture time.
    package func filesToDelete(_ files: [String], excluding busy: Set<String>) -> [String] {
        var byDirectory: [String: [String]] = [:]
        for file in files where !busy.contains(file) {
            byDirectory[FilePaths.parent(file), default: []].append(file)
        }
        var doomed: [String] = []
        for directory in byDirectory.keys.sorted() {
            let sorted = byDirectory[directory]!.sorted()
            for (index, file) in sorted.enumerated() where index % deleteEveryNth == 0 {
                doomed.append(file)
            }
        }
        return doomed
    }
}
