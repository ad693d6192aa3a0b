import FerryBSON
import FerryMQL
import FerryQuery
import FerryStore
import Foundation
import GRPCCore
import SwiftProtobuf
import ViamProtos

/// DataService's saved queries (Create/Update/Get/Delete/ListSavedQueries): named MQL pipelines of
/// an organisation, validated by the MQL engine when saved; TabularDataByMQL's `query_prefix_name`
/// runs one's stages before the caller's. Viewers read; operators and owners save and delete. An id
/// of another organisation answers NOT_FOUND.
extension DataServiceImpl {
    func registerSavedQueryMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
        unary(&router, Service.Method.CreateSavedQuery.descriptor, createSavedQuery)
        unary(&router, Service.Method.UpdateSavedQuery.descriptor, updateSavedQuery)
        unary(&router, Service.Method.GetSavedQuery.descriptor, getSavedQuery)
        unary(&router, Service.Method.DeleteSavedQuery.descriptor, deleteSavedQuery)
        unary(&router, Service.Method.ListSavedQueries.descriptor, listSavedQueries)
    }

    func createSavedQuery(_ request: Viam_App_Data_V1_CreateSavedQueryRequest) async throws -> Viam_App_Data_V1_CreateSavedQueryResponse {
        let caller = try Caller.require(.operator, to: "saving queries")
        try Caller.requireOrganization(request.organizationID, caller)
        let stages = try savedStages(request.mqlBinary)
        let query = SavedQuery.new(name: request.name, organizationID: caller.organizationID, stages: stages)
        try await storeCall { try await store.createSavedQuery(query) }
        var response = Viam_App_Data_V1_CreateSavedQueryResponse()
        response.id = query.id
        return response
    }

    func updateSavedQuery(_ request: Viam_App_Data_V1_UpdateSavedQueryRequest) async throws -> Viam_App_Data_V1_UpdateSavedQueryResponse {
        let caller = try Caller.require(.operator, to: "saving queries")
        let id = try Self.savedQueryID(request.id)
        let stages = try savedStages(request.mqlBinary)
        let updated = try await storeCall {
            try await store.updateSavedQuery(
                id: id, organizationID: caller.organizationID, name: request.name, stages: stages,
                updatedAt: Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)))
        }
        guard updated else { throw Self.unknownSavedQuery(id, caller) }
        return Viam_App_Data_V1_UpdateSavedQueryResponse()
    }

    func getSavedQuery(_ request: Viam_App_Data_V1_GetSavedQueryRequest) async throws -> Viam_App_Data_V1_GetSavedQueryResponse {
        let caller = try Caller.require(.viewer, to: "reading saved queries")
        let id = try Self.savedQueryID(request.id)
        guard let query = try await storeCall({ try await store.savedQuery(id: id, organizationID: caller.organizationID) }) else {
            throw Self.unknownSavedQuery(id, caller)
        }
        var response = Viam_App_Data_V1_GetSavedQueryResponse()
        response.savedQuery = Self.proto(query)
        return response
    }

    func deleteSavedQuery(_ request: Viam_App_Data_V1_DeleteSavedQueryRequest) async throws -> Viam_App_Data_V1_DeleteSavedQueryResponse {
        let caller = try Caller.require(.operator, to: "deleting saved queries")
        let id = try Self.savedQueryID(request.id)
        guard try await storeCall({ try await store.deleteSavedQuery(id: id, organizationID: caller.organizationID) }) else {
            throw Self.unknownSavedQuery(id, caller)
        }
        return Viam_App_Data_V1_DeleteSavedQueryResponse()
    }

    func listSavedQueries(_ request: Viam_App_Data_V1_ListSavedQueriesRequest) async throws -> Viam_App_Data_V1_ListSavedQueriesResponse {
        let caller = try Caller.require(.viewer, to: "reading saved queries")
        try Caller.requireOrganization(request.organizationID, caller)
        guard request.limit >= 0 else {
            throw RPCError(code: .invalidArgument, message: "limit must not be negative (got \(request.limit)); 0 lists every saved query")
        }
        let limit = request.limit == 0 ? nil : Int(clamping: request.limit)
        let queries = try await storeCall { try await store.savedQueries(organizationID: caller.organizationID, limit: limit) }
        var response = Viam_App_Data_V1_ListSavedQueriesResponse()
        response.queries = queries.map(Self.proto)
        return response
    }

    /// A saved query's stages, refused unless the MQL engine accepts them as a pipeline.
    func savedStages(_ mqlBinary: [Data]) throws -> [BSONDocument] {
        let stages = try QueryRunner.stages(mqlBinary)
        do {
            _ = try StoreQuery(stages: stages, operators: operators)
        } catch let error as MQLError {
            throw RPCError(code: .invalidArgument, message: "invalid MQL pipeline for the saved query: \(error)")
        }
        return stages
    }

    /// TabularDataByMQL's stages: the saved query named `prefix` (if given) before the caller's.
    func stagesWithPrefix(_ stages: [BSONDocument], prefix: String?, caller: APIKeyIdentity) async throws -> [BSONDocument] {
        guard let prefix, !prefix.isEmpty else { return stages }
        guard let saved = try await storeCall({ try await store.savedQuery(named: prefix, organizationID: caller.organizationID) }) else {
            throw RPCError(
                code: .notFound,
                message: "organization \(caller.organizationID) has no saved query named \(prefix.debugDescription) (query_prefix_name); list_saved_queries shows them")
        }
        return saved.stages + stages
    }

    static func savedQueryID(_ id: String) throws -> String {
        guard !id.isEmpty else { throw RPCError(code: .invalidArgument, message: "give the id of the saved query") }
        return id
    }

    static func unknownSavedQuery(_ id: String, _ caller: APIKeyIdentity) -> RPCError {
        RPCError(code: .notFound, message: "organization \(caller.organizationID) has no saved query \(id)")
    }

    static func proto(_ query: SavedQuery) -> Viam_App_Data_V1_Query {
        var proto = Viam_App_Data_V1_Query()
        proto.id = query.id
        proto.organizationID = query.organizationID
        proto.name = query.name
        proto.mqlBinary = query.stages.map { Data($0.encode()) }
        proto.createdOn = DataPipelinesServiceImpl.timestamp(query.createdAt)
        proto.updatedAt = DataPipelinesServiceImpl.timestamp(query.updatedAt)
        return proto
    }
}
