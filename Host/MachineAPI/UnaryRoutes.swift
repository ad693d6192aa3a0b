import GRPCCore
import GRPCProtobuf
import SwiftProtobuf

extension RPCRouter {
    /// Registers one unary method. The machine API registers only the methods Ferry answers, so
    /// every other method of a service gets gRPC's own UNIMPLEMENTED.
    mutating func unary<Input: SwiftProtobuf.Message, Output: SwiftProtobuf.Message>(
        _ method: MethodDescriptor, _ handler: @escaping @Sendable (Input) async throws -> Output
    ) {
        registerHandler(
            forMethod: method, deserializer: ProtobufDeserializer<Input>(), serializer: ProtobufSerializer<Output>()
        ) { request, _ in
            let single = try await ServerRequest(stream: request)
            return StreamingServerResponse(single: ServerResponse(message: try await handler(single.message)))
        }
    }
}
