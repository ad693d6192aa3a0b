import FerrySystem
import Foundation
import Logging

/// Start-up recovery: every `.prog` left by a crash is cut back to its last whole record and
/// promoted to `.capture`. Runs before any collector starts, so no `.prog` is still being written.
package enum CaptureRecovery {
    package struct Report: Sendable, Equatable {
        /// Files promoted to `.capture`.
        package var recovered: [String] = []
        /// Bytes cut off their tails in total.
        package var truncatedBytes = 0
        /// Files with no whole record (nothing to keep), removed.
        package var removedEmpty: [String] = []
        /// Files that could not be read as capture files; renamed `.corrupt` and left for a human.
        package var quarantined: [String] = []
    }

    package static func recover(captureDir: String, logger: Logger) -> Report {
        var report = Report()
        for path in files(in: captureDir, withExtension: CaptureFile.inProgressExtension) {
            do {
                let contents = try CaptureFileReader.read(path: path, strict: false)
                guard !contents.records.isEmpty else {
                    try FileManager.default.removeItem(atPath: path)
                    report.removedEmpty.append(path)
                    continue
                }
                if contents.trailingBytes > 0 {
                    guard truncate(path, to: contents.validLength) else {
                        logger.error("recovery: cannot truncate \(path); left as is")
                        continue
                    }
                    report.truncatedBytes += contents.trailingBytes
                }
                let finished = String(path.dropLast(CaptureFile.inProgressExtension.count)) + CaptureFile.finishedExtension
                try FileManager.default.moveItem(atPath: path, toPath: finished)
                report.recovered.append(finished)
            } catch let error as CaptureFileError where error.offset == 0 && error.message.hasPrefix("no complete metadata") {
                // Cut off before its header was whole: it never held a reading.
                try? FileManager.default.removeItem(atPath: path)
                report.removedEmpty.append(path)
            } catch {
                let corrupt = path + ".corrupt"
                try? FileManager.default.moveItem(atPath: path, toPath: corrupt)
                report.quarantined.append(corrupt)
                logger.error("recovery: \(error); moved to \(corrupt) for inspection (`ferry capture cat` shows what is readable)")
            }
        }
        if !report.recovered.isEmpty || !report.removedEmpty.isEmpty {
            logger.info("recovery: promoted \(report.recovered.count) interrupted capture files (\(report.truncatedBytes) bytes of partial records cut), removed \(report.removedEmpty.count) empty ones")
        }
        return report
    }

    /// Every file under `directory` (recursively) with the extension, sorted.
    package static func files(in directory: String, withExtension ext: String) -> [String] {
        var paths: [String] = []
        for relative in (Files.walk(directory) ?? []).map(\.relative) where relative.hasSuffix("." + ext) {
            paths.append(URL(fileURLWithPath: directory).appendingPathComponent(relative).path)
        }
        return paths.sorted()
    }

    private static func truncate(_ path: String, to length: Int) -> Bool {
        let descriptor = open(path, O_WRONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        return ftruncate(descriptor, off_t(length)) == 0 && fsync(descriptor) == 0
    }
}
