import FerryBSON
import FerryMQL
import FerryPipelines
import FerryStore
import Foundation
import GRPCCore
import SwiftProtobuf
import ViamGRPC
import ViamProtos

/// `viam.app.datapipelines.v1.DataPipelinesService`, every RPC. Owners create, rename, delete,
/// enable and disable; any key of the organisation may get, list and list runs. The work is
/// `PipelineManager`'s, shared with `ferry pipelines`; `changed` wakes the scheduler.
struct DataPipelinesServiceImpl: Viam_App_Datapipelines_V1_DataPipelinesService.SimpleServiceProtocol {
    let manager: PipelineManager
    let changed: @Sendable () async -> Void

    func getDataPipeline(request: Viam_App_Datapipelines_V1_GetDataPipelineRequest, context: ServerContext) async throws
        -> Viam_App_Datapipelines_V1_GetDataPipelineResponse
    {
        let caller = try Caller.require(.viewer, to: "reading a data pipeline")
        return try await mapped {
            var response = Viam_App_Datapipelines_V1_GetDataPipelineResponse()
            response.dataPipeline = Self.proto(try await manager.get(organizationID: caller.organizationID, id: request.id))
            return response
        }
    }

    func listDataPipelines(request: Viam_App_Datapipelines_V1_ListDataPipelinesRequest, context: ServerContext) async throws
        -> Viam_App_Datapipelines_V1_ListDataPipelinesResponse
    {
        let caller = try Caller.require(.viewer, to: "listing data pipelines")
        try Caller.requireOrganization(request.organizationID, caller)
        return try await mapped {
            var response = Viam_App_Datapipelines_V1_ListDataPipelinesResponse()
            response.dataPipelines = try await manager.list(organizationID: caller.organizationID).map(Self.proto)
            return response
        }
    }

    func createDataPipeline(request: Viam_App_Datapipelines_V1_CreateDataPipelineRequest, context: ServerContext) async throws
        -> Viam_App_Datapipelines_V1_CreateDataPipelineResponse
    {
        let caller = try Caller.require(.owner, to: "creating a data pipeline")
        try Caller.requireOrganization(request.organizationID, caller)
        let stages = try QueryRunner.stages(request.mqlBinary)
        let source: PipelineSource =
            switch request.hasDataSourceType ? request.dataSourceType : .standard {
            case .hotStorage: .hotStorage
            case .standard, .unspecified: .standard
            case .pipelineSink, .UNRECOGNIZED:
                throw RPCError(
                    code: .invalidArgument,
                    message: "data_source_type must be STANDARD or HOT_STORAGE (a pipeline reading another pipeline's sink is created with `ferry pipelines create --data-source-type pipeline-sink`)")
            }
        let record = try await mapped {
            try await manager.create(
                organizationID: caller.organizationID, name: request.name, schedule: request.schedule, stages: stages,
                enableBackfill: request.hasEnableBackfill ? request.enableBackfill : false, source: source)
        }
        await changed()
        var response = Viam_App_Datapipelines_V1_CreateDataPipelineResponse()
        response.id = record.id
        return response
    }

    func renameDataPipeline(request: Viam_App_Datapipelines_V1_RenameDataPipelineRequest, context: ServerContext) async throws
        -> Viam_App_Datapipelines_V1_RenameDataPipelineResponse
    {
        let caller = try Caller.require(.owner, to: "renaming a data pipeline")
        _ = try await mapped { try await manager.rename(organizationID: caller.organizationID, id: request.id, name: request.name) }
        return Viam_App_Datapipelines_V1_RenameDataPipelineResponse()
    }

    func deleteDataPipeline(request: Viam_App_Datapipelines_V1_DeleteDataPipelineRequest, context: ServerContext) async throws
        -> Viam_App_Datapipelines_V1_DeleteDataPipelineResponse
    {
        let caller = try Caller.require(.owner, to: "deleting a data pipeline")
        try await mapped { try await manager.delete(organizationID: caller.organizationID, id: request.id) }
        await changed()
        return Viam_App_Datapipelines_V1_DeleteDataPipelineResponse()
    }

