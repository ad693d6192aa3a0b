import FerryStore
import Foundation
import PostgresNIO

/// Datasets and their members. Names are unique by the table's constraint: a clash (also between
/// replicas creating the same name at once) is reported as `.alreadyExists`.
extension PostgresStore {
    public func createDataset(name: String, organizationID: String) async throws -> Dataset {
        try StoreChecks.validate(datasetName: name)
        let dataset = Dataset.new(name: name, organizationID: organizationID)
        let logger = self.logger
        return try await transaction("creating dataset \(name.debugDescription)") { connection in
            try await Self.insert(connection, dataset, logger: logger)
            return dataset
        }
    }

    public func datasets(organizationID: String) async throws -> [Dataset] {
        try await rows(
            "listing datasets of organisation \(organizationID)",
            """
            SELECT id, name, organization_id, created_at FROM datasets WHERE organization_id = \(organizationID)
            ORDER BY created_at, id COLLATE "C"
            """
        ).map(Self.dataset)
    }

    public func datasets(organizationID: String, ids: [String]) async throws -> [Dataset] {
        try StoreChecks.validate(datasetIDs: ids)
        let found = try await rows(
            "looking up datasets by id",
            "SELECT id, name, organization_id, created_at FROM datasets WHERE organization_id = \(organizationID) AND id = ANY(\(ids))"
        ).map(Self.dataset)
        return DatasetIDs.inRequestOrder(found, ids: ids)
    }

    public func renameDataset(id: String, name: String, organizationID: String) async throws -> Bool {
        try StoreChecks.validate(datasetName: name)
        try StoreChecks.validate(datasetIDs: [id])
        let logger = self.logger
        return try await transaction("renaming dataset \(id)") { connection in
            let renamed = try await Self.uniqueName(name, organizationID: organizationID) {
                try await connection.query(
                    "UPDATE datasets SET name = \(name) WHERE organization_id = \(organizationID) AND id = \(id) RETURNING 1", logger: logger
                ).collect()
            }
            return !renamed.isEmpty
        }
    }

    public func deleteDataset(id: String, organizationID: String) async throws -> Bool {
        try StoreChecks.validate(datasetIDs: [id])
        // Its memberships go by the foreign key's cascade; the payloads stay.
        let deleted = try await rows(
            "deleting dataset \(id)", "DELETE FROM datasets WHERE organization_id = \(organizationID) AND id = \(id) RETURNING 1")
        return !deleted.isEmpty
    }

    public func mergeDatasets(ids: [String], name: String, organizationID: String) async throws -> Dataset {
        try StoreChecks.validate(datasetName: name)
        try StoreChecks.validate(datasetIDs: ids)
        guard !ids.isEmpty else { throw StoreError.invalid("give the ids of the datasets to merge") }
        let merged = Dataset.new(name: name, organizationID: organizationID)
        let logger = self.logger
        return try await transaction("merging datasets into \(name.debugDescription)") { connection in
            // Locks the sources, so none is deleted while its members are copied.
            let found = Set(
                try await connection.query(
                    "SELECT id FROM datasets WHERE organization_id = \(organizationID) AND id = ANY(\(ids)) FOR SHARE", logger: logger
                ).collect().map { try $0.decode(String.self) })
            let missing = ids.filter { !found.contains($0) }
            guard missing.isEmpty else { throw StoreChecks.noSuchDatasets(missing, organizationID: organizationID) }
            try await Self.insert(connection, merged, logger: logger)
            try await connection.query(
                """
                INSERT INTO dataset_members (dataset_id, binary_id)
                SELECT DISTINCT \(merged.id), binary_id FROM dataset_members WHERE dataset_id = ANY(\(ids))
                ON CONFLICT DO NOTHING
                """, logger: logger)
            return merged
        }
    }

    public func addToDataset(id: String, organizationID: String, binaryIDs: [String]) async throws -> Int? {
        try StoreChecks.validate(datasetIDs: [id])
        try StoreChecks.validate(ids: binaryIDs)
        // One statement: the dataset's row is locked while members are added, so a concurrent delete
        // either happens before (nothing added) or after (the members go with it).
        let row = try await rows(
            "adding binary data to dataset \(id)",
            """
            WITH target AS (
                SELECT id FROM datasets WHERE organization_id = \(organizationID) AND id = \(id) FOR SHARE
            ), added AS (
                INSERT INTO dataset_members (dataset_id, binary_id)
                SELECT target.id, b.id FROM target, binary_data b WHERE b.organization_id = \(organizationID) AND b.id = ANY(\(binaryIDs))
                ON CONFLICT DO NOTHING RETURNING 1
            )
            SELECT (SELECT count(*) FROM target), (SELECT count(*) FROM added)
            """
        ).first
        guard let (exists, added) = try row?.decode((Int64, Int64).self), exists > 0 else { return nil }
        return Int(added)
    }

    public func removeFromDataset(id: String, organizationID: String, binaryIDs: [String]) async throws -> Int? {
        try StoreChecks.validate(datasetIDs: [id])
        try StoreChecks.validate(ids: binaryIDs)
        let row = try await rows(
            "removing binary data from dataset \(id)",
            """
            WITH target AS (
                SELECT id FROM datasets WHERE organization_id = \(organizationID) AND id = \(id)
            ), removed AS (
                DELETE FROM dataset_members m USING target WHERE m.dataset_id = target.id AND m.binary_id = ANY(\(binaryIDs))
                RETURNING 1
            )
            SELECT (SELECT count(*) FROM target), (SELECT count(*) FROM removed)
            """
        ).first
        guard let (exists, removed) = try row?.decode((Int64, Int64).self), exists > 0 else { return nil }
        return Int(removed)
    }

    // MARK: Rows

    static func dataset(_ row: PostgresRow) throws -> Dataset {
        let (id, name, organizationID, createdAt) = try row.decode((String, String, String, Int64).self)
        return Dataset(id: id, name: name, organizationID: organizationID, createdAt: createdAt)
    }

    private static func insert(_ connection: PostgresConnection, _ dataset: Dataset, logger: Logger) async throws {
        let inserted = try await uniqueName(dataset.name, organizationID: dataset.organizationID) {
            try await connection.query(
                """
                INSERT INTO datasets (id, organization_id, name, created_at)
                SELECT \(dataset.id), \(dataset.organizationID), \(dataset.name), \(dataset.createdAt)
                WHERE EXISTS (SELECT 1 FROM organizations WHERE id = \(dataset.organizationID))
                RETURNING 1
                """, logger: logger
            ).collect()
        }
        if inserted.isEmpty { throw StoreChecks.noSuchOrganization(dataset.organizationID) }
    }

    /// Runs `body`, reporting a clash with the unique (organisation, name) constraint as the duplicate name.
    private static func uniqueName<T>(_ name: String, organizationID: String, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23505" {
            throw StoreChecks.duplicateDatasetName(name, organizationID: organizationID)
        }
    }
}
