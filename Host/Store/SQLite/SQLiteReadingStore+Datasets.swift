import FerryStore
import Foundation
import GRDB

/// Datasets and their members. Each change is one write transaction; the names' uniqueness is the
/// table's constraint, checked first so the refusal can say which name clashed.
extension SQLiteReadingStore {
    public func createDataset(name: String, organizationID: String) async throws -> Dataset {
        try StoreChecks.validate(datasetName: name)
        let dataset = Dataset.new(name: name, organizationID: organizationID)
        return try await write("creating dataset \(name.debugDescription)") { db in
            try Self.requireOrganization(db, organizationID)
            try Self.insert(db, dataset)
            return dataset
        }
    }

    public func datasets(organizationID: String) async throws -> [Dataset] {
        try await read("listing datasets of organisation \(organizationID)") { db in
            try Row.fetchAll(
                db, sql: "SELECT \(Self.datasetColumns) FROM datasets WHERE organization_id = ? ORDER BY created_at, id",
                arguments: [organizationID]
            ).map(Self.dataset)
        }
    }

    public func datasets(organizationID: String, ids: [String]) async throws -> [Dataset] {
        try StoreChecks.validate(datasetIDs: ids)
        let found = try await read("looking up datasets by id") { db in
            try Self.datasets(db, organizationID: organizationID, ids: ids)
        }
        return DatasetIDs.inRequestOrder(found, ids: ids)
    }

    public func renameDataset(id: String, name: String, organizationID: String) async throws -> Bool {
        try StoreChecks.validate(datasetName: name)
        try StoreChecks.validate(datasetIDs: [id])
        return try await write("renaming dataset \(id)") { db in
            try Self.requireFreeName(db, name, organizationID: organizationID, except: id)
            try db.execute(
                sql: "UPDATE datasets SET name = ? WHERE organization_id = ? AND id = ?", arguments: [name, organizationID, id])
            return db.changesCount > 0
        }
    }

    public func deleteDataset(id: String, organizationID: String) async throws -> Bool {
        try StoreChecks.validate(datasetIDs: [id])
        return try await write("deleting dataset \(id)") { db in
            // Its memberships go by the foreign key's cascade; the payloads stay.
            try db.execute(sql: "DELETE FROM datasets WHERE organization_id = ? AND id = ?", arguments: [organizationID, id])
            return db.changesCount > 0
        }
    }

    public func mergeDatasets(ids: [String], name: String, organizationID: String) async throws -> Dataset {
        try StoreChecks.validate(datasetName: name)
        try StoreChecks.validate(datasetIDs: ids)
        guard !ids.isEmpty else { throw StoreError.invalid("give the ids of the datasets to merge") }
        let merged = Dataset.new(name: name, organizationID: organizationID)
        return try await write("merging datasets into \(name.debugDescription)") { db in
            let found = Set(try Self.datasets(db, organizationID: organizationID, ids: ids).map(\.id))
            let missing = ids.filter { !found.contains($0) }
            guard missing.isEmpty else { throw StoreChecks.noSuchDatasets(missing, organizationID: organizationID) }
            try Self.insert(db, merged)
            try db.execute(
                sql: """
                    INSERT OR IGNORE INTO dataset_members (dataset_id, binary_id)
                    SELECT ?, binary_id FROM dataset_members WHERE dataset_id IN (SELECT value FROM json_each(?))
                    """,
                arguments: [merged.id, ReadingEncoding.tagsJSON(ids)])
            return merged
        }
    }

    public func addToDataset(id: String, organizationID: String, binaryIDs: [String]) async throws -> Int? {
        try StoreChecks.validate(datasetIDs: [id])
        try StoreChecks.validate(ids: binaryIDs)
        return try await write("adding binary data to dataset \(id)") { db in
            guard try Self.datasetExists(db, id: id, organizationID: organizationID) else { return nil }
            let ids = Self.idsWhere(organizationID: organizationID, ids: binaryIDs)
            try db.execute(
                sql: "INSERT OR IGNORE INTO dataset_members (dataset_id, binary_id) SELECT ?, id FROM binary_data WHERE \(ids.sql)",
                arguments: [id] + ids.arguments)
            return db.changesCount
        }
    }

    public func removeFromDataset(id: String, organizationID: String, binaryIDs: [String]) async throws -> Int? {
        try StoreChecks.validate(datasetIDs: [id])
        try StoreChecks.validate(ids: binaryIDs)
        return try await write("removing binary data from dataset \(id)") { db in
            guard try Self.datasetExists(db, id: id, organizationID: organizationID) else { return nil }
            try db.execute(
                sql: "DELETE FROM dataset_members WHERE dataset_id = ? AND binary_id IN (SELECT value FROM json_each(?))",
                arguments: [id, ReadingEncoding.tagsJSON(binaryIDs)])
            return db.changesCount
        }
    }

    /// Puts a newly stored payload into those of its metadata's datasets its organisation has;
    /// returns their ids, sorted.
    static func addUploadToDatasets(_ db: Database, binaryID: String, metadata: BinaryMetadata) throws -> [String] {
        guard !metadata.datasetIDs.isEmpty else { return [] }
        let known = try String.fetchAll(
            db, sql: "SELECT id FROM datasets WHERE organization_id = ? AND id IN (SELECT value FROM json_each(?)) ORDER BY id",
            arguments: [metadata.organizationID, ReadingEncoding.tagsJSON(metadata.datasetIDs)])
        for datasetID in known {
            try db.execute(sql: "INSERT OR IGNORE INTO dataset_members (dataset_id, binary_id) VALUES (?, ?)", arguments: [datasetID, binaryID])
        }
        return known
    }

    // MARK: Rows

    static let datasetColumns = "id, name, organization_id, created_at"

    static func dataset(_ row: Row) -> Dataset {
        Dataset(id: row[0], name: row[1], organizationID: row[2], createdAt: row[3])
    }

    private static func datasets(_ db: Database, organizationID: String, ids: [String]) throws -> [Dataset] {
        try Row.fetchAll(
            db, sql: "SELECT \(datasetColumns) FROM datasets WHERE organization_id = ? AND id IN (SELECT value FROM json_each(?))",
            arguments: [organizationID, ReadingEncoding.tagsJSON(ids)]
        ).map(dataset)
    }

    private static func datasetExists(_ db: Database, id: String, organizationID: String) throws -> Bool {
        try Bool.fetchOne(
            db, sql: "SELECT EXISTS (SELECT 1 FROM datasets WHERE organization_id = ? AND id = ?)", arguments: [organizationID, id]) ?? false
    }

    private static func requireFreeName(_ db: Database, _ name: String, organizationID: String, except id: String? = nil) throws {
        let taken = try Bool.fetchOne(
            db, sql: "SELECT EXISTS (SELECT 1 FROM datasets WHERE organization_id = ? AND name = ? AND id IS NOT ?)",
            arguments: [organizationID, name, id]) ?? false
        if taken { throw StoreChecks.duplicateDatasetName(name, organizationID: organizationID) }
    }

    private static func insert(_ db: Database, _ dataset: Dataset) throws {
        try requireFreeName(db, dataset.name, organizationID: dataset.organizationID)
        try db.execute(
            sql: "INSERT INTO datasets (id, organization_id, name, created_at) VALUES (?, ?, ?, ?)",
            arguments: [dataset.id, dataset.organizationID, dataset.name, dataset.createdAt])
    }
}
