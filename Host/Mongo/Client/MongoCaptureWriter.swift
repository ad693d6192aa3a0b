import FerryBSON
import FerryConfig
import FerryMongoWire
import Logging
import Synchronization

/// How the host's MongoDB capture is doing, for logs and tests.
package struct MongoCaptureStats: Sendable, Equatable {
    /// Readings waiting to be sent.
    package var queued = 0
    /// Readings the server acknowledged.
    package var inserted = 0
    /// Readings given up: the queue overflowed while MongoDB was unreachable or slow, or the
    /// server refused them, or the connection broke while they were in flight.
    package var dropped = 0
    package var connected = false
    package var lastError: String?
}

/// At most one warning per interval, reporting how many were held back in between.
struct RateLimitedLog: Sendable {
    let interval: Duration
    private var last: Duration?
    private var suppressed = 0

    init(interval: Duration) { self.interval = interval }

    /// Nil while within the interval of the last warning; else how many were suppressed since.
    mutating func admit(now: Duration) -> Int? {
        if let last, now - last < interval {
            suppressed += 1
            return nil
        }
        last = now
        defer { suppressed = 0 }
        return suppressed
    }
}

/// Inserts readings into one MongoDB collection in the background, as Viam's
/// `mongo_capture_config` does: `enqueue` never waits (a full queue drops its oldest reading and
/// counts it), so a slow or failing MongoDB never slows capture or sync; failures are logged at
/// most every 30 s; the connection is re-made with backoff from 0.5 s to 30 s.
package final class MongoCaptureWriter: Sendable {
    package let config: MongoCaptureConfig
    let capacity: Int
    let batchSize: Int
    let logger: Logger
    let now: @Sendable () -> Duration

    private struct State {
        var queue: [BSONDocument] = []
        var stats = MongoCaptureStats()
        var log = RateLimitedLog(interval: .seconds(30))
    }
    private let state = Mutex(State())
    private let wakeups: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation
    private let task = Mutex<Task<Void, Never>?>(nil)

    package init(
        config: MongoCaptureConfig, capacity: Int = 10_000, batchSize: Int = 500, logger: Logger,
        now: @escaping @Sendable () -> Duration = { ContinuousClock.now - MongoCaptureWriter.epoch }
    ) {
        self.config = config
        self.capacity = max(1, capacity)
        self.batchSize = max(1, batchSize)
        self.logger = logger
        self.now = now
        (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    package static let epoch = ContinuousClock.now

    package var stats: MongoCaptureStats {
        state.withLock { state in
            var stats = state.stats
            stats.queued = state.queue.count
            return stats
        }
    }

    /// Queues a reading; never blocks. Past capacity the oldest queued reading is dropped.
    package func enqueue(_ document: BSONDocument) {
        state.withLock { state in
            if state.queue.count >= capacity {
                state.queue.removeFirst()
                state.stats.dropped += 1
            }
            state.queue.append(document)
        }
        wake.yield()
    }

    package func start() {
        task.withLock { task in
            guard task == nil else { return }
            task = Task.detached { [self] in await loop() }
        }
    }

    /// Stops sending; what is still queued is dropped (Viam gives MongoDB capture no delivery guarantee).
    package func stop() {
        task.withLock { $0?.cancel() }
        wake.finish()
    }

    private func loop() async {
        var backoff = Duration.milliseconds(500)
        var wakeIterator = wakeups.makeAsyncIterator()
        while !Task.isCancelled {
            do {
                try await MongoClientConnection(uri: config.uri).run { send in
                    state.withLock { $0.stats.connected = true }
                    logger.info("MongoDB capture connected to \(config.uri)", metadata: ["collection": "\(config.database).\(config.collection)"])
                    backoff = .milliseconds(500)
                    while !Task.isCancelled {
                        let batch = take()
                        if batch.isEmpty {
                            if await wakeIterator.next() == nil { return }
                            continue
                        }
                        try await insert(batch, send)
                    }
                }
            } catch {
                state.withLock { $0.stats.connected = false }
                guard !Task.isCancelled else { return }
                warn("MongoDB capture to \(config.uri) failed, retrying in \(backoff): \(error)")
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(30))
            }
        }
    }

    /// One insert. A refusal by the server (a command error) drops the batch and carries on; a
    /// broken connection drops it too and throws, so the loop reconnects.
    private func insert(
        _ batch: [BSONDocument], _ send: (BSONDocument, [OpMsg.DocumentSequence]) async throws -> BSONDocument
    ) async throws {
        do {
            let reply = try await send(
                ["insert": .string(config.collection), "ordered": false, "$db": .string(config.database)],
                [OpMsg.DocumentSequence(identifier: "documents", documents: batch)])
            let inserted = reply["n"].flatMap { $0.int64Value }.map(Int.init) ?? 0
            state.withLock { state in
                state.stats.inserted += inserted
                state.stats.dropped += batch.count - inserted
            }
            if inserted < batch.count, case .array(let errors)? = reply["writeErrors"], case .document(let first)? = errors.first {
                warn("MongoDB refused \(batch.count - inserted) of \(batch.count) readings: \(first["errmsg"]?.stringValue ?? "write error")")
            }
        } catch let error as MongoCommandError {
            state.withLock { $0.stats.dropped += batch.count }
            warn("MongoDB refused an insert of \(batch.count) readings into \(config.database).\(config.collection): \(error)")
        } catch {
            state.withLock { $0.stats.dropped += batch.count }
            throw error
        }
    }

    private func take() -> [BSONDocument] {
        state.withLock { state in
            let batch = Array(state.queue.prefix(batchSize))
            state.queue.removeFirst(batch.count)
            return batch
        }
    }

    private func warn(_ message: String) {
        let suppressed = state.withLock { state -> Int? in
            state.stats.lastError = message
            return state.log.admit(now: now())
        }
        guard let suppressed else { return }
        let more = suppressed > 0 ? " (\(suppressed) similar messages suppressed)" : ""
        let dropped = stats.dropped
        logger.warning("\(message)\(more); \(dropped) readings dropped so far; capture and sync carry on")
    }
}
