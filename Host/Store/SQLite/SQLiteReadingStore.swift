import FerryStore
import Foundation
import GRDB
import GRDBSQLite
import Logging
import Synchronization

/// The embedded store: one SQLite file (`store.sqlite`) in the data directory, in WAL mode, with
/// binary payloads as files beside it (`binary/<org>/<id>`). Writes go through GRDB's single
/// writer connection, one transaction per batch; queries run on a pool of reader connections
/// concurrently with writes; TabularDataBySQL runs on its own sandboxed read-only connection.
public final class SQLiteReadingStore: DataStore {
    public struct Configuration: Sendable {
        /// How long readings stay in hot storage; nil turns hot storage off.
        public var hotStorageHours: Int? = 24
        public var durability: Durability = .full
        /// PBKDF2 rounds for new API keys (existing keys keep the rounds they were hashed with).
        public var apiKeyHashRounds = KeyHashing.defaultRounds
        public var sqlLimits = SQLSandboxLimits()
        public var logger = Logger(label: "ferry.store")
        /// When the WAL is copied back into the database file (tests make it small).
        var walCheckpoint = WALCheckpointer.Thresholds()
        /// Whether hot storage's copies are made as soon as an ingest commits (tests turn it off
        /// to see them pending, made by the next read).
        var copiesHotStorageInBackground = true

        public init() {}

        /// The backend-neutral options, with SQLite's own left at their defaults.
        public init(_ options: StoreOptions) {
            hotStorageHours = options.hotStorageHours
            apiKeyHashRounds = options.apiKeyHashRounds
            sqlLimits = options.sqlLimits
            logger = options.logger
        }
    }

    /// When an acknowledged write is safe. In WAL mode a commit appends to the WAL; `.full` fsyncs
    /// it before the commit returns, `.normal` only at checkpoints.
    public enum Durability: String, Sendable {
        /// Survives process crashes, OS crashes and power loss. The default: an uploader deletes
        /// its capture file once the upload is acknowledged, so a write lost after the
        /// acknowledgement would be data lost for good. Costs one fsync per batch.
        case full
        /// Survives process crashes; an OS crash or power loss may lose the last few batches.
        case normal
    }

    public let dataDirectory: String
    public let databasePath: String
    let configuration: Configuration
    let pool: DatabasePool
    let checkpointer: WALCheckpointer
    /// Batches being stored now (see `insert(_: ReadingBatch, …)`).
    let batchesInFlight = Atomic(0)
    /// Hot storage's copies of new readings still to make; nil when hot storage is off.
    let hotCopies: HotStorageCopies?
    var logger: Logger { configuration.logger }

    /// Opens (creating if needed) the store in `dataDirectory` and brings its schema up to date.
    public init(dataDirectory: String, configuration: Configuration = Configuration()) throws {
        try StoreChecks.validate(hotStorageHours: configuration.hotStorageHours)
        self.dataDirectory = dataDirectory
        self.databasePath = URL(fileURLWithPath: dataDirectory).appendingPathComponent("store.sqlite").path
        self.configuration = configuration
        hotCopies = configuration.hotStorageHours != nil ? HotStorageCopies() : nil
        do {
            try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
        } catch {
            throw StoreError(.storage, "cannot create the data directory \(dataDirectory): \(error.localizedDescription)")
        }
        var config = GRDB.Configuration()
        config.label = "ferry.store"
        // Wait (rather than fail) when another process holds the write lock, e.g. `ferry key create`
        // while the server runs.
        config.busyMode = .timeout(10)
        let synchronous = configuration.durability == .full ? "FULL" : "NORMAL"
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = \(synchronous)")
            // Custom indexes are built on it: every connection that writes readings needs it.
            guard SQLiteBSONFunctions.registerIndexKey(on: db.sqliteConnection!) == SQLITE_OK else {
                throw StoreError(.storage, "cannot register the SQLite function ferry_index_key")
            }
        }
        do {
            pool = try DatabasePool(path: databasePath, configuration: config)
            try SQLiteSchema.migrator.migrate(pool)
            let checkpointer = try WALCheckpointer(
                databasePath: databasePath, synchronous: synchronous, thresholds: configuration.walCheckpoint)
            pool.writeWithoutTransaction { db in checkpointer.attach(writer: db.sqliteConnection!) }
            self.checkpointer = checkpointer
            // Copies a crash left pending are made before anything reads hot storage; with hot
            // storage off they are dropped, lest ids reused meanwhile be copied when it is on again.
            if try pool.read({ try Bool.fetchOne($0, sql: "SELECT EXISTS (SELECT 1 FROM hot_pending)") ?? false }) {
                if let hotCopies {
                    hotCopies.uncopied.store(1, ordering: .sequentiallyConsistent)
                } else {
                    try pool.write { try $0.execute(sql: "DELETE FROM hot_pending") }
                }
            }
        } catch {
            throw StoreError(
                .storage,
                "cannot open the store at \(databasePath): \(error). Check the path and permissions; if the file is not a Ferry store, move it away.")
        }
        configuration.logger.info(
            "store opened", metadata: ["path": "\(databasePath)", "journal": "wal", "synchronous": "\(synchronous)"])
        scheduleHotStorageCopy()
    }

    public var location: String { dataDirectory }

    static let advice = "Check that the data directory is writable and the disk is not full."

    /// Runs `body` in a write transaction, reporting non-store failures as storage errors.
    func write<T: Sendable>(_ what: String, _ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await pool.write(body)
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError.storage(what, error, advice: Self.advice)
        }
    }

    /// Runs `body` on a reader connection (a consistent snapshot), reporting failures likewise.
    func read<T: Sendable>(_ what: String, _ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await pool.read(body)
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError.storage(what, error, advice: Self.advice)
        }
    }
}
