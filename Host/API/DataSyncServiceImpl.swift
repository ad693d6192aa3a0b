import FerryBSON
import FerryCaptureFile
import FerryIngest
import FerryStore
import Foundation
import GRPCCore
import GRPCProtobuf
import SwiftProtobuf
import Tracing
import ViamGRPC
import ViamProtos

/// `viam.app.datasync.v1.DataSyncService`: uploads from Ferry hosts and from the Viam SDKs.
///
/// Exactly-once ingest: an upload may carry `ferry-file-id` (a stable id of the capture file) and
/// `ferry-record-range` (`FIRST-END`, records [FIRST, END) of that file) in its request metadata;
/// the store then applies each record of the file once, however often it is sent. A Viam server
/// ignores these headers; uploads without them are applied as they come.
struct DataSyncServiceImpl: Viam_App_Datasync_V1_DataSyncService.SimpleServiceProtocol {
    let store: any ReadingStore
    let retention = RetentionPolicyCache()

    /// Stores the retention policy the upload carries (`ferry-retention-policy`) for its resource:
    /// the latest upload's policy wins.
    func recordRetention(_ upload: Viam_App_Datasync_V1_UploadMetadata, caller: APIKeyIdentity) async throws {
        guard let policy = try RetentionHeader.policy(from: ServerMetadataBox.current) else { return }
        let resource = RetentionResource(
            organizationID: caller.organizationID, partID: upload.partID, componentName: upload.componentName, methodName: upload.methodName)
        try await storeCall { try await retention.record(policy, for: resource, in: store) }
    }

    /// The generated route, replaced by `DataSyncService`'s; kept for the protocol, it reads the
    /// request the same way.
    func dataCaptureUpload(request: Viam_App_Datasync_V1_DataCaptureUploadRequest, context: ServerContext) async throws
        -> Viam_App_Datasync_V1_DataCaptureUploadResponse
    {
        try await dataCaptureUpload(try CaptureUpload(serializedBytes: request.serializedBytes()))
    }

    /// The route `DataSyncService` gives DataCaptureUpload: the request read by `CaptureUpload`.
    func dataCaptureUpload(_ upload: CaptureUpload) async throws -> Viam_App_Datasync_V1_DataCaptureUploadResponse {
        let caller = try Caller.require(.operator, to: "uploading data")
        let key = try IdempotencyHeaders.key(from: ServerMetadataBox.current)
        var response = Viam_App_Datasync_V1_DataCaptureUploadResponse()
        switch upload {
        case .tabular(let tabular):
            let result = try await withSpan("ingest readings") { span in
                span.attributes["ferry.readings"] = tabular.count
                do {
                    return try await storeCall { try await store.insert(UploadConversion.batch(tabular, caller: caller), idempotencyKey: key) }
                } catch let refusal as UploadRefusal {
                    throw RPCError(code: .invalidArgument, message: refusal.description)
                }
            }
            // Only an upload that is stored sets its resource's retention policy.
            try await recordRetention(tabular.metadata, caller: caller)
            // The store's count, not the request serialized again (that cost as much as decoding it).
            ServerMetrics.upload("tabular", bytes: result.bytes)
            ServerMetrics.rowsIngested(result.inserted)
            response.fileID = key?.fileID ?? UUID().uuidString
        case .other(let request):
            let metadata = request.metadata
            if case .UNRECOGNIZED(let value) = metadata.type {
                throw RPCError(code: .invalidArgument, message: "upload_metadata.type \(value) is not a data type")
            }
            guard let record = request.sensorContents.first, case .binary(let bytes)? = record.data else {
                throw RPCError(code: .invalidArgument, message: "a binary upload needs one sensor_contents entry with binary data")
            }
            let stored = try converted { () throws(UploadRefusal) in
                try UploadConversion.binaryMetadata(metadata, record.metadata, caller: caller, fileID: key?.fileID)
            }
            try await recordRetention(metadata, caller: caller)
            let binary = try await storeCall { try await store.storeBinary(stored, bytes: [UInt8](bytes)) }
            ServerMetrics.upload("binary", bytes: bytes.count)
            response.fileID = key?.fileID ?? binary.id
            response.binaryDataID = binary.id
        }
        return response
    }

    func fileUpload(
        request: RPCAsyncSequence<Viam_App_Datasync_V1_FileUploadRequest, any Error>, context: ServerContext
    ) async throws -> Viam_App_Datasync_V1_FileUploadResponse {
        let caller = try Caller.require(.operator, to: "uploading files")
        let key = try IdempotencyHeaders.key(from: ServerMetadataBox.current)
        var metadata: Viam_App_Datasync_V1_UploadMetadata?
        var bytes: [UInt8] = []
        for try await packet in request {
            switch packet.uploadPacket {
            case .metadata(let value):
                guard metadata == nil else { throw RPCError(code: .invalidArgument, message: "FileUpload sent metadata twice") }
                metadata = value
            case .fileContents(let contents):
                guard metadata != nil else { throw RPCError(code: .invalidArgument, message: "FileUpload must send metadata before file contents") }
                bytes += contents.data
            case nil: continue
            }
        }
        guard let metadata else { throw RPCError(code: .invalidArgument, message: "FileUpload sent no metadata") }
        let file = try converted { () throws(UploadRefusal) in try UploadConversion.fileMetadata(metadata, caller: caller, fileID: key?.fileID) }
        let record = try await withSpan("ingest binary") { span in
            span.attributes["ferry.bytes"] = bytes.count
            return try await storeCall { try await store.storeBinary(file, bytes: bytes) }
        }
        ServerMetrics.upload("file", bytes: bytes.count)
        var response = Viam_App_Datasync_V1_FileUploadResponse()
        response.fileID = record.id
        response.binaryDataID = record.id
        return response
    }

