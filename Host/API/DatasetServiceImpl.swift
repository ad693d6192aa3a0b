import FerryStore
import Foundation
import GRPCCore
import ViamGRPC
import ViamProtos

/// `viam.app.dataset.v1.DatasetService`: datasets of binary data. Viewers list; operators and
/// owners create, rename, merge and delete (deleting a dataset never deletes data, so it is a data
/// editor's call, as labelling is). A dataset id of another organisation is answered like an
/// unknown one (NOT_FOUND). Sequence datasets and their exports answer UNIMPLEMENTED.
struct DatasetServiceImpl: Viam_App_Dataset_V1_DatasetService.SimpleServiceProtocol {
    let store: any DataStore

    func createDataset(request: Viam_App_Dataset_V1_CreateDatasetRequest, context: ServerContext) async throws
        -> Viam_App_Dataset_V1_CreateDatasetResponse
    {
        let caller = try Caller.require(.operator, to: "creating a dataset")
        try Caller.requireOrganization(request.organizationID, caller)
        try Self.requireBinary(request.type)
        var response = Viam_App_Dataset_V1_CreateDatasetResponse()
        response.id = try await storeCall { try await store.createDataset(name: request.name, organizationID: caller.organizationID) }.id
        return response
    }

    func deleteDataset(request: Viam_App_Dataset_V1_DeleteDatasetRequest, context: ServerContext) async throws
        -> Viam_App_Dataset_V1_DeleteDatasetResponse
    {
        let caller = try Caller.require(.operator, to: "deleting a dataset")
        let id = try Self.datasetID(request.id)
        guard try await storeCall({ try await store.deleteDataset(id: id, organizationID: caller.organizationID) }) else {
            throw Self.unknown([id], caller)
        }
        return Viam_App_Dataset_V1_DeleteDatasetResponse()
    }

    func renameDataset(request: Viam_App_Dataset_V1_RenameDatasetRequest, context: ServerContext) async throws
        -> Viam_App_Dataset_V1_RenameDatasetResponse
    {
        let caller = try Caller.require(.operator, to: "renaming a dataset")
        let id = try Self.datasetID(request.id)
        guard try await storeCall({ try await store.renameDataset(id: id, name: request.name, organizationID: caller.organizationID) }) else {
            throw Self.unknown([id], caller)
        }
        return Viam_App_Dataset_V1_RenameDatasetResponse()
    }

    func listDatasetsByOrganizationID(request: Viam_App_Dataset_V1_ListDatasetsByOrganizationIDRequest, context: ServerContext)
        async throws -> Viam_App_Dataset_V1_ListDatasetsByOrganizationIDResponse
    {
        let caller = try Caller.require(.viewer, to: "listing datasets")
        try Caller.requireOrganization(request.organizationID, caller)
        var response = Viam_App_Dataset_V1_ListDatasetsByOrganizationIDResponse()
        // Every dataset Ferry keeps holds binary data: asking for sequence datasets lists none.
        guard !request.hasType || request.type == .binaryData else { return response }
        response.datasets = try await storeCall { try await store.datasets(organizationID: caller.organizationID) }.map(Self.proto)
        return response
    }

    func listDatasetsByIDs(request: Viam_App_Dataset_V1_ListDatasetsByIDsRequest, context: ServerContext) async throws
        -> Viam_App_Dataset_V1_ListDatasetsByIDsResponse
    {
        let caller = try Caller.require(.viewer, to: "listing datasets")
        let ids = try Self.datasetIDs(request.ids)
        let found = try await storeCall { try await store.datasets(organizationID: caller.organizationID, ids: ids) }
        let known = Set(found.map(\.id))
        let missing = ids.filter { !known.contains($0) }
        guard missing.isEmpty else { throw Self.unknown(missing, caller) }
        var response = Viam_App_Dataset_V1_ListDatasetsByIDsResponse()
        response.datasets = found.map(Self.proto)
        return response
    }

    func mergeDatasets(request: Viam_App_Dataset_V1_MergeDatasetsRequest, context: ServerContext) async throws
        -> Viam_App_Dataset_V1_MergeDatasetsResponse
    {
        let caller = try Caller.require(.operator, to: "merging datasets")
        try Caller.requireOrganization(request.organizationID, caller)
        let ids = try Self.datasetIDs(request.datasetIds)
        guard Set(ids).count >= 2 else {
            throw RPCError(code: .invalidArgument, message: "give at least two different dataset_ids to merge (got \(Set(ids).count))")
        }
        var response = Viam_App_Dataset_V1_MergeDatasetsResponse()
        response.datasetID = try await storeCall {
            try await store.mergeDatasets(ids: ids, name: request.name, organizationID: caller.organizationID)
        }.id
        return response
    }

    func startSequenceDatasetExport(request: Viam_App_Dataset_V1_StartSequenceDatasetExportRequest, context: ServerContext)
        async throws -> Viam_App_Dataset_V1_StartSequenceDatasetExportResponse
    {
        throw Self.noSequences
    }

    func getSequenceDatasetExport(request: Viam_App_Dataset_V1_GetSequenceDatasetExportRequest, context: ServerContext)
        async throws -> Viam_App_Dataset_V1_GetSequenceDatasetExportResponse
    {
        throw Self.noSequences
    }

    // MARK: Conversions

    static let noSequences = RPCError(
        code: .unimplemented, message: "Ferry has no sequence datasets, so there is nothing to export; its datasets hold binary data")

    static func requireBinary(_ type: Viam_App_Dataset_V1_DatasetType) throws(RPCError) {
        guard type == .binaryData else {
            throw RPCError(code: .unimplemented, message: "Ferry's datasets hold binary data only; DATASET_TYPE_SEQUENCE_DATA is not supported")
        }
    }

    static func datasetID(_ id: String) throws(RPCError) -> String {
        guard !id.isEmpty else { throw RPCError(code: .invalidArgument, message: "give the id of the dataset") }
        return id
    }

    static func datasetIDs(_ ids: [String]) throws(RPCError) -> [String] {
        guard !ids.isEmpty else { throw RPCError(code: .invalidArgument, message: "give at least one dataset id") }
        if let index = ids.firstIndex(where: \.isEmpty) {
            throw RPCError(code: .invalidArgument, message: "dataset id \(index) is empty")
        }
        return ids
    }

    static func unknown(_ ids: [String], _ caller: APIKeyIdentity) -> RPCError {
        let shown = ids.prefix(5).map(\.debugDescription).joined(separator: ", ")
        return RPCError(
            code: .notFound,
            message: "no dataset with id \(shown)\(ids.count > 5 ? " (and \(ids.count - 5) more)" : "") in organization \(caller.organizationID); nothing was changed")
    }

    static func proto(_ dataset: Dataset) -> Viam_App_Dataset_V1_Dataset {
        var proto = Viam_App_Dataset_V1_Dataset()
        proto.id = dataset.id
        proto.name = dataset.name
        proto.organizationID = dataset.organizationID
        proto.timeCreated = DataPipelinesServiceImpl.timestamp(dataset.createdAt)
        proto.type = .binaryData
        return proto
    }
}
