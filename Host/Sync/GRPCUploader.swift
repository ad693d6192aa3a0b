import FerryConfig
import FerryCaptureFile
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import GRPCProtobuf
import Logging
import Metrics
import Synchronization
import Tracing
import ViamGRPC
import ViamProtos

/// Uploads to a data server over Viam's DataSyncService, authenticating with an API key through
/// `proto.rpc.v1.AuthService` and re-authenticating when a token expires.
package final class GRPCUploader: DataUploader {
    package struct Endpoint: Sendable, Equatable {
        package var host: String
        package var port: Int
        package var apiKeyID: String
        package var apiKey: String
        /// A PEM file to trust; nil trusts the system's roots.
        package var caCertificate: String?
        /// Plain HTTP/2 (h2c), for a server started with `--insecure`.
        package var insecure = false

        package init(host: String, port: Int, apiKeyID: String, apiKey: String, caCertificate: String?, insecure: Bool = false) {
            self.host = host
            self.port = port
            self.apiKeyID = apiKeyID
            self.apiKey = apiKey
            self.caCertificate = caCertificate
            self.insecure = insecure
        }

        package var address: String { "\(host):\(port)" }
    }

    static let chunkSize = 64 * 1024
    let endpoint: Endpoint
    let client: GRPCClient<HTTP2ClientTransport.Posix>
    let token = Mutex<String?>(nil)
    let logger: Logger
    /// Per call: long enough for a 1 MiB batch on a slow link, short enough that a silently
    /// dead connection is noticed.
    let callTimeout: Duration
    private let connections: Task<Void, Never>

    package init(endpoint: Endpoint, callTimeout: Duration = .seconds(60), logger: Logger = Logger(label: "ferry.sync")) throws {
        self.endpoint = endpoint
        self.callTimeout = callTimeout
        self.logger = logger
        let target: any ResolvableTarget =
            endpoint.host.split(separator: ".").count == 4 && endpoint.host.allSatisfy({ $0.isNumber || $0 == "." })
            ? .ipv4(address: endpoint.host, port: endpoint.port) : .dns(host: endpoint.host, port: endpoint.port)
        let security: HTTP2ClientTransport.Posix.TransportSecurity =
            if endpoint.insecure {
                .plaintext
            } else if let ca = endpoint.caCertificate {
                .tls { $0.trustRoots = .certificates([.file(path: ca, format: .pem)]) }
            } else {
                .tls
            }
        // Reconnect quickly: the sync schedule already backs off per file and while offline, and
        // gRPC's own default (up to 2 minutes) would hold a drained backlog long after the
        // server is back.
        let config = HTTP2ClientTransport.Posix.Config.defaults {
            $0.backoff = .init(initial: .milliseconds(200), max: .seconds(5), multiplier: 1.6, jitter: 0.2)
        }
        let transport = try HTTP2ClientTransport.Posix(target: target, transportSecurity: security, config: config)
        let client = GRPCClient(transport: transport)
        self.client = client
        connections = Task {
            do { try await client.runConnections() } catch { logger.error("sync connection to \(endpoint.address) ended: \(error)") }
        }
    }

    deinit {
        client.beginGracefulShutdown()
        connections.cancel()
    }

    package func close() { client.beginGracefulShutdown() }

    // MARK: DataUploader

    package func uploadTabular(_ metadata: UploadMetadata, records: [Data], key: UploadKey) async throws(UploadFailure) {
        let request: Data
        do {
            request = try EncodedUploadRequest.bytes(metadata: metadata, records: records)
        } catch {
            throw .rejected("the upload's metadata does not encode: \(error)")
        }
        try await call("DataCaptureUpload", key: key) { [client] _, headers, options in
            _ = try await client.unary(
                request: ClientRequest(message: request, metadata: headers),
                descriptor: Viam_App_Datasync_V1_DataSyncService.Method.DataCaptureUpload.descriptor,
                serializer: EncodedUploadRequest(), deserializer: ProtobufDeserializer<Viam_App_Datasync_V1_DataCaptureUploadResponse>(),
                options: options
            ) { try $0.message }
        }
    }

    package func uploadBinary(_ metadata: UploadMetadata, record: SensorData, key: UploadKey, streamingThreshold: Int)
        async throws(UploadFailure)
    {
        let payload = record.binary
        guard payload.count > streamingThreshold else {
            // Small enough for one DataCaptureUpload, the same request as a tabular batch of one.
            let encoded: Data
            do { encoded = try record.serializedBytes() } catch { throw .rejected("the binary record does not encode: \(error)") }
            try await uploadTabular(metadata, records: [encoded], key: key)
            return
        }
        var captureHeader = Viam_App_Datasync_V1_DataCaptureUploadMetadata()
        captureHeader.uploadMetadata = metadata
        captureHeader.sensorMetadata = record.metadata
        let header = captureHeader
        try await call("StreamingDataCaptureUpload", key: key) { service, headers, options in
            _ = try await service.streamingDataCaptureUpload(metadata: headers, options: options) { writer in
                var first = Viam_App_Datasync_V1_StreamingDataCaptureUploadRequest()
                first.metadata = header
                try await writer.write(first)
                var offset = payload.startIndex
                while offset < payload.endIndex {
                    let end = min(offset + Self.chunkSize, payload.endIndex)
                    var chunk = Viam_App_Datasync_V1_StreamingDataCaptureUploadRequest()
                    chunk.data = payload[offset..<end]
                    try await writer.write(chunk)
                    offset = end
                }
            }
        }
    }

    package func uploadFile(_ metadata: UploadMetadata, path: String, key: UploadKey) async throws(UploadFailure) {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw .retry("cannot open \(path) for upload: \(String(cString: strerror(errno)))") }
        defer { Glibc.close(descriptor) }
        try await call("FileUpload", key: key) { service, headers, options in
            _ = try await service.fileUpload(metadata: headers, options: options) { writer in
                var first = Viam_App_Datasync_V1_FileUploadRequest()
                first.metadata = metadata
                try await writer.write(first)
                var offset: off_t = 0
                var buffer = [UInt8](repeating: 0, count: Self.chunkSize)
                while true {
                    let count = buffer.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, offset) }
                    if count < 0, errno == EINTR { continue }
                    guard count >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
                    guard count > 0 else { break }
                    var chunk = Viam_App_Datasync_V1_FileUploadRequest()
                    chunk.fileContents.data = Data(buffer[..<count])
                    try await writer.write(chunk)
                    offset += off_t(count)
                }
            }
        }
    }

    // MARK: Calls

    typealias Service = Viam_App_Datasync_V1_DataSyncService.Client<HTTP2ClientTransport.Posix>

    /// Runs one call with the bearer token and the idempotency headers, authenticating first
    /// when there is no token and once more when the server says it expired.
    private func call(
        _ name: String, key: UploadKey,
        _ body: @Sendable (Service, Metadata, CallOptions) async throws -> Void
    ) async throws(UploadFailure) {
        var options = CallOptions.defaults
        options.timeout = callTimeout
        // Fail fast while the server is down; the sync schedule decides when to try again.
        options.waitForReady = false
        let service = Service(wrapping: client)
        // A client span per call; its context goes to the server as W3C `traceparent`.
        let span = InstrumentationSystem.tracer.startSpan("upload \(name)", context: ServiceContext.current ?? .topLevel, ofKind: .client)
        span.attributes["rpc.system"] = "grpc"
        span.attributes["rpc.method"] = name
        span.attributes["ferry.file_id"] = key.fileID
        span.attributes["ferry.records"] = key.recordRange
        defer { span.end() }
        for attempt in 0..<2 {
            let bearer = try await currentToken(options: options)
            var headers: Metadata = ["authorization": "Bearer \(bearer)"]
            headers.addString(key.fileID, forKey: UploadKey.fileIDHeader)
            headers.addString(key.recordRange, forKey: UploadKey.recordRangeHeader)
            if let policy = key.retentionPolicy { headers.addString(policy, forKey: RetentionPolicyConfig.header) }
            InstrumentationSystem.instrument.inject(span.context, into: &headers, using: MetadataInjector())
            do {
                let start = ContinuousClock.now
                try await body(service, headers, options)
                Metrics.Timer(label: "ferry_sync_upload_duration_seconds", dimensions: [("call", name)]).record(duration: ContinuousClock.now - start)
                return
            } catch let error as RPCError where error.code == .unauthenticated && attempt == 0 {
                // The token expired (or the server restarted with a new secret): sign in again.
                token.withLock { $0 = nil }
                continue
            } catch {
                let failure = Self.classify(error, call: name, endpoint: endpoint)
                span.recordError(failure)
                span.setStatus(SpanStatus(code: .error, message: "\(failure)"))
                throw failure
            }
        }
        span.setStatus(SpanStatus(code: .error, message: "refused twice right after signing in"))
        throw .unauthorized("\(name) to \(endpoint.address) was refused twice right after signing in")
    }

    private func currentToken(options: CallOptions) async throws(UploadFailure) -> String {
        if let existing = token.withLock({ $0 }) { return existing }
        var request = Proto_Rpc_V1_AuthenticateRequest()
        request.entity = endpoint.apiKeyID
        request.credentials.type = "api-key"
        request.credentials.payload = endpoint.apiKey
        let auth = Proto_Rpc_V1_AuthService.Client(wrapping: client)
        do {
            let response = try await auth.authenticate(request, options: options)
            token.withLock { $0 = response.accessToken }
            return response.accessToken
        } catch {
            throw Self.classify(error, call: "Authenticate", endpoint: endpoint)
        }
    }

    static func classify(_ error: any Error, call: String, endpoint: Endpoint) -> UploadFailure {
        guard let rpc = error as? RPCError else {
            return .retry("\(call) to \(endpoint.address): \(error)")
        }
        let message = "\(call) to \(endpoint.address): \(rpc.code): \(rpc.message)"
        switch rpc.code {
        case .unavailable, .deadlineExceeded, .cancelled, .unknown:
            return .unreachable(message)
        case .unauthenticated:
            return .unauthorized("\(message) (check api_key_id and api_key in the data_manager's ferry attributes; create a key with `ferry key create`)")
        case .permissionDenied:
            return .unauthorized("\(message) (the API key needs the operator or owner role to upload)")
        case .invalidArgument, .failedPrecondition, .outOfRange:
            return .rejected(message)
        default:
            return .retry(message)
        }
    }
}

/// Writes the trace context into gRPC metadata (`traceparent`, `tracestate`).
struct MetadataInjector: Injector {
    func inject(_ value: String, forKey key: String, into metadata: inout Metadata) {
        metadata.replaceOrAddString(value, forKey: key)
    }
}

/// A `DataCaptureUploadRequest` written field by field from records already encoded (a capture
/// file's), so sync neither decodes them nor encodes them again; as a serializer, it sends the
/// bytes as they are.
struct EncodedUploadRequest: MessageSerializer {
    func serialize<Bytes: GRPCContiguousBytes>(_ message: Data) throws -> Bytes { Bytes(message) }

    /// `metadata` (field 1) and each record as a `sensor_contents` entry (field 2).
    static func bytes(metadata: UploadMetadata, records: [Data]) throws -> Data {
        let header: Data = try metadata.serializedBytes()
        var out = Data(capacity: header.count + records.reduce(0) { $0 + $1.count + 6 } + 6)
        func field(_ number: UInt64, _ body: Data) {
            out.append(contentsOf: Varint.encode(number << 3 | 2))
            out.append(contentsOf: Varint.encode(UInt64(body.count)))
            out.append(body)
        }
        field(1, header)
        for record in records { field(2, record) }
        return out
    }
}
