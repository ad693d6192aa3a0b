import FerryQuery
import FerryStore

/// What a database user can read: Viam's `sensorData` database with its `readings`, the hot
/// storage window as `hot_readings`, and each of the organisation's pipelines' results as
/// `sink-<pipeline id>` (Viam's name for a pipeline's sink collection).
enum Namespace {
    static let database = "sensorData"
    static let readings = "readings"
    static let hotReadings = "hot_readings"
    static let sinkPrefix = "sink-"

    /// The source behind `collection` of `database`, or nil when there is no such collection for
    /// this organisation (MongoDB then answers as for an empty collection).
    static func source(database: String, collection: String, organizationID: String, store: any DataStore) async throws
        -> QuerySource?
    {
        guard database == Self.database else { return nil }
        switch collection {
        case readings: return .standard
        case hotReadings: return .hotStorage
        default:
            guard collection.hasPrefix(sinkPrefix) else { return nil }
            let pipelineID = String(collection.dropFirst(sinkPrefix.count))
            guard let pipeline = try await store.pipeline(id: pipelineID), pipeline.organizationID == organizationID else { return nil }
            return .pipelineSink(pipelineID)
        }
    }

    /// The organisation's collections, for listCollections.
    static func collections(organizationID: String, store: any DataStore) async throws -> [String] {
        let sinks = try await store.pipelines(organizationID: organizationID).map { sinkPrefix + $0.id }
        return [readings, hotReadings] + sinks
    }
}
