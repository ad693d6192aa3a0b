import FerryCaptureFile
import Foundation
import Logging
import Synchronization

/// Uploads to the first of several data servers (replicas on one database) that answers. A call
/// goes to the server in use; if that server cannot be reached, the next ones are tried in the
/// configured order within the same call, and the first that answers is used from then on. While
/// a later server is in use, the first is tried again every `failBackAfter`, so the host returns
/// to it once it is back (the order says which server is preferred). Rejections, refused
/// credentials and retryable errors come back as they are: the replicas share one database, so
/// another would answer the same.
package final class FailoverUploader: DataUploader {
    package typealias Clock = @Sendable () -> Date

    struct State {
        /// Index of the server in use.
        var current = 0
        /// When a later server was first used, or the first was last found still unreachable.
        var leftPreferredAt: Date?
    }

    let servers: [any DataUploader]
    let names: [String]
    let failBackAfter: TimeInterval
    let now: Clock
    let state = Mutex(State())
    let logger: Logger

    /// `servers[i]` is reached at `names[i]` (for logs and errors); the first is preferred.
    package init(
        servers: [any DataUploader], names: [String], failBackAfter: TimeInterval = 30, logger: Logger = Logger(label: "ferry.sync"),
        now: @escaping Clock = { Date() }
    ) {
        precondition(!servers.isEmpty && servers.count == names.count, "one name per server, at least one server")
        self.servers = servers
        self.names = names
        self.failBackAfter = failBackAfter
        self.logger = logger
        self.now = now
    }

    /// The server in use now (tests, status).
    package var currentServer: String { names[state.withLock { $0.current }] }

    /// The order to try servers in for one call: the preferred one first when it is due for
    /// another try, then the one in use, then the rest in configured order.
    func attemptOrder() -> [Int] {
        let time = now()
        return state.withLock { state in
            var order: [Int] = []
            if state.current != 0, let since = state.leftPreferredAt, time.timeIntervalSince(since) >= failBackAfter {
                order.append(0)
                state.leftPreferredAt = time
            }
            order.append(state.current)
            for index in servers.indices where !order.contains(index) { order.append(index) }
            return order
        }
    }

    /// `index` answered after the servers tried before it were unreachable, for `reasons`.
    func succeeded(_ index: Int, after reasons: [String] = []) {
        let time = now()
        let previous = state.withLock { state in
            let previous = state.current
            if index == 0 {
                state.current = 0
                state.leftPreferredAt = nil
            } else if state.current != index {
                state.current = index
                state.leftPreferredAt = state.leftPreferredAt ?? time
            }
            return previous
        }
        if previous != index {
            let why = index == 0 ? "the preferred server is back" : "\(names[previous]) is unreachable: \(reasons.joined(separator: "; "))"
            logger.notice("sync now goes to \(names[index]) (\(why))")
        }
    }

    private func attempt(_ body: (any DataUploader) async throws(UploadFailure) -> Void) async throws(UploadFailure) {
        var unreachable: [String] = []
        for index in attemptOrder() {
            do {
                try await body(servers[index])
                succeeded(index, after: unreachable)
                return
            } catch .unreachable(let message) {
                unreachable.append(message)
            }
        }
        throw .unreachable(unreachable.joined(separator: "; "))
    }

    package func uploadTabular(_ metadata: UploadMetadata, records: [Data], key: UploadKey) async throws(UploadFailure) {
        try await attempt { server throws(UploadFailure) in try await server.uploadTabular(metadata, records: records, key: key) }
    }

    package func uploadBinary(_ metadata: UploadMetadata, record: SensorData, key: UploadKey, streamingThreshold: Int)
        async throws(UploadFailure)
    {
        try await attempt { server throws(UploadFailure) in
            try await server.uploadBinary(metadata, record: record, key: key, streamingThreshold: streamingThreshold)
        }
    }

    package func uploadFile(_ metadata: UploadMetadata, path: String, key: UploadKey) async throws(UploadFailure) {
        try await attempt { server throws(UploadFailure) in try await server.uploadFile(metadata, path: path, key: key) }
    }
}
