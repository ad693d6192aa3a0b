import Foundation
import Synchronization
import FerryClock
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
    let revocations: RevocationCheck

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
        guard try await revocations.isActive(identity.keyID) else {
            throw RPCError(code: .unauthenticated, message: "API key \(identity.keyID) was revoked; its tokens are no longer accepted")
        }
        return try await Caller.$identity.withValue(identity) {
            try await ServerMetadataBox.$current.withValue(request.metadata) { try await next(request, context) }
        }
    }
}

/// Tokens are signed, so checking one needs no store; but a revoked key must stop working before
/// its tokens expire. The key's state is looked up at most once per `ttl` per key.
final class RevocationCheck: Sendable {
    let store: any ReadingStore
    let ttl: Duration
    let checked = Mutex<[String: (active: Bool, at: Date)]>([:])

    init(store: any ReadingStore, ttl: Duration = .seconds(2)) {
        self.store = store
        self.ttl = ttl
    }

    func isActive(_ keyID: String, now: Date = Date()) async throws -> Bool {
        if let cached = checked.withLock({ $0[keyID] }), now.timeIntervalSince(cached.at) < ttl.inSeconds { return cached.active }
        let active: Bool
        do {
            active = try await store.isAPIKeyActive(id: keyID)
        } catch {
            throw RPCError(code: .unavailable, message: "cannot check API key \(keyID): \(error)")
        }
        checked.withLock { $0[keyID] = (active, now) }
        return active
    }
}
