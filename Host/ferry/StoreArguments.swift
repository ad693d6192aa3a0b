import ArgumentParser
import FerryStore
import FerryStoreFactory
import Foundation

/// Where a command finds the store: `--data DIR` (SQLite in a data directory, the default).
/// Every command that reads or writes the store takes these same options.
struct StoreArguments: ParsableArguments {
    /// Where the data commands look without `--data`: `$FERRY_DATA`, else `ferry-data` here.
    static var defaultDataDirectory: String { ProcessInfo.processInfo.environment["FERRY_DATA"] ?? "ferry-data" }

    @Option(help: "The data directory: the SQLite store and its payload files (default: $FERRY_DATA, else ./ferry-data).")
    var data: String = StoreArguments.defaultDataDirectory

    var location: StoreLocation { .directory(data) }

    /// The option that names this store, for messages that suggest another command.
    var flag: String { "--data \(data)" }

    func open(_ options: StoreOptions = StoreOptions()) async throws -> any DataStore {
        try await Self.open(location, options: options)
    }

    static func open(_ location: StoreLocation, options: StoreOptions = StoreOptions()) async throws -> any DataStore {
        do {
            return try await StoreFactory.open(location, options: options)
        } catch {
            throw Failure("cannot open the store \(location): \(error)")
        }
    }
}
