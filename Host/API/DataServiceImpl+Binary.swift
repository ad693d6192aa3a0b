import FerryCaptureFile
import FerryClock
import FerryIngest
import FerryStore
import Foundation
import GRPCCore
import GRPCProtobuf
import SwiftProtobuf
import ViamProtos

/// DataService's binary-data RPCs (browse, fetch by id, tag, list tags and bounding-box labels,
/// add to and remove from datasets, delete) and DeleteTabularData.
/// Viewers read, operators and owners tag, only owners delete. Every call is confined to the
/// caller's organisation: a filter naming others matches nothing, and an id of another
/// organisation is answered like an unknown one (NOT_FOUND).
extension DataServiceImpl {
    /// Viam's default page size when `limit` is 0.
    static let defaultBinaryPageSize = 50

    func registerBinaryMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
        unary(&router, Service.Method.BinaryDataByFilter.descriptor, binaryDataByFilter)
        unary(&router, Service.Method.BinaryDataByIDs.descriptor, binaryDataByIDs)
        unary(&router, Service.Method.AddTagsToBinaryDataByIDs.descriptor, addTagsToBinaryDataByIDs)
        unary(&router, Service.Method.AddTagsToBinaryDataByFilter.descriptor, addTagsToBinaryDataByFilter)
        unary(&router, Service.Method.RemoveTagsFromBinaryDataByIDs.descriptor, removeTagsFromBinaryDataByIDs)
        unary(&router, Service.Method.RemoveTagsFromBinaryDataByFilter.descriptor, removeTagsFromBinaryDataByFilter)
        unary(&router, Service.Method.TagsByFilter.descriptor, tagsByFilter)
        unary(&router, Service.Method.BoundingBoxLabelsByFilter.descriptor, boundingBoxLabelsByFilter)
        unary(&router, Service.Method.DeleteBinaryDataByIDs.descriptor, deleteBinaryDataByIDs)
        unary(&router, Service.Method.DeleteBinaryDataByFilter.descriptor, deleteBinaryDataByFilter)
        unary(&router, Service.Method.DeleteTabularData.descriptor, deleteTabularData)
        unary(&router, Service.Method.AddBinaryDataToDatasetByIDs.descriptor, addBinaryDataToDatasetByIDs)
        unary(&router, Service.Method.RemoveBinaryDataFromDatasetByIDs.descriptor, removeBinaryDataFromDatasetByIDs)
    }

    func unary<Transport: ServerTransport, Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ router: inout RPCRouter<Transport>, _ method: MethodDescriptor,
        _ handler: @escaping @Sendable (Request) async throws -> Response
    ) {
        router.registerHandler(
            forMethod: method, deserializer: ProtobufDeserializer<Request>(), serializer: ProtobufSerializer<Response>()
        ) { request, context in
            let message = try await ServerRequest(stream: request).message
            return StreamingServerResponse(single: ServerResponse(message: try await handler(message)))
        }
    }

    func binaryDataByFilter(_ request: Viam_App_Data_V1_BinaryDataByFilterRequest) async throws -> Viam_App_Data_V1_BinaryDataByFilterResponse {
        let caller = try Caller.require(.viewer, to: "reading binary data")
        let dataRequest = request.dataRequest
        let filter = try BinaryFilterConversion.filter(dataRequest.filter)
        var response = Viam_App_Data_V1_BinaryDataByFilterResponse()
        if request.countOnly {
            let counted = try await storeCall { try await store.binaryCount(organizationID: caller.organizationID, filter: filter) }
            response.count = UInt64(counted.count)
            response.totalSizeBytes = UInt64(counted.totalBytes)
            return response
        }
        let (cursor, descending, limit) = try Self.page(dataRequest, cursor: BinaryCursor.init(token:))
        let page = try await storeCall {
            try await store.binaryPage(organizationID: caller.organizationID, filter: filter, descending: descending, after: cursor, limit: limit)
        }
        // With the payloads, the page stops before the response would pass what gRPC clients
        // receive by default; `last` then names the last item sent, so the next page goes on from there.
        let (data, sent) = try await binaryData(
            page.records, includeBinary: request.includeBinary, organizationID: caller.organizationID,
            budget: request.includeBinary ? Self.responseBudget : nil)
        response.data = data
        response.count = UInt64(data.count)
        response.totalSizeBytes = UInt64(data.reduce(0) { $0 + Int($1.metadata.fileSizeBytes) })
        // Viam's `last` names the page's last item even on the final page, and the page after the
        // last is empty: the SDK's documented loop stops on an empty page, not on an empty `last`.
        response.last = sent.last.map { BinaryCursor(timeRequested: $0.metadata.timeRequested, id: $0.id).token } ?? ""
        return response
    }

    func binaryDataByIDs(_ request: Viam_App_Data_V1_BinaryDataByIDsRequest) async throws -> Viam_App_Data_V1_BinaryDataByIDsResponse {
        let caller = try Caller.require(.viewer, to: "reading binary data")
        let records = try await existing(BinaryFilterConversion.ids(request.binaryDataIds, request.binaryIds), caller: caller)
        var response = Viam_App_Data_V1_BinaryDataByIDsResponse()
        response.data = try await binaryData(records, includeBinary: request.includeBinary, organizationID: caller.organizationID, budget: nil).data
        response.count = UInt64(records.count)
        return response
    }

    func addTagsToBinaryDataByIDs(_ request: Viam_App_Data_V1_AddTagsToBinaryDataByIDsRequest) async throws
        -> Viam_App_Data_V1_AddTagsToBinaryDataByIDsResponse
    {
        let caller = try Caller.require(.operator, to: "tagging binary data")
        let ids = try await existing(BinaryFilterConversion.ids(request.binaryDataIds, request.binaryIds), caller: caller).map(\.id)
        _ = try await storeCall { try await store.addBinaryTags(request.tags, organizationID: caller.organizationID, ids: ids) }
        return Viam_App_Data_V1_AddTagsToBinaryDataByIDsResponse()
    }

    func addTagsToBinaryDataByFilter(_ request: Viam_App_Data_V1_AddTagsToBinaryDataByFilterRequest) async throws
        -> Viam_App_Data_V1_AddTagsToBinaryDataByFilterResponse
    {
        let caller = try Caller.require(.operator, to: "tagging binary data")
        let filter = try BinaryFilterConversion.filter(request.filter)
        _ = try await storeCall { try await store.addBinaryTags(request.tags, organizationID: caller.organizationID, filter: filter) }
        return Viam_App_Data_V1_AddTagsToBinaryDataByFilterResponse()
    }

    func removeTagsFromBinaryDataByIDs(_ request: Viam_App_Data_V1_RemoveTagsFromBinaryDataByIDsRequest) async throws
        -> Viam_App_Data_V1_RemoveTagsFromBinaryDataByIDsResponse
    {
        let caller = try Caller.require(.operator, to: "removing tags from binary data")
        let ids = try await existing(BinaryFilterConversion.ids(request.binaryDataIds, request.binaryIds), caller: caller).map(\.id)
        var response = Viam_App_Data_V1_RemoveTagsFromBinaryDataByIDsResponse()
        response.deletedCount = UInt64(
            try await storeCall { try await store.removeBinaryTags(request.tags, organizationID: caller.organizationID, ids: ids) })
        return response
    }

    func removeTagsFromBinaryDataByFilter(_ request: Viam_App_Data_V1_RemoveTagsFromBinaryDataByFilterRequest) async throws
        -> Viam_App_Data_V1_RemoveTagsFromBinaryDataByFilterResponse
    {
        let caller = try Caller.require(.operator, to: "removing tags from binary data")
        let filter = try BinaryFilterConversion.filter(request.filter)
        var response = Viam_App_Data_V1_RemoveTagsFromBinaryDataByFilterResponse()
        response.deletedCount = UInt64(
            try await storeCall { try await store.removeBinaryTags(request.tags, organizationID: caller.organizationID, filter: filter) })
        return response
    }

    func tagsByFilter(_ request: Viam_App_Data_V1_TagsByFilterRequest) async throws -> Viam_App_Data_V1_TagsByFilterResponse {
        let caller = try Caller.require(.viewer, to: "listing tags")
        let filter = try BinaryFilterConversion.filter(request.filter)
        var response = Viam_App_Data_V1_TagsByFilterResponse()
        response.tags = try await storeCall { try await store.binaryTags(organizationID: caller.organizationID, filter: filter) }
        return response
    }

    func boundingBoxLabelsByFilter(_ request: Viam_App_Data_V1_BoundingBoxLabelsByFilterRequest) async throws
        -> Viam_App_Data_V1_BoundingBoxLabelsByFilterResponse
    {
        let caller = try Caller.require(.viewer, to: "listing bounding box labels")
        let filter = try BinaryFilterConversion.filter(request.filter)
        var response = Viam_App_Data_V1_BoundingBoxLabelsByFilterResponse()
        response.labels = try await storeCall { try await store.boundingBoxLabels(organizationID: caller.organizationID, filter: filter) }
        return response
    }

    func deleteBinaryDataByIDs(_ request: Viam_App_Data_V1_DeleteBinaryDataByIDsRequest) async throws
        -> Viam_App_Data_V1_DeleteBinaryDataByIDsResponse
    {
        let caller = try Caller.require(.owner, to: "deleting binary data")
        let ids = try await existing(BinaryFilterConversion.ids(request.binaryDataIds, request.binaryIds), caller: caller).map(\.id)
        var response = Viam_App_Data_V1_DeleteBinaryDataByIDsResponse()
        response.deletedCount = UInt64(try await storeCall { try await store.deleteBinaries(organizationID: caller.organizationID, ids: ids) })
        return response
    }

    func deleteBinaryDataByFilter(_ request: Viam_App_Data_V1_DeleteBinaryDataByFilterRequest) async throws
        -> Viam_App_Data_V1_DeleteBinaryDataByFilterResponse
    {
        let caller = try Caller.require(.owner, to: "deleting binary data")
        let filter = try BinaryFilterConversion.filter(request.filter)
        var response = Viam_App_Data_V1_DeleteBinaryDataByFilterResponse()
        response.deletedCount = UInt64(try await storeCall { try await store.deleteBinaries(organizationID: caller.organizationID, filter: filter) })
        return response
    }

    /// DeleteTabularData: the organisation's readings captured more than `delete_older_than_days`
    /// UTC days (of 24 hours) before now; 0 deletes them all.
    func deleteTabularData(_ request: Viam_App_Data_V1_DeleteTabularDataRequest) async throws -> Viam_App_Data_V1_DeleteTabularDataResponse {
        let caller = try Caller.require(.owner, to: "deleting tabular data")
        try Caller.requireOrganization(request.organizationID, caller)
        if request.hasFilter, request.filter != Viam_App_Data_V1_DeleteTabularFilter() {
            throw RPCError(
                code: .unimplemented,
                message: "DeleteTabularData's filter is not supported yet; leave it unset to delete by age across the organisation")
        }
        let days = Int64(request.deleteOlderThanDays)
        let before: Int64? = days == 0 ? nil : Date().unixMilliseconds - days * 86_400_000
        var response = Viam_App_Data_V1_DeleteTabularDataResponse()
        response.deletedCount = UInt64(try await storeCall { try await store.deleteReadings(organizationID: caller.organizationID, capturedBefore: before) })
        return response
    }

    func addBinaryDataToDatasetByIDs(_ request: Viam_App_Data_V1_AddBinaryDataToDatasetByIDsRequest) async throws
        -> Viam_App_Data_V1_AddBinaryDataToDatasetByIDsResponse
    {
        let caller = try Caller.require(.operator, to: "adding binary data to a dataset")
        let datasetID = try DatasetServiceImpl.datasetID(request.datasetID)
        let ids = try await existing(BinaryFilterConversion.ids(request.binaryDataIds, request.binaryIds), caller: caller).map(\.id)
        guard try await storeCall({ try await store.addToDataset(id: datasetID, organizationID: caller.organizationID, binaryIDs: ids) }) != nil
        else { throw DatasetServiceImpl.unknown([datasetID], caller) }
        return Viam_App_Data_V1_AddBinaryDataToDatasetByIDsResponse()
    }

    func removeBinaryDataFromDatasetByIDs(_ request: Viam_App_Data_V1_RemoveBinaryDataFromDatasetByIDsRequest) async throws
        -> Viam_App_Data_V1_RemoveBinaryDataFromDatasetByIDsResponse
    {
        let caller = try Caller.require(.operator, to: "removing binary data from a dataset")
        let datasetID = try DatasetServiceImpl.datasetID(request.datasetID)
        let ids = try await existing(BinaryFilterConversion.ids(request.binaryDataIds, request.binaryIds), caller: caller).map(\.id)
        guard try await storeCall({ try await store.removeFromDataset(id: datasetID, organizationID: caller.organizationID, binaryIDs: ids) }) != nil
        else { throw DatasetServiceImpl.unknown([datasetID], caller) }
        return Viam_App_Data_V1_RemoveBinaryDataFromDatasetByIDsResponse()
    }

    /// The records of `ids` in the caller's organisation, refusing the call (NOT_FOUND) when any is
    /// unknown there, before anything changes.
    private func existing(_ ids: [String], caller: APIKeyIdentity) async throws -> [BinaryRecord] {
        let records = try await storeCall { try await store.binaries(organizationID: caller.organizationID, ids: ids) }
        let found = Set(records.map(\.id))
        let missing = ids.filter { !found.contains($0) }
        guard missing.isEmpty else {
            let shown = missing.prefix(5).map(\.debugDescription).joined(separator: ", ")
            throw RPCError(
                code: .notFound,
                message: "no binary data with id \(shown)\(missing.count > 5 ? " (and \(missing.count - 5) more)" : "") in organization \(caller.organizationID); nothing was changed")
        }
        return records
    }

    /// Bytes of the items in one BinaryDataByFilter response at most (payloads and metadata): gRPC
    /// clients receive messages of up to 4 MiB by default; the rest of the response is small.
    static let responseBudget = 4 * 1024 * 1024 - 64 * 1024

    /// The messages of `records`, with their payloads when asked, and the records they cover. With
    /// a `budget`, it stops before the next item would pass it (the first item always goes).
    private func binaryData(_ records: [BinaryRecord], includeBinary: Bool, organizationID: String, budget: Int?) async throws
        -> (data: [Viam_App_Data_V1_BinaryData], covered: ArraySlice<BinaryRecord>)
    {
        var out: [Viam_App_Data_V1_BinaryData] = []
        out.reserveCapacity(records.count)
        var used = 0
        for (index, record) in records.enumerated() {
            var data = Viam_App_Data_V1_BinaryData()
            data.metadata = BinaryFilterConversion.metadata(record)
            if let budget {
                let size = record.size + ((try? data.metadata.serializedBytes() as [UInt8])?.count ?? 0) + 16
                if index > 0, used + size > budget { return (out, records[..<index]) }
                used += size
            }
            if includeBinary {
                // Deleted since it was listed: leave it out rather than answer with an empty payload.
                guard let bytes = try await storeCall({ try await store.binaryData(organizationID: organizationID, id: record.id) }) else { continue }
                data.binary = Data(bytes)
            }
            out.append(data)
        }
        return (out, records[...])
    }
}

