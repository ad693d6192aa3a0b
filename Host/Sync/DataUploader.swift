import FerryCaptureFile
import Foundation
import ViamProtos

package typealias UploadMetadata = Viam_App_Datasync_V1_UploadMetadata

/// Ferry's exactly-once key for one upload: records [first, end) of the file `fileID`. Sent as
/// gRPC request metadata (`ferry-file-id`, `ferry-record-range`), which a Viam server ignores;
/// so is the capture method's retention policy, when the upload has one to carry.
package struct UploadKey: Sendable, Equatable, Hashable {
    package var fileID: String
    package var first: Int
    package var end: Int
    /// `RetentionPolicyConfig.headerValue` of the file's capture method, sent as
    /// `ferry-retention-policy`; nil sends nothing (the server keeps what it has).
    package var retentionPolicy: String?

    package init(fileID: String, first: Int, end: Int, retentionPolicy: String? = nil) {
        self.fileID = fileID
        self.first = first
        self.end = end
        self.retentionPolicy = retentionPolicy
    }

    package static let fileIDHeader = "ferry-file-id"
    package static let recordRangeHeader = "ferry-record-range"
    package var recordRange: String { "\(first)-\(end)" }
}

/// The wire to the data server, as the sync engine needs it. The gRPC implementation speaks
/// Viam's DataSyncService; tests substitute their own. Every method throws `UploadFailure`.
package protocol DataUploader: Sendable {
    /// DataCaptureUpload of tabular records (one request), each a serialized `SensorData`, as a
    /// capture file holds it.
    func uploadTabular(_ metadata: UploadMetadata, records: [Data], key: UploadKey) async throws(UploadFailure)
    /// One binary payload: DataCaptureUpload, or StreamingDataCaptureUpload in 64 KiB chunks
    /// when it is larger than `streamingThreshold`.
    func uploadBinary(_ metadata: UploadMetadata, record: SensorData, key: UploadKey, streamingThreshold: Int)
        async throws(UploadFailure)
    /// FileUpload of an arbitrary file, streamed from disk in 64 KiB chunks.
    func uploadFile(_ metadata: UploadMetadata, path: String, key: UploadKey) async throws(UploadFailure)
}

extension UploadMetadata {
    /// What a capture file's header becomes on the wire, with the machine's part id and the
    /// service's tags added.
    static func capture(_ header: DataCaptureMetadata, partID: String, extraTags: [String]) -> UploadMetadata {
        var metadata = UploadMetadata()
        metadata.partID = partID
        metadata.componentType = header.componentType
        metadata.componentName = header.componentName
        metadata.methodName = header.methodName
        metadata.type = header.type
        metadata.methodParameters = header.methodParameters
        metadata.fileExtension = header.fileExtension
        metadata.mimeType = header.mimeType
        var tags = header.tags
        for tag in extraTags where !tags.contains(tag) { tags.append(tag) }
        metadata.tags = tags
        return metadata
    }
}
