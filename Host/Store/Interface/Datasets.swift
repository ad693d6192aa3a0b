import Foundation

/// A named collection of an organisation's binary payloads (Viam's dataset of binary data). A
/// payload may be in any number of datasets; deleting a dataset leaves its payloads alone, and
/// deleting a payload takes it out of its datasets.
public struct Dataset: Sendable, Hashable {
    /// A UUID string.
    public var id: String
    /// Unique in the organisation.
    public var name: String
    public var organizationID: String
    /// Milliseconds since the Unix epoch, UTC.
    public var createdAt: Int64

    public init(id: String, name: String, organizationID: String, createdAt: Int64) {
        self.id = id
        self.name = name
        self.organizationID = organizationID
        self.createdAt = createdAt
    }

    /// A new dataset's record: a fresh id, created now.
    package static func new(name: String, organizationID: String, now: Date = Date()) -> Dataset {
        Dataset(
            id: UUID().uuidString.lowercased(), name: name, organizationID: organizationID,
            createdAt: Int64((now.timeIntervalSince1970 * 1000).rounded(.down)))
    }
}

/// Datasets and their members, always within one organisation: a dataset or payload id of another
/// organisation is treated as unknown.
public protocol DatasetStore: Sendable {
    /// Creates an empty dataset. Fails with `.alreadyExists` when the organisation has a dataset of
    /// that name, `.notFound` when the organisation does not exist.
    func createDataset(name: String, organizationID: String) async throws -> Dataset
    /// The organisation's datasets, oldest first.
    func datasets(organizationID: String) async throws -> [Dataset]
    /// Those of `ids` the organisation has, in the order of `ids` (each once).
    func datasets(organizationID: String, ids: [String]) async throws -> [Dataset]
    /// Renames a dataset; false when the organisation has no such dataset. `.alreadyExists` when
    /// another of its datasets has the name.
    func renameDataset(id: String, name: String, organizationID: String) async throws -> Bool
    /// Deletes a dataset and its memberships, never the payloads; false when there is no such dataset.
    func deleteDataset(id: String, organizationID: String) async throws -> Bool
    /// A new dataset named `name` holding every payload of the datasets `ids` (which stay as they
    /// are). `.notFound` when one of `ids` is not the organisation's, `.alreadyExists` as for create.
    func mergeDatasets(ids: [String], name: String, organizationID: String) async throws -> Dataset
    /// Puts those of `binaryIDs` the organisation has into the dataset; returns how many were not
    /// in it before, or nil when the organisation has no such dataset.
    func addToDataset(id: String, organizationID: String, binaryIDs: [String]) async throws -> Int?
    /// Takes the payloads out of the dataset; returns how many were in it, or nil as above.
    func removeFromDataset(id: String, organizationID: String, binaryIDs: [String]) async throws -> Int?
}

extension StoreChecks {
    /// Longest dataset name, in characters.
    package static let maxDatasetNameLength = 100

    /// Dataset names as Viam takes them: letters, digits, '-' and '_' (no spaces), at most 100 characters.
    package static func validate(datasetName name: String) throws {
        guard !name.isEmpty else { throw StoreError.invalid("a dataset needs a name") }
        guard name.count <= maxDatasetNameLength else {
            throw StoreError.invalid("the dataset name \(name.prefix(20).debugDescription)… has \(name.count) characters; at most \(maxDatasetNameLength) are allowed")
        }
        guard let bad = name.unicodeScalars.first(where: { !($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "-" || $0 == "_") }) else {
            return
        }
        throw StoreError.invalid(
            "the dataset name \(name.debugDescription) contains \(String(bad).debugDescription); use letters, digits, '-' and '_'")
    }

    package static func validate(datasetIDs ids: [String]) throws {
        guard ids.count <= maxIDsPerCall else {
            throw StoreError.invalid("at most \(maxIDsPerCall) dataset ids per call (got \(ids.count)); split the call")
        }
        for id in ids { try validate(text: id, what: "the dataset id \(id.debugDescription)") }
    }

    package static func duplicateDatasetName(_ name: String, organizationID: String) -> StoreError {
        StoreError(
            .alreadyExists,
            "organisation \(organizationID) already has a dataset named \(name.debugDescription); dataset names are unique per organisation: choose another name")
    }

    package static func noSuchDatasets(_ ids: [String], organizationID: String) -> StoreError {
        StoreError(.notFound, "organisation \(organizationID) has no dataset \(ids.map(\.debugDescription).joined(separator: ", "))")
    }
}

package enum DatasetIDs {
    /// The datasets of `ids` that were found, in the order of `ids`, each once.
    package static func inRequestOrder(_ found: [Dataset], ids: [String]) -> [Dataset] {
        let byID = Dictionary(found.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        var seen = Set<String>()
        return ids.compactMap { id in seen.insert(id).inserted ? byID[id] : nil }
    }
}
