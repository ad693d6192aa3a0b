import FerryStore
import FerryStorePostgres
import Foundation

extension StoreFactory {
    /// Opens the source and the destination of `ferry store migrate`, after the checks that need no
    /// connection: two different stores, and a source that exists (opening a directory that holds
    /// no store would make an empty one).
    public static func openForMigration(from source: StoreLocation, to destination: StoreLocation, options: StoreOptions = StoreOptions())
        async throws -> (source: any DataStore, destination: any DataStore)
    {
        if try sameStore(source, destination) {
            throw StoreError.invalid("the source and the destination are the same store (\(source)); name two different ones")
        }
        if case .directory(let path) = source {
            let file = URL(fileURLWithPath: path).appendingPathComponent("store.sqlite").path
            guard FileManager.default.fileExists(atPath: file) else {
                throw StoreError(
                    .notFound,
                    "the source \(path) holds no Ferry store (no store.sqlite there): give the data directory `ferry serve --data` uses")
            }
            guard FileManager.default.isReadableFile(atPath: file) else {
                throw StoreError(.storage, "the source \(file) is not readable: check its permissions")
            }
        }
        let from: any DataStore
        do {
            from = try await open(source, options: options)
        } catch let error as StoreError {
            throw StoreError(error.kind, "the source \(source): \(error.message)")
        }
        do {
            return (from, try await open(destination, options: options))
        } catch let error as StoreError {
            throw StoreError(error.kind, "the destination \(destination): \(error.message)")
        }
    }

    /// Whether two locations name one store: the same directory after resolving links, or the same
    /// database on the same server.
    public static func sameStore(_ a: StoreLocation, _ b: StoreLocation) throws -> Bool {
        switch (a, b) {
        case (.directory(let x), .directory(let y)):
            func resolved(_ path: String) -> String { URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path }
            return resolved(x) == resolved(y)
        case (.database(let x), .database(let y)):
            let (p, q) = (try PostgresURL(x), try PostgresURL(y))
            return p.host.lowercased() == q.host.lowercased() && p.port == q.port && p.database == q.database
        default:
            return false
        }
    }
}
