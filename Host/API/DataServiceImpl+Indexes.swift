import FerryBSON
import FerryStore
import Foundation
import GRPCCore
import ViamProtos

/// DataService's custom indexes (CreateIndex, ListIndexes, DeleteIndex) on the hot store (paths
/// inside readings' data) or on a pipeline's sink (paths of its documents), which the leading
/// `$match` of MQL queries then reads through. Viewers list; operators and owners create and delete.
extension DataServiceImpl {
    func registerIndexMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
        unary(&router, Service.Method.CreateIndex.descriptor, createIndex)
        unary(&router, Service.Method.ListIndexes.descriptor, listIndexes)
        unary(&router, Service.Method.DeleteIndex.descriptor, deleteIndex)
    }

    func createIndex(_ request: Viam_App_Data_V1_CreateIndexRequest) async throws -> Viam_App_Data_V1_CreateIndexResponse {
        let caller = try Caller.require(.operator, to: "creating indexes")
        try Caller.requireOrganization(request.organizationID, caller)
        let pipelineID = try await collection(request.collectionType, pipelineName: request.hasPipelineName ? request.pipelineName : nil, caller)
        guard request.indexSpec.count == 1 else {
            throw RPCError(
                code: .invalidArgument,
                message: "index_spec holds \(request.indexSpec.count) documents; give one, such as {\"key\": {\"data.readings.temperature\": 1}}")
        }
        let spec: BSONDocument
        do {
            spec = try BSONDocument(bytes: [UInt8](request.indexSpec[0]))
        } catch {
            throw RPCError(code: .invalidArgument, message: "index_spec[0] is not a BSON document: \(error)")
        }
        try await storeCall {
            let index = try StoreChecks.dataIndex(
                spec: spec, organizationID: caller.organizationID, pipelineID: pipelineID, createdAt: Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)))
            try await store.createIndex(index)
        }
        return Viam_App_Data_V1_CreateIndexResponse()
    }

    func listIndexes(_ request: Viam_App_Data_V1_ListIndexesRequest) async throws -> Viam_App_Data_V1_ListIndexesResponse {
        let caller = try Caller.require(.viewer, to: "listing indexes")
        try Caller.requireOrganization(request.organizationID, caller)
        let pipelineID = try await collection(request.collectionType, pipelineName: request.hasPipelineName ? request.pipelineName : nil, caller)
        let indexes = try await storeCall { try await store.indexes(organizationID: caller.organizationID, pipelineID: pipelineID) }
        var response = Viam_App_Data_V1_ListIndexesResponse()
        response.indexes = indexes.map { index in
            var proto = Viam_App_Data_V1_Index()
            proto.collectionType = pipelineID.isEmpty ? .hotStore : .pipelineSink
            if !pipelineID.isEmpty { proto.pipelineName = request.pipelineName }
            proto.indexName = index.name
            proto.indexSpec = [Data(index.spec.encode())]
            proto.createdBy = .customer
            return proto
        }
        return response
    }

    func deleteIndex(_ request: Viam_App_Data_V1_DeleteIndexRequest) async throws -> Viam_App_Data_V1_DeleteIndexResponse {
        let caller = try Caller.require(.operator, to: "deleting indexes")
        try Caller.requireOrganization(request.organizationID, caller)
        let pipelineID = try await collection(request.collectionType, pipelineName: request.hasPipelineName ? request.pipelineName : nil, caller)
        guard !request.indexName.isEmpty else { throw RPCError(code: .invalidArgument, message: "give the index_name of the index to delete") }
        let deleted = try await storeCall {
            try await store.deleteIndex(organizationID: caller.organizationID, pipelineID: pipelineID, name: request.indexName)
        }
        guard deleted else {
            let collection = pipelineID.isEmpty ? "the hot store" : "the sink of pipeline \(request.pipelineName.debugDescription)"
            throw RPCError(
                code: .notFound,
                message: "organization \(caller.organizationID) has no index named \(request.indexName.debugDescription) on \(collection); list_indexes shows its indexes")
        }
        return Viam_App_Data_V1_DeleteIndexResponse()
    }

    /// The pipeline id of the indexed collection: empty for the hot store, the pipeline's id for
    /// its sink. Refuses an unset collection or an unknown pipeline, saying why.
    func collection(_ collection: Viam_App_Data_V1_IndexableCollection, pipelineName: String?, _ caller: APIKeyIdentity) async throws -> String {
        switch collection {
        case .hotStore:
            if let pipelineName, !pipelineName.isEmpty {
                throw RPCError(code: .invalidArgument, message: "pipeline_name is for INDEXABLE_COLLECTION_PIPELINE_SINK; leave it out for the hot store")
            }
            return ""
        case .pipelineSink:
            guard let pipelineName, !pipelineName.isEmpty else {
                throw RPCError(code: .invalidArgument, message: "INDEXABLE_COLLECTION_PIPELINE_SINK needs the pipeline_name of the sink's pipeline")
            }
            let pipelines = try await storeCall { try await store.pipelines(organizationID: caller.organizationID) }
            guard let pipeline = pipelines.first(where: { $0.name == pipelineName }) else {
                throw RPCError(code: .notFound, message: "organization \(caller.organizationID) has no pipeline named \(pipelineName.debugDescription)")
            }
            return pipeline.id
        case .unspecified, .UNRECOGNIZED:
            throw RPCError(
                code: .invalidArgument,
                message: "collection_type must be INDEXABLE_COLLECTION_HOT_STORE (readings) or INDEXABLE_COLLECTION_PIPELINE_SINK")
        }
    }
}
