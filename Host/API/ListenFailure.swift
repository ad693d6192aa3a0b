import Foundation
import GRPCCore
import NIOCore
import ServiceLifecycle
import Synchronization

/// A server that could not start listening: which one, on what address, and why; when the address
/// is taken (the usual cause), what to do about it.
public struct ListenFailure: Error, CustomStringConvertible {
    public var service: String
    public var address: String
    public var cause: any Error

    public init(service: String, host: String, port: Int, cause: any Error) {
        self.service = service
        self.address = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        self.cause = cause
    }

    public var description: String {
        guard Self.addressInUse(cause) else { return "\(service) cannot listen on \(address): \(cause)" }
        return "\(service) cannot listen on \(address): the address is in use by another process (another ferry serve or ferry run?); "
            + "stop that process or give this one another address"
    }

    static func addressInUse(_ error: any Error) -> Bool {
        switch error {
        case let error as IOError: error.errnoCode == EADDRINUSE
        case let error as RuntimeError: error.cause.map(addressInUse) ?? false
        case let error as RPCError: error.cause.map(addressInUse) ?? false
        default: false
        }
    }

    /// Runs a server until it ends; what it throws before it calls `listening` is a ListenFailure.
    public static func run(
        service: String, host: String, port: Int, _ server: (_ listening: @escaping @Sendable () -> Void) async throws -> Void
    ) async throws {
        let listened = Listened()
        do {
            try await server { listened.flag.withLock { $0 = true } }
        } catch where !listened.flag.withLock({ $0 }) && !(error is CancellationError) {
            throw ListenFailure(service: service, host: host, port: port, cause: error)
        }
    }

    private final class Listened: Sendable {
        let flag = Mutex(false)
    }
}

extension GRPCServer {
    /// Serves until the task ends; a graceful shutdown (SIGTERM under `ferry run`/`ferry serve`)
    /// stops new calls and lets those in flight finish. `listening` gets the bound port; a failure
    /// to listen is a ListenFailure naming `service`.
    package func serveUntilShutdown(
        as service: String, host: String, port: Int, listening: @escaping @Sendable (Int) -> Void
    ) async throws {
        try await ListenFailure.run(service: service, host: host, port: port) { listened in
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask {
                    try await withGracefulShutdownHandler { try await self.serve() } onGracefulShutdown: { self.beginGracefulShutdown() }
                }
                // A failed bind ends serve() above with its cause; here it only means no address.
                if let address = try? await self.listeningAddress, let port = address.ipv4?.port {
                    listened()
                    listening(port)
                }
            }
        }
    }
}