    func enableDataPipeline(request: Viam_App_Datapipelines_V1_EnableDataPipelineRequest, context: ServerContext) async throws
        -> Viam_App_Datapipelines_V1_EnableDataPipelineResponse
    {
        let caller = try Caller.require(.owner, to: "enabling a data pipeline")
        _ = try await mapped { try await manager.setEnabled(organizationID: caller.organizationID, id: request.id, enabled: true) }
        await changed()
        return Viam_App_Datapipelines_V1_EnableDataPipelineResponse()
    }

    func disableDataPipeline(request: Viam_App_Datapipelines_V1_DisableDataPipelineRequest, context: ServerContext) async throws
        -> Viam_App_Datapipelines_V1_DisableDataPipelineResponse
    {
        let caller = try Caller.require(.owner, to: "disabling a data pipeline")
        _ = try await mapped { try await manager.setEnabled(organizationID: caller.organizationID, id: request.id, enabled: false) }
        await changed()
        return Viam_App_Datapipelines_V1_DisableDataPipelineResponse()
    }

    func listDataPipelineRuns(request: Viam_App_Datapipelines_V1_ListDataPipelineRunsRequest, context: ServerContext)
        async throws -> Viam_App_Datapipelines_V1_ListDataPipelineRunsResponse
    {
        let caller = try Caller.require(.viewer, to: "listing data pipeline runs")
        return try await mapped {
            let pipeline = try await manager.get(organizationID: caller.organizationID, id: request.id)
            let page = try await manager.runs(
                organizationID: caller.organizationID, id: request.id, pageSize: Int(request.pageSize),
                pageToken: request.pageToken)
            var response = Viam_App_Datapipelines_V1_ListDataPipelineRunsResponse()
            response.pipelineID = request.id
            response.runs = page.runs.map { Self.proto($0, source: pipeline.source) }
            response.nextPageToken = page.nextPageToken ?? ""
            return response
        }
    }

    // MARK: Mapping

    /// Runs `body`, turning pipeline and store errors into gRPC statuses with their messages.
    private func mapped<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await storeCall(body)
        } catch let error as PipelineError {
            let code: RPCError.Code =
                switch error.kind {
                case .invalidArgument: .invalidArgument
                case .notFound: .notFound
                case .conflict: .aborted
                }
            throw RPCError(code: code, message: error.message)
        }
    }

    static func timestamp(_ ms: Int64) -> Google_Protobuf_Timestamp {
        let seconds = ms >= 0 ? ms / 1000 : (ms - 999) / 1000
        return Google_Protobuf_Timestamp(seconds: seconds, nanos: Int32((ms - seconds * 1000) * 1_000_000))
    }

    static func sourceType(_ source: PipelineSource) -> Viam_App_Data_V1_TabularDataSourceType {
        switch source {
        case .standard: .standard
        case .hotStorage: .hotStorage
        case .pipelineSink: .pipelineSink
        }
    }

    static func proto(_ pipeline: PipelineRecord) -> Viam_App_Datapipelines_V1_DataPipeline {
        var message = Viam_App_Datapipelines_V1_DataPipeline()
        message.id = pipeline.id
        message.organizationID = pipeline.organizationID
        message.name = pipeline.name
        message.mqlBinary = pipeline.stages.map { Data($0.encode()) }
        message.schedule = pipeline.schedule
        message.enabled = pipeline.enabled
        message.createdOn = timestamp(pipeline.createdAt)
        message.updatedAt = timestamp(pipeline.updatedAt)
        message.dataSourceType = sourceType(pipeline.source)
        return message
    }

    static func proto(_ run: PipelineRunRecord, source: PipelineSource) -> Viam_App_Datapipelines_V1_DataPipelineRun {
        var message = Viam_App_Datapipelines_V1_DataPipelineRun()
        message.id = run.id
        if let started = run.startedAt { message.startTime = timestamp(started) }
        if let ended = run.endedAt { message.endTime = timestamp(ended) }
        message.dataStartTime = timestamp(run.window.start)
        message.dataEndTime = timestamp(run.window.end)
        message.status =
            switch run.status {
            case .scheduled: .scheduled
            case .started: .started
            case .completed: .completed
            case .failed: .failed
            }
        message.errorMessage = run.errorMessage ?? ""
        message.dataSourceType = sourceType(source)
        return message
    }
}