/// Viam's binary-data messages in the store's terms and back. Pure, so it is tested on its own.
enum BinaryFilterConversion {
    /// The store filter of Viam's `Filter`. Names (`robot_name`, `part_name`) are refused: Ferry
    /// records machine and part ids, not names.
    static func filter(_ f: Viam_App_Data_V1_Filter) throws(RPCError) -> BinaryFilter {
        if !f.robotName.isEmpty || !f.partName.isEmpty {
            throw RPCError(
                code: .invalidArgument,
                message: "filter.\(f.robotName.isEmpty ? "part_name" : "robot_name") is not supported: Ferry records machine and part ids, not names; filter by robot_id or part_id")
        }
        var filter = BinaryFilter()
        // The store confines every call to the caller's organisation; naming only others matches nothing.
        if !f.organizationIds.isEmpty { filter.columns.restrict(.organizationID, to: Set(f.organizationIds)) }
        if !f.locationIds.isEmpty { filter.columns.restrict(.locationID, to: Set(f.locationIds)) }
        for (value, column) in [
            (f.robotID, ReadingFilter.Column.robotID), (f.partID, .partID), (f.componentName, .componentName),
            (f.componentType, .componentType), (f.method, .methodName),
        ] where !value.isEmpty {
            filter.columns.restrict(column, to: [value])
        }
        if !f.mimeType.isEmpty { filter.mimeTypes = Set(f.mimeType) }
        if !f.bboxLabels.isEmpty { filter.boundingBoxLabels = Set(f.bboxLabels) }
        // A dataset of another organisation holds none of the caller's payloads: it matches nothing.
        if !f.datasetID.isEmpty { filter.datasetID = f.datasetID }
        if f.hasInterval {
            // Viam's capture interval is [start, end) of the capture time.
            if f.interval.hasStart {
                filter.columns.timeRequested.atLeast(try milliseconds(f.interval.start, field: "filter.interval.start"))
            }
            if f.interval.hasEnd {
                filter.columns.timeRequested.lessThan(try milliseconds(f.interval.end, field: "filter.interval.end"))
            }
        }
        if f.hasTagsFilter {
            let tags = f.tagsFilter.tags
            switch f.tagsFilter.type {
            // The SDK's create_filter(tags=…) leaves the type unspecified: match any of them.
            case .unspecified: if !tags.isEmpty { filter.tags = .matchAny(Set(tags)) }
            case .matchByOr:
                guard !tags.isEmpty else {
                    throw RPCError(code: .invalidArgument, message: "filter.tags_filter of type TAGS_FILTER_TYPE_MATCH_BY_OR needs at least one tag")
                }
                filter.tags = .matchAny(Set(tags))
            case .tagged: filter.tags = .tagged
            case .untagged: filter.tags = .untagged
            case .UNRECOGNIZED(let value):
                throw RPCError(code: .invalidArgument, message: "filter.tags_filter.type \(value) is not a TagsFilterType")
            }
        }
        return filter
    }

