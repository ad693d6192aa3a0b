import FerryBSON
import FerryCaptureFile
import FerryMQL
import FerryStore
import Foundation
import GRPCCore
import ViamProtos

/// Runs an MQL query against the store: a leading `$match` on stored columns becomes SQL (with
/// indexes); whatever it could not express, and every later stage, runs in the MQL engine.
public struct QueryRunner: Sendable {
    /// Where a query reads: Viam's TabularDataSourceType.
    public enum Source: Sendable, Equatable {
        case standard, hotStorage
        case pipelineSink(String)
    }

    let store: any ReadingStore
    let operators: MQLOperatorRegistry

    public init(store: any ReadingStore, operators: MQLOperatorRegistry) {
        self.store = store
        self.operators = operators
    }

    /// A request's `mql_binary`: one BSON document per stage.
    static func stages(_ mqlBinary: [Data]) throws -> [BSONDocument] {
        try mqlBinary.enumerated().map { index, bytes in
            do {
                return try BSONDocument(bytes: [UInt8](bytes))
            } catch {
                throw RPCError(code: .invalidArgument, message: "mql_binary[\(index)] is not a BSON document: \(error)")
            }
        }
    }

    static func source(_ proto: Viam_App_Data_V1_TabularDataSource, preferHotStorage: Bool) throws -> Source {
        switch proto.type {
        case .pipelineSink:
            guard proto.hasPipelineID, !proto.pipelineID.isEmpty else {
                throw RPCError(code: .invalidArgument, message: "data_source PIPELINE_SINK needs a pipeline_id")
            }
            return .pipelineSink(proto.pipelineID)
        case .hotStorage: return .hotStorage
        case .standard, .unspecified: return preferHotStorage ? .hotStorage : .standard
        case .UNRECOGNIZED(let value):
            throw RPCError(code: .invalidArgument, message: "data_source type \(value) is not STANDARD, HOT_STORAGE or PIPELINE_SINK")
        }
    }

    /// Runs `stages` over the organisation's data; errors are RPCErrors with clear messages.
    public func mql(_ stages: [BSONDocument], organizationID: String, source: Source) async throws -> [BSONDocument] {
        let pipeline: MQLPipeline
        do {
            pipeline = try MQLPipeline(stages: stages, registry: operators)
        } catch let error as MQLError {
            throw RPCError(code: .invalidArgument, message: "invalid MQL pipeline: \(error)")
        }
        do {
            switch source {
            case .pipelineSink(let pipelineID):
                let documents = try await store.sinkDocuments(
                    organizationID: organizationID, pipelineID: pipelineID, window: nil, limit: nil)
                return try pipeline.run(documents)
            case .hotStorage:
                return try await runOverReadings(pipeline, stages, organizationID: organizationID, source: .hotStorage)
            case .standard:
                return try await runOverReadings(pipeline, stages, organizationID: organizationID, source: .standard)
            }
        } catch let error as MQLError {
            throw RPCError(code: .invalidArgument, message: "MQL pipeline failed: \(error)")
        } catch let error as StoreError {
            throw RPCError(error)
        }
    }

    private func runOverReadings(
        _ pipeline: MQLPipeline, _ stages: [BSONDocument], organizationID: String, source: ReadingSource
    ) async throws -> [BSONDocument] {
        let leadingMatches = stages.prefix { $0.count == 1 && $0.keys.first == "$match" }.count
        guard leadingMatches > 0, let match = pipeline.leadingMatch else {
            let documents = try await store.readings(
                organizationID: organizationID, source: source, filter: .all, sortByTimeDescending: false, limit: nil)
            return try pipeline.run(documents)
        }
        let (filter, residual) = MatchPushdown.split(match)
        let documents = try await store.readings(
            organizationID: organizationID, source: source, filter: filter, sortByTimeDescending: false, limit: nil)
        let rest = try pipeline.droppingLeadingStages(leadingMatches)
        guard let residual else { return try rest.run(documents) }
        let residualStage = try MQLPipeline(stages: [["$match": .document(residual)]], registry: operators)
        return try rest.run(try residualStage.run(documents))
    }
}

/// One stored reading as an ExportTabularData row.
enum ExportRow {
    static func make(_ document: BSONDocument) -> Viam_App_Data_V1_ExportTabularDataResponse {
        var row = Viam_App_Data_V1_ExportTabularDataResponse()
        row.organizationID = document["organization_id"]?.stringValue ?? ""
        row.locationID = document["location_id"]?.stringValue ?? ""
        row.robotID = document["robot_id"]?.stringValue ?? ""
        row.partID = document["part_id"]?.stringValue ?? ""
        row.resourceSubtype = document["component_type"]?.stringValue ?? ""
        row.resourceName = document["component_name"]?.stringValue ?? ""
        row.methodName = document["method_name"]?.stringValue ?? ""
        if case .datetime(let ms)? = document["time_received"] {
            row.timeCaptured = .init(seconds: ms / 1000, nanos: Int32(ms % 1000) * 1_000_000)
        }
        row.tags = (document["tags"]?.arrayValue ?? []).compactMap(\.stringValue)
        if let parameters = document["additional_parameters"]?.documentValue {
            row.methodParameters = StructConversion.struct(from: parameters)
        }
        if let data = document["data"]?.documentValue { row.payload = StructConversion.struct(from: data) }
        return row
    }
}
