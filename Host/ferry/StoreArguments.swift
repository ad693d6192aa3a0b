import ArgumentParser
import FerryRun
import FerryStore
import FerryStoreFactory
import Foundation

/// Where a command finds the store: `--data DIR` (SQLite in a data directory, the default) or
/// `--database URL` (PostgreSQL). Every command that reads or writes the store takes these same options.
struct StoreArguments: ParsableArguments {
    /// Where the data commands look without `--data`: `$FERRY_DATA`, else `ferry-data` here.
    static var defaultDataDirectory: String { ProcessInfo.processInfo.environment["FERRY_DATA"] ?? "ferry-data" }

    @Option(help: "The data directory: the SQLite store and its payload files (default: $FERRY_DATA, else ./ferry-data).")
    var data: String = StoreArguments.defaultDataDirectory

    @Option(
        help: ArgumentHelp(
            "A PostgreSQL database instead of the data directory's SQLite store (default: $FERRY_DATABASE_URL).",
            discussion: "libpq's URL form: postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=require]; the password may come from PGPASSWORD.",
            valueName: "url"))
    var database: String?

    /// `--database`, else `$FERRY_DATABASE_URL`.
    var databaseURL: String? {
        if let database { return database }
        if let url = ProcessInfo.processInfo.environment["FERRY_DATABASE_URL"], !url.isEmpty { return url }
        return nil
    }

    func validate() throws {
        if let url = databaseURL, !(url.lowercased().hasPrefix("postgres://") || url.lowercased().hasPrefix("postgresql://")) {
            throw ValidationError(
                "--database (or FERRY_DATABASE_URL) takes a postgres:// or postgresql:// URL, not \(StoreLocation.redacted(url)); for SQLite, give a directory with --data")
        }
    }

    var location: StoreLocation { databaseURL.map(StoreLocation.database) ?? .directory(data) }

    /// The option that names this store, for messages that suggest another command.
    var flag: String {
        switch location {
        case .directory(let path): "--data \(path)"
        case .database: "--database URL"
        }
    }

    /// Opens the store and runs `body`, a store refusal becoming the command's message.
    func perform<T>(_ body: (any DataStore) async throws -> T) async throws -> T {
        LogSetup.bootstrap(defaultLevel: .warning)
        let store = try await open()
        do {
            return try await body(store)
        } catch let error as StoreError {
            throw Failure(error.message)
        }
    }

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

/// Values given as separate words or comma-separated, without empty ones.
func commaSeparated(_ values: [String]) -> [String] {
    values.flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
}
