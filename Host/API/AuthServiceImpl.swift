import Foundation
import Synchronization
import FerryClock
import FerryStore
import GRPCCore
import ViamGRPC
import ViamProtos

/// Where API keys are checked: the data server's store, or a host's machine config (the machine API).
package protocol APIKeyVerifier: Sendable {
    /// The key's identity, or nil for an unknown id or a wrong key.
    func verifyAPIKey(id: String, secret: String) async throws -> APIKeyIdentity?
    /// Whether a key still exists and is not revoked (checked for tokens issued earlier).
    func isAPIKeyActive(id: String) async throws -> Bool
}

/// The data server's keys: its store.
struct StoreKeyVerifier: APIKeyVerifier {
    let store: any ReadingStore
    func verifyAPIKey(id: String, secret: String) async throws -> APIKeyIdentity? { try await store.verifyAPIKey(id: id, secret: secret) }
    func isAPIKeyActive(id: String) async throws -> Bool { try await store.isAPIKeyActive(id: id) }
}

/// `proto.rpc.v1.AuthService/Authenticate`: API key id + key → bearer token.
package struct AuthServiceImpl: Proto_Rpc_V1_AuthService.SimpleServiceProtocol {
    let keys: any APIKeyVerifier
    let tokens: TokenSigner

    init(store: any ReadingStore, tokens: TokenSigner) { self.init(keys: StoreKeyVerifier(store: store), tokens: tokens) }

    package init(keys: any APIKeyVerifier, tokens: TokenSigner) {
        self.keys = keys
        self.tokens = tokens
    }

    package func authenticate(request: Proto_Rpc_V1_AuthenticateRequest, context: ServerContext) async throws
        -> Proto_Rpc_V1_AuthenticateResponse
    {
        guard request.credentials.type == "api-key" else {
            throw RPCError(code: .invalidArgument, message: "credentials type \"\(request.credentials.type)\" is not supported; use \"api-key\"")
        }
        guard let identity = try await keys.verifyAPIKey(id: request.entity, secret: request.credentials.payload) else {
            throw RPCError(code: .unauthenticated, message: "unknown API key id or wrong key (or the key was revoked)")
        }
        var response = Proto_Rpc_V1_AuthenticateResponse()
        response.accessToken = tokens.issue(for: identity).token
        return response
    }
}

/// Every call but Authenticate needs `authorization: Bearer <token>`; the caller's identity is
/// then available to the handler through `Caller.identity`.
package struct BearerAuthInterceptor: ServerInterceptor {
    let tokens: TokenSigner
    let revocations: RevocationCheck

    package init(tokens: TokenSigner, revocations: RevocationCheck) {
        self.tokens = tokens
        self.revocations = revocations
    }

    package func intercept<Input: Sendable, Output: Sendable>(
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
package final class RevocationCheck: Sendable {
    let keys: any APIKeyVerifier
    let ttl: Duration
    let checked = Mutex<[String: (active: Bool, at: Date)]>([:])

    convenience init(store: any ReadingStore, ttl: Duration = .seconds(2)) { self.init(keys: StoreKeyVerifier(store: store), ttl: ttl) }

    package init(keys: any APIKeyVerifier, ttl: Duration = .seconds(2)) {
        self.keys = keys
        self.ttl = ttl
    }

    func isActive(_ keyID: String, now: Date = Date()) async throws -> Bool {
        if let cached = checked.withLock({ $0[keyID] }), now.timeIntervalSince(cached.at) < ttl.inSeconds { return cached.active }
        let active: Bool
        do {
            active = try await keys.isAPIKeyActive(id: keyID)
        } catch {
            throw RPCError(code: .unavailable, message: "cannot check API key \(keyID): \(error)")
        }
        checked.withLock { $0[keyID] = (active, now) }
        return active
    }
}