    /// The ids a request names: `binary_data_ids`, or the deprecated `binary_ids` (whose `file_id`
    /// is the id FileUpload and DataCaptureUpload return). Refuses an empty list.
    static func ids(_ binaryDataIDs: [String], _ binaryIDs: [Viam_App_Data_V1_BinaryID]) throws(RPCError) -> [String] {
        let ids = binaryDataIDs + binaryIDs.map(\.fileID)
        guard !ids.isEmpty else { throw RPCError(code: .invalidArgument, message: "give at least one binary data id (binary_data_ids)") }
        if let index = ids.firstIndex(where: \.isEmpty) {
            throw RPCError(code: .invalidArgument, message: "binary data id \(index) is empty; pass the binary_data_id of an upload")
        }
        return ids
    }

    static func metadata(_ record: BinaryRecord) -> Viam_App_Data_V1_BinaryMetadata {
        let m = record.metadata
        var capture = Viam_App_Data_V1_CaptureMetadata()
        capture.organizationID = m.organizationID
        capture.locationID = m.locationID
        capture.robotID = m.robotID
        capture.partID = m.partID
        capture.componentType = m.componentType
        capture.componentName = m.componentName
        capture.methodName = m.methodName
        capture.tags = m.tags
        capture.mimeType = m.mimeType
        var metadata = Viam_App_Data_V1_BinaryMetadata()
        metadata.id = record.id
        metadata.binaryDataID = record.id
        metadata.captureMetadata = capture
        metadata.timeRequested = DataPipelinesServiceImpl.timestamp(m.timeRequested)
        metadata.timeReceived = DataPipelinesServiceImpl.timestamp(m.timeReceived)
        metadata.fileName = m.fileName
        metadata.fileExt = m.fileExtension
        metadata.fileSizeBytes = UInt64(record.size)
        if let annotations = m.annotations { metadata.annotations = AnnotationConversion.annotations(from: annotations) }
        metadata.datasetIds = m.datasetIDs
        return metadata
    }

    private static func milliseconds(_ timestamp: Google_Protobuf_Timestamp, field: String) throws(RPCError) -> Int64 {
        try converted { () throws(UploadRefusal) in try UploadConversion.milliseconds(timestamp, field: field) }
    }
}
