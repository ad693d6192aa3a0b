import ArgumentParser
import FerryStore
import Foundation

/// `ferry data delete binary|tabular`: deletion in the store directly (as `viam data delete`).
struct DeleteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete", abstract: "Delete binary data by filter or id, or readings older than some days.",
        subcommands: [Binary.self, Tabular.self])

    struct Binary: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete the matching binary data (rows and payloads), or those of --binary-data-ids.",
            discussion: "With neither a filter flag nor ids this would delete everything: that needs --all.")
        @OptionGroup var store: StoreArguments
        @OptionGroup var filter: DataFilterOptions
        @OptionGroup var tags: TagsFilterOption
        @Option(name: .customLong("binary-data-ids"), parsing: .upToNextOption, help: "These payloads only (space- or comma-separated).")
        var binaryDataIDs: [String] = []
        @Flag(help: "Allow deleting every binary data of the organisations.") var all = false

        func validate() throws {
            let binaryFilter = try filter.binaryFilter(tags: tags.tags)
            if !binaryDataIDs.isEmpty, binaryFilter != BinaryFilter.all {
                throw ValidationError("give either --binary-data-ids or filter flags, not both")
            }
            if binaryDataIDs.isEmpty, binaryFilter == BinaryFilter.all, !all {
                throw ValidationError("no filter flag and no --binary-data-ids would delete every binary data of \(filter.organizations.joined(separator: ", ")); add --all if that is meant")
            }
        }

        func run() async throws {
            let ids = commaSeparated(binaryDataIDs)
            let binaryFilter = try filter.binaryFilter(tags: tags.tags)
            let deleted = try await store.perform { store in
                var deleted = 0
                for organization in filter.organizations {
                    deleted += ids.isEmpty
                        ? try await store.deleteBinaries(organizationID: organization, filter: binaryFilter)
                        : try await store.deleteBinaries(organizationID: organization, ids: ids)
                }
                return deleted
            }
            print("deleted \(deleted) binary data")
        }
    }

    struct Tabular: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete the organisations' readings captured more than N days ago (0: all of them).",
            discussion: "Pipelines whose windows lose readings re-run them, as after late data.")
        @OptionGroup var store: StoreArguments
        @Option(name: .customLong("org-ids"), parsing: .upToNextOption, help: "The organisations (space- or comma-separated).")
        var orgIDs: [String]
        @Option(name: .customLong("delete-older-than-days"), help: "Readings captured more than this many days ago; 0 deletes all.")
        var days: Int

        func validate() throws {
            guard days >= 0 else { throw ValidationError("--delete-older-than-days must be 0 or more") }
            guard !commaSeparated(orgIDs).isEmpty else { throw ValidationError("name the organisations with --org-ids") }
        }

        func run() async throws {
            let before: Int64? = days == 0 ? nil : Int64((Date().timeIntervalSince1970 - Double(days) * 86_400) * 1000)
            let deleted = try await store.perform { store in
                var deleted = 0
                for organization in commaSeparated(orgIDs) {
                    deleted += try await store.deleteReadings(organizationID: organization, capturedBefore: before)
                }
                return deleted
            }
            print("deleted \(deleted) readings")
        }
    }
}

/// `ferry data tag add|remove`: tags of binary data, by filter or by id.
struct TagCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tag", abstract: "Add or remove tags of binary data, by filter or by id.", subcommands: [Add.self, Remove.self])

    struct Edit: ParsableArguments {
        @OptionGroup var store: StoreArguments
        @OptionGroup var filter: DataFilterOptions
        @Option(parsing: .upToNextOption, help: "The tags to add or remove (space- or comma-separated).")
        var tags: [String]
        @Option(name: .customLong("binary-data-ids"), parsing: .upToNextOption, help: "These payloads only, instead of a filter.")
        var binaryDataIDs: [String] = []

        func validate() throws {
            guard !commaSeparated(tags).isEmpty else { throw ValidationError("give the tags with --tags") }
            if !binaryDataIDs.isEmpty, try filter.binaryFilter() != BinaryFilter.all {
                throw ValidationError("give either --binary-data-ids or filter flags, not both")
            }
        }

        /// Runs `byIDs` or `byFilter` in each organisation; the payloads changed.
        func apply(
            byIDs: @escaping (any DataStore, [String], String, [String]) async throws -> Int,
            byFilter: @escaping (any DataStore, [String], String, BinaryFilter) async throws -> Int
        ) async throws -> Int {
            let ids = commaSeparated(binaryDataIDs), tagList = commaSeparated(tags)
            let binaryFilter = try filter.binaryFilter()
            return try await store.perform { store in
                var changed = 0
                for organization in filter.organizations {
                    changed += ids.isEmpty
                        ? try await byFilter(store, tagList, organization, binaryFilter) : try await byIDs(store, tagList, organization, ids)
                }
                return changed
            }
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add tags to the matching binary data.")
        @OptionGroup var edit: Edit

        func run() async throws {
            let changed = try await edit.apply(
                byIDs: { try await $0.addBinaryTags($1, organizationID: $2, ids: $3) },
                byFilter: { try await $0.addBinaryTags($1, organizationID: $2, filter: $3) })
            print("tagged \(changed) binary data")
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove tags from the matching binary data.")
        @OptionGroup var edit: Edit

        func run() async throws {
            let changed = try await edit.apply(
                byIDs: { try await $0.removeBinaryTags($1, organizationID: $2, ids: $3) },
                byFilter: { try await $0.removeBinaryTags($1, organizationID: $2, filter: $3) })
            print("untagged \(changed) binary data")
        }
    }
}
