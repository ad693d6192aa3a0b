import GRPCCore
import Tracing

/// A server span for each call, continuing the caller's trace when its metadata carries a W3C
/// `traceparent` (a host's upload does), so an upload and its ingest are one trace. The span
/// covers the handler; a server-streaming response's messages are written after it ends.
struct TracingInterceptor: ServerInterceptor {
    func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingServerRequest<Input>, context: ServerContext,
        next: (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        var parent = ServiceContext.topLevel
        InstrumentationSystem.instrument.extract(request.metadata, into: &parent, using: MetadataExtractor())
        return try await withSpan(context.descriptor.fullyQualifiedMethod, context: parent, ofKind: .server) { span in
            span.attributes["rpc.system"] = "grpc"
            span.attributes["rpc.service"] = context.descriptor.service.fullyQualifiedService
            span.attributes["rpc.method"] = context.descriptor.method
            return try await next(request, context)
        }
    }
}

/// Reads the trace context from gRPC metadata.
struct MetadataExtractor: Extractor {
    func extract(key: String, from metadata: Metadata) -> String? {
        metadata[stringValues: key].first { _ in true }
    }
}
