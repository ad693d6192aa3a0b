import FerryClock
import Foundation

/// What `ferry sync status` shows about plugin processes: the running host rewrites it at each
/// config poll, beside the sync status in the capture directory's `.ferry` folder.
package struct PluginProcessReport: Codable, Sendable, Equatable {
    package struct Process: Codable, Sendable, Equatable {
        package var library: String
        package var running: Bool
        package var pid: Int32?
        package var restarts: Int
        package var lastFailure: String?
        /// The CPU limit asked for: applied (with its cgroup), or why not.
        package var cpuLimit: String?

        enum CodingKeys: String, CodingKey {
            case library, running, pid, restarts, lastFailure = "last_failure", cpuLimit = "cpu_limit"
        }
    }

    package var updatedAt: Date
    package var processes: [Process]

    enum CodingKeys: String, CodingKey {
        case updatedAt = "updated_at", processes
    }

    package init(updatedAt: Date, statuses: [IsolatedModule.Status]) {
        self.updatedAt = updatedAt
        processes = statuses.map {
            Process(
                library: $0.library, running: $0.running, pid: $0.pid, restarts: $0.restarts, lastFailure: $0.lastFailure, cpuLimit: $0.cpuLimit)
        }
    }

    package static func path(captureDir: String) -> String { captureDir + "/.ferry/plugin-processes.json" }

    package static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .rfc3339
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return encoder
    }()

    /// Replaced atomically (rename), so a reader never sees half of it; a report, not fsync'd.
    package func save(captureDir: String) {
        try? FileManager.default.createDirectory(atPath: captureDir + "/.ferry", withIntermediateDirectories: true)
        guard let data = try? Self.encoder.encode(self) else { return }
        try? data.write(to: URL(fileURLWithPath: Self.path(captureDir: captureDir)), options: .atomic)
    }

    package static func load(captureDir: String) -> PluginProcessReport? {
        guard let data = FileManager.default.contents(atPath: path(captureDir: captureDir)) else { return nil }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .rfc3339
        return try? decoder.decode(PluginProcessReport.self, from: data)
    }
}