    func streamingDataCaptureUpload(
        request: RPCAsyncSequence<Viam_App_Datasync_V1_StreamingDataCaptureUploadRequest, any Error>, context: ServerContext
    ) async throws -> Viam_App_Datasync_V1_StreamingDataCaptureUploadResponse {
        let caller = try Caller.require(.operator, to: "uploading data")
        let key = try IdempotencyHeaders.key(from: ServerMetadataBox.current)
        var metadata: Viam_App_Datasync_V1_DataCaptureUploadMetadata?
        var bytes: [UInt8] = []
        for try await packet in request {
            switch packet.uploadPacket {
            case .metadata(let value):
                guard metadata == nil else { throw RPCError(code: .invalidArgument, message: "StreamingDataCaptureUpload sent metadata twice") }
                metadata = value
            case .data(let chunk):
                guard metadata != nil else {
                    throw RPCError(code: .invalidArgument, message: "StreamingDataCaptureUpload must send metadata before data")
                }
                bytes += chunk
            case nil: continue
            }
        }
        guard let metadata else { throw RPCError(code: .invalidArgument, message: "StreamingDataCaptureUpload sent no metadata") }
        try await recordRetention(metadata.uploadMetadata, caller: caller)
        let stored = try converted { () throws(UploadRefusal) in
            try UploadConversion.binaryMetadata(metadata.uploadMetadata, metadata.sensorMetadata, caller: caller, fileID: key?.fileID)
        }
        let record = try await withSpan("ingest binary") { span in
            span.attributes["ferry.bytes"] = bytes.count
            return try await storeCall { try await store.storeBinary(stored, bytes: bytes) }
        }
        ServerMetrics.upload("streaming", bytes: bytes.count)
        var response = Viam_App_Datasync_V1_StreamingDataCaptureUploadResponse()
        response.fileID = key?.fileID ?? record.id
        response.binaryDataID = record.id
        return response
    }
}

enum IdempotencyHeaders {
    static let fileID = "ferry-file-id"
    static let recordRange = "ferry-record-range"

    static func key(from metadata: Metadata?) throws -> IdempotencyKey? {
        guard let metadata, let file = metadata[stringValues: fileID].first(where: { _ in true }) else { return nil }
        guard let range = metadata[stringValues: recordRange].first(where: { _ in true }) else {
            throw RPCError(code: .invalidArgument, message: "\(fileID) needs \(recordRange): FIRST-END (records [FIRST, END) of the file)")
        }
        let bounds = range.split(separator: "-").compactMap { Int($0) }
        guard bounds.count == 2, bounds[0] >= 0, bounds[1] >= bounds[0], !file.isEmpty else {
            throw RPCError(code: .invalidArgument, message: "\(recordRange) \"\(range)\" is not FIRST-END with 0 <= FIRST <= END")
        }
        return IdempotencyKey(fileID: file, firstRecord: bounds[0], lastRecord: bounds[1])
    }
}

/// The request metadata of the call being handled (SimpleServiceProtocol hides it; the
/// interceptor passes it down in a task local).
enum ServerMetadataBox {
    @TaskLocal static var current: Metadata?
}

/// An upload the conversion refuses is the client's fault: INVALID_ARGUMENT, with what was wrong.
func converted<T>(_ body: () throws(UploadRefusal) -> T) throws(RPCError) -> T {
    do {
        return try body()
    } catch {
        throw RPCError(code: .invalidArgument, message: error.description)
    }
}

/// DataSyncService with DataCaptureUpload read by `CaptureUpload`: a tabular upload's records go
/// from their wire bytes straight to BSON instead of through swift-protobuf's `Struct` maps.
struct DataSyncService: RegistrableRPCService {
    let implementation: DataSyncServiceImpl

    func registerMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
        implementation.registerMethods(with: &router)
        // Replaces the generated route of the same method.
        router.registerHandler(
            forMethod: Viam_App_Datasync_V1_DataSyncService.Method.DataCaptureUpload.descriptor,
            deserializer: CaptureUploadDeserializer(),
            serializer: ProtobufSerializer<Viam_App_Datasync_V1_DataCaptureUploadResponse>()
        ) { [implementation] request, context in
            let upload = try await ServerRequest(stream: request).message
            return StreamingServerResponse(single: ServerResponse(message: try await implementation.dataCaptureUpload(upload)))
        }
    }
}

struct CaptureUploadDeserializer: MessageDeserializer {
    func deserialize<Bytes: GRPCContiguousBytes>(_ serializedMessageBytes: Bytes) throws -> CaptureUpload {
        do {
            return try CaptureUpload(serializedBytes: serializedMessageBytes.withUnsafeBytes { [UInt8]($0) })
        } catch {
            throw RPCError(code: .invalidArgument, message: "Can't deserialize to message of type DataCaptureUploadRequest: \(error)")
        }
    }
}
