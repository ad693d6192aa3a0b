import FerryBSON
import FerryIngest
import FerryMQL
import FerryStore
import Foundation
import GRPCCore
import GRPCProtobuf
import SwiftProtobuf
import ViamGRPC
import ViamProtos

/// The part of `viam.app.data.v1.DataService` Ferry serves: TabularDataByMQL, TabularDataBySQL,
/// ExportTabularData, the MongoDB endpoint's ConfigureDatabaseUser and GetDatabaseConnection, and the
/// binary-data and deletion RPCs of `DataServiceImpl+Binary`, TabularDataByFilter and GetLatestTabularData, custom
/// indexes (`+Indexes`) and saved queries (`+SavedQueries`). The other methods answer UNIMPLEMENTED (grpc-swift does that for methods
/// nobody registered).
struct DataServiceImpl: RegistrableRPCService {
    typealias Service = Viam_App_Data_V1_DataService
    let store: any ReadingStore
    let operators: MQLOperatorRegistry
    /// Where signed download URLs point and what signs them; nil when no download listener runs.
    var downloads: (endpoint: DownloadEndpoint, signer: DownloadURLSigner)? = nil

    func registerMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
        router.registerHandler(
            forMethod: Service.Method.TabularDataByMQL.descriptor,
            deserializer: ProtobufDeserializer<Viam_App_Data_V1_TabularDataByMQLRequest>(),
            serializer: ProtobufSerializer<Viam_App_Data_V1_TabularDataByMQLResponse>()
        ) { request, context in
            let message = try await ServerRequest(stream: request).message
            return StreamingServerResponse(single: ServerResponse(message: try await tabularDataByMQL(message)))
        }
        router.registerHandler(
            forMethod: Service.Method.TabularDataBySQL.descriptor,
            deserializer: ProtobufDeserializer<Viam_App_Data_V1_TabularDataBySQLRequest>(),
            serializer: ProtobufSerializer<Viam_App_Data_V1_TabularDataBySQLResponse>()
        ) { request, context in
            let message = try await ServerRequest(stream: request).message
            return StreamingServerResponse(single: ServerResponse(message: try await tabularDataBySQL(message)))
        }
        router.registerHandler(
            forMethod: Service.Method.ConfigureDatabaseUser.descriptor,
            deserializer: ProtobufDeserializer<Viam_App_Data_V1_ConfigureDatabaseUserRequest>(),
            serializer: ProtobufSerializer<Viam_App_Data_V1_ConfigureDatabaseUserResponse>()
        ) { request, context in
            let message = try await ServerRequest(stream: request).message
            return StreamingServerResponse(single: ServerResponse(message: try await configureDatabaseUser(message)))
        }
        router.registerHandler(
            forMethod: Service.Method.GetDatabaseConnection.descriptor,
            deserializer: ProtobufDeserializer<Viam_App_Data_V1_GetDatabaseConnectionRequest>(),
            serializer: ProtobufSerializer<Viam_App_Data_V1_GetDatabaseConnectionResponse>()
        ) { request, context in
            let message = try await ServerRequest(stream: request).message
            return StreamingServerResponse(single: ServerResponse(message: try await getDatabaseConnection(message)))
        }
        router.registerHandler(
            forMethod: Service.Method.ExportTabularData.descriptor,
            deserializer: ProtobufDeserializer<Viam_App_Data_V1_ExportTabularDataRequest>(),
            serializer: ProtobufSerializer<Viam_App_Data_V1_ExportTabularDataResponse>()
        ) { request, context in
            let message = try await ServerRequest(stream: request).message
            // Task locals do not reach the response producer: resolve the caller here.
            let caller = try Caller.require(.viewer, to: "exporting data")
            return StreamingServerResponse { writer in
                try await exportTabularData(message, caller: caller) { try await writer.write($0) }
                return [:]
            }
        }
        registerBinaryMethods(with: &router)
        registerLabelMethods(with: &router)
        registerSignedURLMethods(with: &router)
        registerTabularMethods(with: &router)
        registerIndexMethods(with: &router)
        registerSavedQueryMethods(with: &router)
    }

    func tabularDataByMQL(_ request: Viam_App_Data_V1_TabularDataByMQLRequest) async throws -> Viam_App_Data_V1_TabularDataByMQLResponse {
        let caller = try Caller.require(.viewer, to: "querying data")
        try Caller.requireOrganization(request.organizationID, caller)
        let start = ContinuousClock.now
        defer { ServerMetrics.query("mql", since: start) }
        let stages = try await stagesWithPrefix(
            try QueryRunner.stages(request.mqlBinary), prefix: request.hasQueryPrefixName ? request.queryPrefixName : nil, caller: caller)
        let source = try QueryRunner.source(
            request.hasDataSource ? request.dataSource : Viam_App_Data_V1_TabularDataSource(),
            preferHotStorage: request.hasUseRecentData && request.useRecentData)
        let results = try await QueryRunner(store: store, operators: operators).mql(
            stages, organizationID: caller.organizationID, source: source)
        var response = Viam_App_Data_V1_TabularDataByMQLResponse()
        response.rawData = results.map { Data($0.encode()) }
        return response
    }

    func tabularDataBySQL(_ request: Viam_App_Data_V1_TabularDataBySQLRequest) async throws -> Viam_App_Data_V1_TabularDataBySQLResponse {
        let caller = try Caller.require(.viewer, to: "querying data")
        try Caller.requireOrganization(request.organizationID, caller)
        let start = ContinuousClock.now
        defer { ServerMetrics.query("sql", since: start) }
        let rows = try await storeCall {
            try await store.tabularDataBySQL(organizationID: caller.organizationID, source: .standard, query: request.sqlQuery)
        }
        var response = Viam_App_Data_V1_TabularDataBySQLResponse()
        response.rawData = rows.map { Data($0.encode()) }
        return response
    }

    func exportTabularData(
        _ request: Viam_App_Data_V1_ExportTabularDataRequest, caller: APIKeyIdentity,
        write: (Viam_App_Data_V1_ExportTabularDataResponse) async throws -> Void
    ) async throws {
        var filter = ReadingFilter()
        if !request.partID.isEmpty { filter.restrict(.partID, to: [request.partID]) }
        if !request.resourceName.isEmpty { filter.restrict(.componentName, to: [request.resourceName]) }
        if !request.resourceSubtype.isEmpty { filter.restrict(.componentType, to: [request.resourceSubtype]) }
        if !request.methodName.isEmpty { filter.restrict(.methodName, to: [request.methodName]) }
        if request.hasInterval {
            let interval = request.interval
            if interval.hasStart {
                filter.timeReceived.atLeast(try converted { () throws(UploadRefusal) in try UploadConversion.milliseconds(interval.start, field: "interval.start") })
            }
            if interval.hasEnd {
                filter.timeReceived.lessThan(try converted { () throws(UploadRefusal) in try UploadConversion.milliseconds(interval.end, field: "interval.end") })
            }
        }
        // Only readings of the capture configuration with exactly these parameters, as GetLatestTabularData.
        let parameters = request.hasAdditionalParameters ? request.additionalParameters : nil
        try await store.forEachReadingPage(organizationID: caller.organizationID, source: .standard, filter: filter) { page in
            for document in page where Self.captured(with: parameters, document) { try await write(ExportRow.make(document)) }
            return true
        }
    }
}
