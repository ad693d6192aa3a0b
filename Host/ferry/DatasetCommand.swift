import ArgumentParser
import FerryBSON
import FerryRun
import FerryStore
import Foundation

/// `ferry data dataset …`: datasets of binary data, read and written in the store directly (as
/// `viam dataset …` does through the cloud). Every subcommand names the organisation: an id of
/// another organisation is reported as unknown.
struct DatasetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dataset", abstract: "Datasets of binary data: create, list, rename, add or remove payloads, delete.",
        subcommands: [Create.self, List.self, Rename.self, Add.self, Remove.self, Delete.self])

    struct Organization: ParsableArguments {
        @Option(name: .customLong("org-id"), help: "The organisation id.") var orgID: String
    }

    struct Target: ParsableArguments {
        @Option(name: .customLong("org-id"), help: "The organisation id.") var orgID: String
        @Option(name: .customLong("dataset-id"), help: "The dataset id.") var datasetID: String
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create an empty dataset; prints its id.",
            discussion: "Names are unique in the organisation: letters, digits, '-' and '_', at most 100 characters.")
        @OptionGroup var store: StoreArguments
        @OptionGroup var organization: Organization
        @Option(help: "The dataset's name.") var name: String

        func run() async throws {
            let dataset = try await store.perform { try await $0.createDataset(name: name, organizationID: organization.orgID) }
            print(dataset.id)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the organisation's datasets (or those of --dataset-ids), oldest first: id, name, creation time.")
        @OptionGroup var store: StoreArguments
        @OptionGroup var organization: Organization
        @Option(name: .customLong("dataset-ids"), parsing: .upToNextOption, help: "Only these datasets (space- or comma-separated).")
        var datasetIDs: [String] = []
        @Flag(help: "One JSON object per line.") var json = false

        func run() async throws {
            let ids = commaSeparated(datasetIDs)
            let datasets = try await store.perform { store in
                ids.isEmpty
                    ? try await store.datasets(organizationID: organization.orgID)
                    : try await store.datasets(organizationID: organization.orgID, ids: ids)
            }
            let missing = Set(ids).subtracting(datasets.map(\.id))
            for d in datasets {
                print(json ? DatasetCLI.json(d) : "\(d.id)  \(d.name)  \(ISODate.string(d.createdAt))")
            }
            if !missing.isEmpty {
                throw Failure("organisation \(organization.orgID) has no dataset \(missing.sorted().joined(separator: ", "))")
            }
        }
    }

    struct Rename: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Rename a dataset.")
        @OptionGroup var store: StoreArguments
        @OptionGroup var target: Target
        @Option(help: "The new name, unique in the organisation.") var name: String

        func run() async throws {
            let found = try await store.perform {
                try await $0.renameDataset(id: target.datasetID, name: name, organizationID: target.orgID)
            }
            guard found else { throw DatasetCLI.unknown(target, store) }
            print("dataset \(target.datasetID) renamed to \(name)")
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add binary data to a dataset by id.")
        @OptionGroup var store: StoreArguments
        @OptionGroup var target: Target
        @Option(name: .customLong("binary-data-ids"), parsing: .upToNextOption, help: "The payloads' binary data ids (space- or comma-separated).")
        var binaryDataIDs: [String]

        func run() async throws {
            let ids = commaSeparated(binaryDataIDs)
            let changed = try await store.perform { store in
                try await DatasetCLI.requirePayloads(ids, in: store, target)
                return try await store.addToDataset(id: target.datasetID, organizationID: target.orgID, binaryIDs: ids)
            }
            guard let changed else { throw DatasetCLI.unknown(target, store) }
            print("added \(changed) binary data to dataset \(target.datasetID) (\(Set(ids).count - changed) were in it already)")
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove binary data from a dataset by id (the data stays).")
        @OptionGroup var store: StoreArguments
        @OptionGroup var target: Target
        @Option(name: .customLong("binary-data-ids"), parsing: .upToNextOption, help: "The payloads' binary data ids (space- or comma-separated).")
        var binaryDataIDs: [String]

        func run() async throws {
            let ids = commaSeparated(binaryDataIDs)
            let changed = try await store.perform { store in
                try await DatasetCLI.requirePayloads(ids, in: store, target)
                return try await store.removeFromDataset(id: target.datasetID, organizationID: target.orgID, binaryIDs: ids)
            }
            guard let changed else { throw DatasetCLI.unknown(target, store) }
            print("removed \(changed) binary data from dataset \(target.datasetID)")
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a dataset; its binary data stays.")
        @OptionGroup var store: StoreArguments
        @OptionGroup var target: Target

        func run() async throws {
            let found = try await store.perform { try await $0.deleteDataset(id: target.datasetID, organizationID: target.orgID) }
            guard found else { throw DatasetCLI.unknown(target, store) }
            print("dataset \(target.datasetID) deleted (its binary data stays)")
        }
    }
}

enum DatasetCLI {
    static func requirePayloads(_ ids: [String], in store: any DataStore, _ target: DatasetCommand.Target) async throws {
        guard !ids.isEmpty else { throw Failure("give at least one id with --binary-data-ids") }
        let found = Set(try await store.binaries(organizationID: target.orgID, ids: ids).map(\.id))
        let missing = ids.filter { !found.contains($0) }
        guard missing.isEmpty else {
            throw Failure("organisation \(target.orgID) has no binary data \(missing.joined(separator: ", ")); nothing was changed")
        }
    }

    static func unknown(_ target: DatasetCommand.Target, _ store: StoreArguments) -> Failure {
        Failure(
            "organisation \(target.orgID) has no dataset \(target.datasetID); `ferry data dataset list \(store.flag) --org-id \(target.orgID)` lists them")
    }

    static func json(_ dataset: Dataset) -> String {
        let document: BSONDocument = [
            "id": .string(dataset.id), "name": .string(dataset.name), "organization_id": .string(dataset.organizationID),
            "time_created": .datetime(dataset.createdAt),
        ]
        return document.extendedJSON(.relaxed)
    }
}
