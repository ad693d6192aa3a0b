import FerryStore
import GRPCCore

extension RPCError {
    /// A store failure as the status its kind stands for (see `StoreError.Kind`), with its message:
    /// a client then tells a refused request (INVALID_ARGUMENT: sync moves the file to `failed/`)
    /// from a server in trouble (UNAVAILABLE: sync backs off and tries again).
    init(_ error: StoreError) {
        let code: RPCError.Code =
            switch error.kind {
            case .invalidArgument, .sqlFailed: .invalidArgument
            case .notFound: .notFound
            case .alreadyExists: .alreadyExists
            case .sqlRefused: .permissionDenied
            case .resourceExhausted: .resourceExhausted
            case .storage: .unavailable
            }
        self.init(code: code, message: error.message)
    }
}

/// Runs a handler's store work, turning a `StoreError` into its gRPC status.
package func storeCall<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let error as StoreError {
        throw RPCError(error)
    }
}
