import FerryStore
import FerryStorePostgres
import FerryStoreSQLite
import Foundation

/// Opens the store a `StoreLocation` names, with its schema brought up to date. The one way
/// `ferry serve`, the server `ferry run` embeds, and every CLI command get their store, so each
/// backend is chosen in one place.
public enum StoreFactory {
    public static func open(_ location: StoreLocation, options: StoreOptions = StoreOptions()) async throws -> any DataStore {
        switch location {
        case .directory(let path):
            return try SQLiteReadingStore(dataDirectory: path, configuration: SQLiteReadingStore.Configuration(options))
        case .database(let url):
            return try await PostgresStore.open(try PostgresURL(url), configuration: PostgresStore.Configuration(options))
        }
    }
}
