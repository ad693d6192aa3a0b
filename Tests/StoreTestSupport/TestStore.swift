import FerryStore
import FerryStorePostgres
import FerryStoreSQLite
import FerryTestSupport
import Foundation
import Logging

/// The backends every conformance test runs against, as GRDB runs one test against a queue and a
/// pool: `@Test(arguments: StoreBackend.all) func x(_ backend: StoreBackend)`.
public enum StoreBackend: String, Sendable, CaseIterable, CustomStringConvertible {
    case sqlite
    /// A fresh database on `FERRY_TEST_DATABASE_URL`'s server, or on a throwaway cluster.
    case postgres

    public static var all: [StoreBackend] { allCases }
    public var description: String { rawValue }
}

/// A fresh, empty store of one backend for one test.
public struct TestStore: Sendable {
    public let backend: StoreBackend
    public let store: any DataStore
    public let location: StoreLocation
    /// The options the store was opened with (a second connection opens with the same).
    public let options: StoreOptions
    private let directory: TemporaryDirectory?

    /// Opens a new store. Key hashing uses few rounds to keep suites fast (one test checks the default).
    public static func make(_ backend: StoreBackend, options: StoreOptions = .testing) async throws -> TestStore {
        switch backend {
        case .sqlite:
            let directory = try TemporaryDirectory("ferry-store")
            let store: SQLiteReadingStore
            do {
                store = try openSQLite(directory.path, options: options)
            } catch {
                directory.remove()  // options a test expects to be refused leave nothing behind
                throw error
            }
            return TestStore(backend: backend, store: store, location: .directory(directory.path), options: options, directory: directory)
        case .postgres:
            let (store, url) = try await TestPostgresStores.fresh(options: options)
            return TestStore(backend: backend, store: store, location: .database(url), options: options, directory: nil)
        }
    }

    /// Another connection to the same store: what a second process or replica opens.
    public func reopen() async throws -> any DataStore {
        switch location {
        case .directory(let path): try Self.openSQLite(path, options: options)
        case .database(let url): try await TestPostgresStores.open(url, options: options)
        }
    }

    /// Removes the store's files, or closes the database's connections (the database itself goes
    /// with the throwaway cluster, or with the next test process on a given server).
    public func remove() {
        directory?.remove()
        (store as? PostgresStore)?.close()
    }

    /// The data directory of a SQLite store (its payload files and token secret live there).
    public var dataDirectory: String? { directory?.path }

    private static func openSQLite(_ path: String, options: StoreOptions) throws -> SQLiteReadingStore {
        var configuration = SQLiteReadingStore.Configuration(options)
        // Tests need no power-loss durability; skipping the fsync per commit keeps them fast.
        configuration.durability = .normal
        return try SQLiteReadingStore(dataDirectory: path, configuration: configuration)
    }
}

extension StoreOptions {
    /// Few PBKDF2 rounds, logs at warning.
    public static var testing: StoreOptions {
        var options = StoreOptions()
        options.apiKeyHashRounds = 1_000
        options.logger.logLevel = .warning
        return options
    }
}
