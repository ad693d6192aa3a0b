import FerryStore
import GRPCCore
import ViamGRPC
import ViamProtos

/// `proto.rpc.v1.AuthService/Authenticate`: API key id + key → bearer token.
struct AuthServiceImpl: Proto_Rpc_V1_AuthService.SimpleServiceProtocol {
    let store: any ReadingStore
    let tokens: TokenSigner

    func authenticate(request: Proto_Rpc_V1_AuthenticateRequest, context: ServerContext) async throws
        -> Proto_Rpc_V1_AuthenticateResponse
    {
        guard request.credentials.type == "api-key" else {
            throw RPCError(code: .invalidArgument, message: "credentials type \"\(request.credentials.type)\" is not supported; use \"api-key\"")
        }
        guard let identity = try await store.verifyAPIKey(id: request.entity, secret: request.credentials.payload) else {
            throw RPCError(code: .unauthenticated, message: "unknown API key id or wrong key (or the key was revoked)")
        }
        var response = Proto_Rpc_V1_AuthenticateResponse()
        response.accessToken = tokens.issue(for: identity).token
        return response
    }
}

/// Every call but Authenticate needs `authorization: Bearer <token>`; the caller's identity is
/// then available to the handler through `Caller.identity`.
struct BearerAuthInterceptor: ServerInterceptor {
    let tokens: TokenSigner

    func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingServerRequest<Input>, context: ServerContext,
        next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        guard let header = request.metadata[stringValues: "authorization"].first(where: { _ in true }) else {
            throw RPCError(code: .unauthenticated, message: "missing authorization header; call AuthService/Authenticate with an API key first")
        }
        guard header.hasPrefix("Bearer ") else {
            throw RPCError(code: .unauthenticated, message: "the authorization header must be \"Bearer <token>\"")
        }
        let identity: APIKeyIdentity
        do {
            identity = try tokens.verify(String(header.dropFirst("Bearer ".count)))
        } catch {
            throw RPCError(code: .unauthenticated, message: "\(error)")
        }
        return try await Caller.$identity.withValue(identity) {
            try await ServerMetadataBox.$current.withValue(request.metadata) { try await next(request, context) }
        }
    }
}
