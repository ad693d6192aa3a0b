import FerryBSON
import FerryCaptureFile
import FerryMQL
import FerryQuery
import FerryStore
import Foundation
import GRPCCore
import Tracing
import ViamProtos

/// Runs an MQL query against the store for the gRPC API and the CLI: `StoreQuery` (FerryQuery)
/// plans the pushdown and runs it; this maps its failures to gRPC statuses with clear messages.
public struct QueryRunner: Sendable {
    /// Where a query reads: Viam's TabularDataSourceType.
    public typealias Source = QuerySource

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
        let query: StoreQuery
        do {
            query = try StoreQuery(stages: stages, operators: operators)
        } catch let error as MQLError {
            throw RPCError(code: .invalidArgument, message: "invalid MQL pipeline: \(error)")
        }
        do {
            return try await withSpan("mql query") { span in
                span.attributes["ferry.stages"] = stages.count
                let results = try await query.run(on: store, organizationID: organizationID, source: source)
                span.attributes["ferry.results"] = results.count
                return results
            }
        } catch let error as MQLError {
            throw RPCError(code: .invalidArgument, message: "MQL pipeline failed: \(error)")
        } catch let error as StoreError {
            throw RPCError(error)
        }
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
