import FerryBSON
import Foundation

/// A named MQL pipeline of an organisation (Viam's saved query). TabularDataByMQL's
/// `query_prefix_name` runs its stages before the caller's.
public struct SavedQuery: Sendable, Hashable {
    /// A UUID string.
    public var id: String
    public var organizationID: String
    /// Unique in the organisation (`query_prefix_name` finds it by name).
    public var name: String
    public var stages: [BSONDocument]
    /// Milliseconds since the Unix epoch, UTC.
    public var createdAt: Int64
    public var updatedAt: Int64

    public init(id: String, organizationID: String, name: String, stages: [BSONDocument], createdAt: Int64, updatedAt: Int64) {
        self.id = id
        self.organizationID = organizationID
        self.name = name
        self.stages = stages
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// A new saved query's record: a fresh id, created now.
    package static func new(name: String, organizationID: String, stages: [BSONDocument], now: Date = Date()) -> SavedQuery {
        let ms = Int64((now.timeIntervalSince1970 * 1000).rounded(.down))
        return SavedQuery(id: UUID().uuidString.lowercased(), organizationID: organizationID, name: name, stages: stages, createdAt: ms, updatedAt: ms)
    }

    /// The stages as stored: canonical Extended JSON of an array of documents, which keeps every BSON type.
    package var stagesJSON: String { BSON.array(stages.map(BSON.document)).extendedJSON(.canonical) }

    package static func stages(json: String) throws -> [BSONDocument] {
        guard case .array(let values) = try BSON(extendedJSON: json) else {
            throw StoreError(.storage, "a stored saved query is not an array of stages")
        }
        return try values.map { value in
            guard case .document(let stage) = value else { throw StoreError(.storage, "a stored saved query has a stage that is not a document") }
            return stage
        }
    }
}

/// Saved queries, always within one organisation: an id of another organisation is unknown.
public protocol SavedQueryStore: Sendable {
    /// `.alreadyExists` when the organisation has a saved query of that name, `.notFound` when the
    /// organisation does not exist.
    func createSavedQuery(_ query: SavedQuery) async throws
    func savedQuery(id: String, organizationID: String) async throws -> SavedQuery?
    func savedQuery(named name: String, organizationID: String) async throws -> SavedQuery?
    /// The organisation's saved queries, oldest first, at most `limit` when given.
    func savedQueries(organizationID: String, limit: Int?) async throws -> [SavedQuery]
    /// Replaces its name and stages (`updatedAt` = now); false when there is no such query,
    /// `.alreadyExists` when another of the organisation's queries has the name.
    func updateSavedQuery(id: String, organizationID: String, name: String, stages: [BSONDocument], updatedAt: Int64) async throws -> Bool
    func deleteSavedQuery(id: String, organizationID: String) async throws -> Bool
}

extension StoreChecks {
    package static let maxSavedQueryNameLength = 100
    package static let maxSavedQueryStages = 100

    package static func validate(savedQueryName name: String, stages: [BSONDocument]) throws {
        guard !name.isEmpty, name.count <= maxSavedQueryNameLength else {
            throw StoreError.invalid("a saved query's name has 1 to \(maxSavedQueryNameLength) characters (got \(name.count))")
        }
        if name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
            throw StoreError.invalid("the saved query name \(name.debugDescription) contains a control character; remove it")
        }
        guard !stages.isEmpty else { throw StoreError.invalid("a saved query needs at least one MQL stage") }
        guard stages.count <= maxSavedQueryStages else {
            throw StoreError.invalid("a saved query has at most \(maxSavedQueryStages) stages (got \(stages.count))")
        }
    }

    package static func duplicateSavedQueryName(_ name: String, organizationID: String) -> StoreError {
        StoreError(
            .alreadyExists,
            "organization \(organizationID) already has a saved query named \(name.debugDescription); choose another name or update that one")
    }
}
