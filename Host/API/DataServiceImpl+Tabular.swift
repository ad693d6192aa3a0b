import FerryBSON
import FerryCaptureFile
import FerryStore
import Foundation
import GRPCCore
import SwiftProtobuf
import ViamProtos

/// DataService's TabularDataByFilter and GetLatestTabularData: readings by Viam's `Filter`, paged
/// with `last`, and the latest reading of one resource. Viewers and above.
extension DataServiceImpl {
    /// The `last` of a final page: the next call answers an empty page, which ends the SDK's loop.
    /// (A reading's paging cursor holds its row id, which the page's documents do not carry.)
    static let pastTheEnd = "end"

    func registerTabularMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
        unary(&router, Service.Method.TabularDataByFilter.descriptor, tabularDataByFilter)
        unary(&router, Service.Method.GetLatestTabularData.descriptor, getLatestTabularData)
    }

    func tabularDataByFilter(_ request: Viam_App_Data_V1_TabularDataByFilterRequest) async throws -> Viam_App_Data_V1_TabularDataByFilterResponse {
        let caller = try Caller.require(.viewer, to: "querying data")
        let dataRequest = request.dataRequest
        let filter = try Self.readingFilter(dataRequest.filter)
        var response = Viam_App_Data_V1_TabularDataByFilterResponse()
        if request.countOnly {
            var count = 0
            try await storeCall {
                try await store.forEachReadingPage(organizationID: caller.organizationID, source: .standard, filter: filter) { page in
                    count += page.count
                    return true
                }
            }
            response.count = UInt64(count)
            return response
        }
        if dataRequest.last == Self.pastTheEnd { return response }
        let (cursor, descending, limit) = try Self.page(dataRequest, cursor: ReadingCursor.init(token:))
        let page = try await storeCall {
            try await store.readingsPage(
                organizationID: caller.organizationID, source: .standard, filter: filter, sortByTimeDescending: descending,
                after: cursor, limit: limit)
        }
        var metadataIndex: [Viam_App_Data_V1_CaptureMetadata: UInt32] = [:]
        for document in page.documents {
            let metadata = Self.captureMetadata(document)
            let index: UInt32
            if let known = metadataIndex[metadata] {
                index = known
            } else {
                index = UInt32(response.metadata.count)
                metadataIndex[metadata] = index
                response.metadata.append(metadata)
            }
            var row = Viam_App_Data_V1_TabularData()
            row.metadataIndex = index
            row.data = StructConversion.struct(from: document["data"]?.documentValue ?? [:])
            if case .datetime(let ms)? = document["time_requested"] { row.timeRequested = DataPipelinesServiceImpl.timestamp(ms) }
            if case .datetime(let ms)? = document["time_received"] { row.timeReceived = DataPipelinesServiceImpl.timestamp(ms) }
            response.data.append(row)
        }
        response.count = UInt64(page.documents.count)
        response.last = page.documents.isEmpty ? "" : page.next?.token ?? Self.pastTheEnd
        return response
    }

    /// The newest reading (by time received) of one part's resource and method, and, when given,
    /// with exactly these additional parameters; an empty response when there is none.
    func getLatestTabularData(_ request: Viam_App_Data_V1_GetLatestTabularDataRequest) async throws -> Viam_App_Data_V1_GetLatestTabularDataResponse {
        let caller = try Caller.require(.viewer, to: "querying data")
        for (value, field) in [(request.partID, "part_id"), (request.resourceName, "resource_name"), (request.methodName, "method_name")]
        where value.isEmpty {
            throw RPCError(code: .invalidArgument, message: "GetLatestTabularData needs \(field)")
        }
        var filter = ReadingFilter()
        filter.restrict(.partID, to: [request.partID])
        filter.restrict(.componentName, to: [request.resourceName])
        filter.restrict(.methodName, to: [request.methodName])
        if !request.resourceSubtype.isEmpty { filter.restrict(.componentType, to: [request.resourceSubtype]) }
        var latest: BSONDocument?
        try await storeCall {
            try await store.forEachReadingPage(
                organizationID: caller.organizationID, source: .standard, filter: filter, sortByTimeDescending: true, pageSize: 100
            ) { page in
                latest = page.first { Self.captured(with: request.hasAdditionalParameters ? request.additionalParameters : nil, $0) }
                return latest == nil
            }
        }
        var response = Viam_App_Data_V1_GetLatestTabularDataResponse()
        guard let latest else { return response }
        if case .datetime(let ms)? = latest["time_requested"] { response.timeCaptured = DataPipelinesServiceImpl.timestamp(ms) }
        if case .datetime(let ms)? = latest["time_received"] { response.timeSynced = DataPipelinesServiceImpl.timestamp(ms) }
        response.payload = StructConversion.struct(from: latest["data"]?.documentValue ?? [:])
        return response
    }

    /// Whether a reading was captured with exactly these additional parameters (its method
    /// parameters, as stored), or any when nil: what GetLatestTabularData and ExportTabularData's
    /// `additional_parameters` select, one capture configuration of a method.
    static func captured(with parameters: Google_Protobuf_Struct?, _ document: BSONDocument) -> Bool {
        guard let parameters else { return true }
        return StructConversion.struct(from: document["additional_parameters"]?.documentValue ?? [:]) == parameters
    }

    /// A page request: where it starts (`last` as a cursor, nil for the first page), which way, how many.
    static func page<Cursor>(_ request: Viam_App_Data_V1_DataRequest, cursor parse: (String) -> Cursor?) throws(RPCError)
        -> (cursor: Cursor?, descending: Bool, limit: Int)
    {
        var cursor: Cursor?
        if !request.last.isEmpty {
            guard let parsed = parse(request.last) else {
                throw RPCError(
                    code: .invalidArgument,
                    message: "data_request.last \(request.last.debugDescription) is not a page token of this server; pass the `last` of the previous response, or nothing for the first page")
            }
            cursor = parsed
        }
        let limit = request.limit == 0 ? defaultBinaryPageSize : Int(clamping: request.limit)
        return (cursor, try descending(request.sortOrder), limit)
    }

    static func descending(_ order: Viam_App_Data_V1_Order) throws(RPCError) -> Bool {
        switch order {
        case .ascending: false
        case .descending, .unspecified: true  // newest first unless asked otherwise
        case .UNRECOGNIZED(let value):
            throw RPCError(code: .invalidArgument, message: "data_request.sort_order \(value) is not an Order; use ORDER_ASCENDING or ORDER_DESCENDING")
        }
    }

    /// Viam's `Filter` for readings: what `BinaryFilterConversion` reads, without MIME types,
    /// bounding-box labels and datasets (readings have none) and, for now, without tags.
    static func readingFilter(_ f: Viam_App_Data_V1_Filter) throws(RPCError) -> ReadingFilter {
        let filter = try BinaryFilterConversion.filter(f)
        if filter.mimeTypes != nil {
            throw RPCError(code: .invalidArgument, message: "filter.mime_type does not apply to tabular data (readings have no MIME type); leave it empty")
        }
        if filter.boundingBoxLabels != nil {
            throw RPCError(code: .invalidArgument, message: "filter.bbox_labels does not apply to tabular data (readings have no bounding boxes); leave it empty")
        }
        if filter.datasetID != nil {
            throw RPCError(code: .invalidArgument, message: "filter.dataset_id does not apply to tabular data (datasets hold binary data); leave it empty")
        }
        if filter.tags != .any {
            throw RPCError(code: .unimplemented, message: "filtering tabular data by filter.tags_filter is not supported yet; use TabularDataByMQL with a $match on tags")
        }
        return filter.columns
    }

    static func captureMetadata(_ document: BSONDocument) -> Viam_App_Data_V1_CaptureMetadata {
        var metadata = Viam_App_Data_V1_CaptureMetadata()
        metadata.organizationID = document["organization_id"]?.stringValue ?? ""
        metadata.locationID = document["location_id"]?.stringValue ?? ""
        metadata.robotID = document["robot_id"]?.stringValue ?? ""
        metadata.partID = document["part_id"]?.stringValue ?? ""
        metadata.componentType = document["component_type"]?.stringValue ?? ""
        metadata.componentName = document["component_name"]?.stringValue ?? ""
        metadata.methodName = document["method_name"]?.stringValue ?? ""
        metadata.tags = (document["tags"]?.arrayValue ?? []).compactMap(\.stringValue)
        for (key, value) in StructConversion.struct(from: document["additional_parameters"]?.documentValue ?? [:]).fields {
            if let packed = try? Google_Protobuf_Any(message: value) { metadata.methodParameters[key] = packed }
        }
        return metadata
    }
}
