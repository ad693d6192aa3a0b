import ArgumentParser
import FerryRun
import FerryStore
import FerryStoreFactory
import Foundation

/// `ferry store …`: whole-store operations.
struct StoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store", abstract: "Operations on a whole store (a data directory or a PostgreSQL database).",
        subcommands: [Migrate.self])

    struct Migrate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Copy everything from one store to another, ids and all (e.g. a data directory into PostgreSQL).",
            discussion: """
                Copies organisations, API keys (with their roles and revocations), database users, the token \
                signing key, readings, hot storage, binary data, datasets, pipelines, runs, sinks, the invalidation log \
                and the ingest ranges (so a host re-uploading after the move is still stored exactly once). \
                Running it again copies only what is new; an interrupted copy completes when run again. A \
                destination row with the same id and other content stops the copy and is named. Stop the \
                servers on the source first.
                """)

        @Option(help: ArgumentHelp("The store to copy from: a data directory, or a postgres:// URL.", valueName: "dir-or-url"))
        var from: String
        @Option(help: ArgumentHelp("The store to copy into: a data directory, or a postgres:// URL.", valueName: "dir-or-url"))
        var to: String

        func validate() throws {
            for (flag, value) in [("--from", from), ("--to", to)] where value.contains("://") && !StoreLocation.isDatabaseURL(value) {
                throw ValidationError("\(flag) takes a data directory or a postgres:// or postgresql:// URL, not \(StoreLocation.redacted(value))")
            }
        }

        func run() async throws {
            LogSetup.bootstrap(defaultLevel: .warning)
            let source = StoreLocation(directoryOrURL: from)
            let destination = StoreLocation(directoryOrURL: to)
            let stores: (source: any DataStore, destination: any DataStore)
            do {
                stores = try await StoreFactory.openForMigration(from: source, to: destination)
            } catch let error as StoreError {
                throw Failure("cannot migrate: \(error.message)")
            }
            FileHandle.standardError.write(Data("copying \(source) to \(destination)\n".utf8))
            let totals: [StoreMigration.Progress]
            do {
                totals = try await StoreMigration.copy(from: stores.source, to: stores.destination) { state in
                    // A line per kind, and one every 100,000 rows of a big one.
                    let done = state.copied + state.skipped
                    guard state.finished || done % 100_000 < state.kind.batchSize else { return }
                    let line = "\(state.kind): \(state.copied) copied, \(state.skipped) already there\(state.finished ? "" : " …")\n"
                    FileHandle.standardError.write(Data(line.utf8))
                }
            } catch let error as StoreError {
                throw Failure("the migration stopped: \(error.message). What was copied before stays; run the command again once this is fixed")
            }
            let copied = totals.reduce(0) { $0 + $1.copied }
            let skipped = totals.reduce(0) { $0 + $1.skipped }
            print("migrated \(source) to \(destination): \(copied) rows copied, \(skipped) already there")
        }
    }
}

