import FerryStore
import GRPCCore

/// Who is calling: set by `BearerAuthInterceptor` for the handler's task.
package enum Caller {
    @TaskLocal package static var identity: APIKeyIdentity?

    /// The caller's identity, refusing callers whose role is below `role`.
    package static func require(_ role: APIKeyRole, to action: String) throws -> APIKeyIdentity {
        guard let identity else { throw RPCError(code: .unauthenticated, message: "no valid bearer token; authenticate first") }
        guard identity.role.includes(role) else {
            throw RPCError(
                code: .permissionDenied,
                message: "API key \(identity.keyID) has role \(identity.role.rawValue); \(action) needs \(role.rawValue) or above")
        }
        return identity
    }

    /// Refuses a request naming another organisation than the caller's key belongs to.
    static func requireOrganization(_ requested: String, _ identity: APIKeyIdentity) throws {
        guard requested.isEmpty || requested == identity.organizationID else {
            throw RPCError(
                code: .permissionDenied,
                message: "API key \(identity.keyID) belongs to organization \(identity.organizationID); it cannot access organization \(requested)")
        }
    }
}
