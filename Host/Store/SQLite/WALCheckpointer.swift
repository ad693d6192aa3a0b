import Dispatch
import FerryStore
import GRDBSQLite
import Synchronization

/// Copies the WAL back into the database file on a connection and a thread of its own.
///
/// SQLite's automatic checkpoint runs inside the commit that crosses its threshold, on the
/// writer's time: 6% of an ingest's CPU in StoreBenchmark's profile, all of it added to the upload
/// whose commit triggers it. Here a commit past `Thresholds.background` frames only asks for a
/// checkpoint, and this object runs a PASSIVE one (it waits for no reader and no writer) on its
/// queue while the writer goes on. The WAL starts over from its beginning only when a transaction
/// begins with every frame copied back, which a writer that keeps committing never lets a
/// background checkpoint reach; so the first commit after one finishes checkpoints the few frames
/// written meanwhile itself, and the next transaction starts the WAL over. Should the WAL still
/// reach `Thresholds.inline` frames (a long reader keeps checkpoints from finishing), the
/// committing writer checkpoints itself, so the WAL stays bounded.
final class WALCheckpointer: @unchecked Sendable {
    // @unchecked: `connection` is used only by blocks on `queue` (one at a time) and closed in
    // deinit, when no block can be running (each holds a reference to self). The rest is atomics.

    struct Thresholds: Sendable {
        /// WAL frames (pages) at which a commit asks for a background checkpoint: ~32 MiB, not
        /// SQLite's 4 MiB, because a burst of uploads rewrites the same index leaf pages in many
        /// commits, and a longer WAL copies each back once.
        var background: Int32 = 8_192
        /// WAL frames at which the committing writer checkpoints itself: ~128 MiB.
        var inline: Int32 = 32_768
    }

    let thresholds: Thresholds
    /// Checkpoints run on `queue` and by the writer itself, counted for tests.
    let backgroundCheckpoints = Atomic<Int>(0)
    let inlineCheckpoints = Atomic<Int>(0)
    private let connection: OpaquePointer
    private let queue = DispatchQueue(label: "ferry.store.checkpoint")
    private let scheduled = Atomic<Bool>(false)
    /// A background checkpoint copied the whole WAL, which has not started over since.
    private let caughtUp = Atomic<Bool>(false)
    /// The WAL's length after the last commit; only the writer's hook uses it.
    private let lastFrames = Atomic<Int32>(0)
    /// The writer's entry in `registry`.
    private let writerKey = Atomic<UInt>(0)

    /// Opens the checkpoint connection on `databasePath` (an existing WAL database).
    init(databasePath: String, synchronous: String, thresholds: Thresholds) throws {
        self.thresholds = thresholds
        var connection: OpaquePointer?
        let rc = sqlite3_open_v2(databasePath, &connection, SQLITE_OPEN_READWRITE, nil)
        guard rc == SQLITE_OK, let connection else {
            let message = connection.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close_v2(connection)
            throw StoreError(.storage, "cannot open a checkpoint connection to \(databasePath): \(message)")
        }
        // A checkpoint syncs the WAL and the database file as this connection's setting says.
        sqlite3_exec(connection, "PRAGMA synchronous = \(synchronous)", nil, nil, nil)
        self.connection = connection
    }

    deinit {
        // By identity: loading another entry's weak reference here could make this lock's holder
        // release that checkpointer's last reference, and run its deinit inside the lock.
        let key = writerKey.load(ordering: .relaxed)
        Self.registry.withLock { writers in
            if writers[key]?.id == ObjectIdentifier(self) { writers[key] = nil }
        }
        sqlite3_close_v2(connection)
    }

    /// Takes over checkpointing from SQLite's automatic checkpoint on `writer` (the one connection
    /// that commits). Call it on the writer's own queue.
    func attach(writer: OpaquePointer) {
        writerKey.store(UInt(bitPattern: writer), ordering: .relaxed)
        Self.registry.withLock { $0[UInt(bitPattern: writer)] = Weak(id: ObjectIdentifier(self), checkpointer: self) }
        sqlite3_wal_hook(writer, { _, writer, name, frames in
            if let writer { WALCheckpointer.committed(writer, name, frames) }
            return SQLITE_OK
        }, nil)
    }

    /// Returns when no background checkpoint is queued or running (without blocking a thread).
    func waitUntilIdle() async {
        await withCheckedContinuation { done in queue.async { done.resume() } }
    }

    // MARK: -

    private struct Weak: Sendable {
        let id: ObjectIdentifier
        weak var checkpointer: WALCheckpointer?
    }

    /// Each writer's checkpointer, by connection: the C hook is given no Swift context, and a
    /// weak reference cannot outlive the object it names, so a hook never reaches a freed one.
    private static let registry = Mutex<[UInt: Weak]>([:])

    /// SQLite's WAL hook, on the writer's thread, after a commit leaves the WAL `frames` long.
    private static func committed(_ writer: OpaquePointer, _ name: UnsafePointer<CChar>?, _ frames: Int32) {
        guard let checkpointer = registry.withLock({ $0[UInt(bitPattern: writer)]?.checkpointer }) else {
            // Its store is going away: checkpoint as SQLite's automatic checkpoint would.
            if frames >= Thresholds().background { sqlite3_wal_checkpoint_v2(writer, name, SQLITE_CHECKPOINT_PASSIVE, nil, nil) }
            return
        }
        // The WAL started over (a commit after it is, but for one larger than the old WAL, shorter).
        if frames < checkpointer.lastFrames.exchange(frames, ordering: .relaxed) {
            checkpointer.caughtUp.store(false, ordering: .relaxed)
        }
        if frames >= checkpointer.thresholds.inline {
            checkpointer.checkpointInline(writer, name)
        } else if frames >= checkpointer.thresholds.background {
            if checkpointer.caughtUp.exchange(false, ordering: .acquiringAndReleasing) {
                checkpointer.checkpointInline(writer, name)  // only what was written since the background one
            } else {
                checkpointer.schedule()
            }
        }
    }

    private func checkpointInline(_ writer: OpaquePointer, _ name: UnsafePointer<CChar>?) {
        sqlite3_wal_checkpoint_v2(writer, name, SQLITE_CHECKPOINT_PASSIVE, nil, nil)
        inlineCheckpoints.add(1, ordering: .relaxed)
    }

    private func schedule() {
        guard scheduled.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else { return }
        queue.async { [self] in
            scheduled.store(false, ordering: .releasing)
            var frames: Int32 = 0
            var copied: Int32 = 0
            let rc = sqlite3_wal_checkpoint_v2(connection, nil, SQLITE_CHECKPOINT_PASSIVE, &frames, &copied)
            backgroundCheckpoints.add(1, ordering: .relaxed)
            // Copied up to where the WAL stood: what remains for the writer is what it wrote since.
            if rc == SQLITE_OK, frames > 0, copied == frames { caughtUp.store(true, ordering: .releasing) }
        }
    }
}
