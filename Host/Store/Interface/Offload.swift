import Dispatch
import Foundation

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

    /// For work that may run long (a user's SQL, up to its time limit): a thread of its own, since
    /// the shared queue runs only as many blocks at once as there are cores, and two long queries
    /// would hold every other store call behind them.
    package static func runOnOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try body() }) }.start()
        }
    }
}
