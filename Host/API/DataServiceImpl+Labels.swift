import FerryStore
import GRPCCore
import ViamProtos

/// DataService's bounding-box labelling of images: add, update and remove a box in a payload's
/// annotations (where BinaryDataByFilter/ByIDs, BoundingBoxLabelsByFilter and the `bbox_labels`
/// filter read them). Operators and owners only; a payload of another organisation is NOT_FOUND.
extension DataServiceImpl {
    func registerLabelMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
        unary(&router, Service.Method.AddBoundingBoxToImageByID.descriptor, addBoundingBoxToImageByID)
        unary(&router, Service.Method.UpdateBoundingBox.descriptor, updateBoundingBox)
        unary(&router, Service.Method.RemoveBoundingBoxFromImageByID.descriptor, removeBoundingBoxFromImageByID)
    }

    func addBoundingBoxToImageByID(_ request: Viam_App_Data_V1_AddBoundingBoxToImageByIDRequest) async throws
        -> Viam_App_Data_V1_AddBoundingBoxToImageByIDResponse
    {
        let caller = try Caller.require(.operator, to: "labelling images")
        let id = try Self.binaryID(request.binaryDataID, request.hasBinaryID ? request.binaryID : nil)
        let box = BoundingBox(
            label: request.label, xMin: request.xMinNormalized, yMin: request.yMinNormalized, xMax: request.xMaxNormalized,
            yMax: request.yMaxNormalized, confidence: request.hasConfidence ? request.confidence : nil)
        guard let boxID = try await storeCall({ try await store.addBoundingBox(box, organizationID: caller.organizationID, binaryID: id) }) else {
            throw Self.unknown(id, caller)
        }
        var response = Viam_App_Data_V1_AddBoundingBoxToImageByIDResponse()
        response.bboxID = boxID
        return response
    }

    func updateBoundingBox(_ request: Viam_App_Data_V1_UpdateBoundingBoxRequest) async throws -> Viam_App_Data_V1_UpdateBoundingBoxResponse {
        let caller = try Caller.require(.operator, to: "labelling images")
        let id = try Self.binaryID(request.binaryDataID, request.hasBinaryID ? request.binaryID : nil)
        guard !request.bboxID.isEmpty else { throw RPCError(code: .invalidArgument, message: "give the bbox_id of the bounding box to update") }
        let change = BoundingBoxChange(
            label: request.hasLabel ? request.label : nil, xMin: request.hasXMinNormalized ? request.xMinNormalized : nil,
            yMin: request.hasYMinNormalized ? request.yMinNormalized : nil, xMax: request.hasXMaxNormalized ? request.xMaxNormalized : nil,
            yMax: request.hasYMaxNormalized ? request.yMaxNormalized : nil, confidence: request.hasConfidence ? request.confidence : nil)
        let found = try await storeCall {
            try await store.updateBoundingBox(change, boxID: request.bboxID, organizationID: caller.organizationID, binaryID: id)
        }
        guard found else { throw Self.unknown(id, caller) }
        return Viam_App_Data_V1_UpdateBoundingBoxResponse()
    }

    func removeBoundingBoxFromImageByID(_ request: Viam_App_Data_V1_RemoveBoundingBoxFromImageByIDRequest) async throws
        -> Viam_App_Data_V1_RemoveBoundingBoxFromImageByIDResponse
    {
        let caller = try Caller.require(.operator, to: "labelling images")
        let id = try Self.binaryID(request.binaryDataID, request.hasBinaryID ? request.binaryID : nil)
        guard !request.bboxID.isEmpty else { throw RPCError(code: .invalidArgument, message: "give the bbox_id of the bounding box to remove") }
        let found = try await storeCall {
            try await store.removeBoundingBox(boxID: request.bboxID, organizationID: caller.organizationID, binaryID: id)
        }
        guard found else { throw Self.unknown(id, caller) }
        return Viam_App_Data_V1_RemoveBoundingBoxFromImageByIDResponse()
    }

    /// The one payload a labelling request names: `binary_data_id`, or the deprecated `binary_id`'s `file_id`.
    static func binaryID(_ binaryDataID: String, _ binaryID: Viam_App_Data_V1_BinaryID?) throws(RPCError) -> String {
        let id = binaryDataID.isEmpty ? binaryID?.fileID ?? "" : binaryDataID
        guard !id.isEmpty else { throw RPCError(code: .invalidArgument, message: "give the binary_data_id of the image") }
        return id
    }

    static func unknown(_ id: String, _ caller: APIKeyIdentity) -> RPCError {
        RPCError(code: .notFound, message: "no binary data with id \(id.debugDescription) in organization \(caller.organizationID); nothing was changed")
    }
}
