import Dispatch

/// Runs blocking or CPU-heavy work (key hashing, sandboxed SQL, file writes) on a Dispatch queue,
/// so that it never occupies one of the few threads of Swift's cooperative pool — on a 2-core
/// machine two such calls would otherwise stall every other task of the server.
package enum Offload {
    private static let queue = DispatchQueue(label: "ferry.store.offload", qos: .userInitiated, attributes: .concurrent)

    package static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try body() }) }
        }
    }
}
