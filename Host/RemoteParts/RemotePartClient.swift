import Dispatch
import FerryBSON
import FerryConfig
import FerryLoader
import FerryMachine
import FerrySystem
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import Synchronization
import ViamGRPC
import ViamProtos

/// `ferry run`'s way to remote parts: each remote gets a `RemotePartClient`.
package struct GRPCRemoteConnector: RemoteConnector {
    let logger: Logger
    let now: @Sendable () -> Date
    let random: @Sendable () -> Double

    package init(
        logger: Logger = Logger(label: "ferry.remotes"), now: @escaping @Sendable () -> Date = { Date() },
        random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }
    ) {
        self.logger = logger
        self.now = now
        self.random = random
    }

    package func problem(api: String, method: String, parameters: BSONDocument) -> String? {
        RemoteCalls.problem(api: api, method: method, parameters: parameters)
    }

    package func connect(_ remote: RemoteEntry) -> any RemotePart {
        do {
            return try RemotePartClient(remote, logger: logger, now: now, random: random)
        } catch {
            return UnreachablePart(message: "remote \(remote.name) (\(remote.path)): cannot set up a connection to \(remote.address): \(error)")
        }
    }
}

/// A remote whose connection could not even be set up (an unreadable ca_cert): every capture says why.
struct UnreachablePart: RemotePart {
    let message: String
    func capture(api: String, resource: String, method: String, parameters: BSONDocument) throws(PluginCallError) -> CapturedValue {
        throw PluginCallError(status: .fatal, message: message)
    }
    func close() {}
}

/// One remote part over Viam's machine API: an API key traded for a bearer token
/// (`AuthService/Authenticate`, again whenever the remote says the token is no good), gRPC's own
/// reconnection underneath, and a `RemoteBackoff` on top so a remote that is down costs its
/// collectors a failed tick each, not a connection attempt each, until it is back.
final class RemotePartClient: RemotePart {
    struct State {
        var backoff = RemoteBackoff()
        var token: String?
    }

    let remote: RemoteEntry
    let client: GRPCClient<HTTP2ClientTransport.Posix>
    let connections: Task<Void, Never>
    let state = Mutex(State())
    let logger: Logger
    let now: @Sendable () -> Date
    let random: @Sendable () -> Double
    /// Per call: collectors wait this long at most for a remote that stopped answering.
    let callTimeout: Duration

    init(
        _ remote: RemoteEntry, logger: Logger, now: @escaping @Sendable () -> Date, random: @escaping @Sendable () -> Double,
        callTimeout: Duration = .seconds(5)
    ) throws {
        self.remote = remote
        self.logger = logger
        self.now = now
        self.random = random
        self.callTimeout = callTimeout
        let isIPv4 = remote.host.split(separator: ".").count == 4 && remote.host.allSatisfy { $0.isNumber || $0 == "." }
        let target: any ResolvableTarget =
            isIPv4 ? .ipv4(address: remote.host, port: remote.port) : .dns(host: remote.host, port: remote.port)
        let security: HTTP2ClientTransport.Posix.TransportSecurity =
            if remote.insecure {
                .plaintext
            } else if let ca = remote.caCert {
                .tls { $0.trustRoots = .certificates([.file(path: ca, format: .pem)]) }
            } else {
                .tls
            }
        let config = HTTP2ClientTransport.Posix.Config.defaults {
            $0.backoff = .init(initial: .milliseconds(200), max: .seconds(5), multiplier: 1.6, jitter: 0.2)
        }
        let client = GRPCClient(transport: try HTTP2ClientTransport.Posix(target: target, transportSecurity: security, config: config))
        self.client = client
        connections = Task {
            do { try await client.runConnections() } catch { logger.error("connection to remote \(remote.name) at \(remote.address) ended: \(error)") }
        }
    }

    deinit { close() }

    func close() {
        client.beginGracefulShutdown()
        connections.cancel()
    }

    /// What a call ended with: the remote answered (a value, or an error of its own), or could not be reached.
    enum Outcome: Sendable {
        case answered(Result<CapturedValue, PluginCallError>)
        case unreachable(String)
    }

    func capture(api: String, resource: String, method: String, parameters: BSONDocument) throws(PluginCallError) -> CapturedValue {
        let start = now()
        switch state.withLock({ $0.backoff.decide(now: start) }) {
        case .wait(let until):
            let last = state.withLock { $0.backoff.lastError } ?? "unreachable"
            throw PluginCallError(
                status: .retryLater,
                message: "remote \(remote.name) at \(remote.address) is unreachable (\(last)); next attempt in \(oneDecimal(until.timeIntervalSince(start))) s")
        case .call:
            break
        }
        let outcome = Self.blocking { [self] in await self.call(api: api, resource: resource, method: method, parameters: parameters) }
        switch outcome {
        case .answered(let result):
            state.withLock { $0.backoff.succeeded() }
            return try result.get()
        case .unreachable(let message):
            let first = state.withLock { state in
                state.backoff.failed(now: now(), error: message, random: random())
                return state.backoff.failures == 1
            }
            if first { logger.warning("remote \(remote.name) at \(remote.address) is unreachable: \(message); retrying with backoff") }
            throw PluginCallError(status: .retryLater, message: "remote \(remote.name) at \(remote.address): \(message)")
        }
    }

    /// One capture over the machine API, signing in first when there is no token, and once more
    /// when the remote refuses the token (it restarted with a new secret, or the token expired).
    func call(api: String, resource: String, method: String, parameters: BSONDocument) async -> Outcome {
        var options = CallOptions.defaults
        options.timeout = callTimeout
        // Fail fast while the remote is down; the backoff decides when to try again.
        options.waitForReady = false
        for attempt in 0..<2 {
            do {
                let token = try await currentToken(options: options)
                let value = try await RemoteCalls.capture(
                    client, api: api, resource: resource, method: method, parameters: parameters,
                    metadata: ["authorization": "Bearer \(token)"], options: options)
                return .answered(.success(value))
            } catch let error as RPCError where error.code == .unauthenticated && attempt == 0 && state.withLock({ $0.token != nil }) {
                state.withLock { $0.token = nil }
                continue
            } catch {
                return classify(error, what: "\(api)/\(resource) \(method)")
            }
        }
        return .answered(.failure(PluginCallError(status: .retryLater, message: "remote \(remote.name) refused a fresh token")))
    }

    func currentToken(options: CallOptions) async throws -> String {
        if let token = state.withLock({ $0.token }) { return token }
        var request = Proto_Rpc_V1_AuthenticateRequest()
        request.entity = remote.apiKeyID ?? ""
        request.credentials.type = "api-key"
        request.credentials.payload = remote.apiKey ?? ""
        let response = try await Proto_Rpc_V1_AuthService.Client(wrapping: client).authenticate(request, options: options)
        state.withLock { $0.token = response.accessToken }
        return response.accessToken
    }

    func classify(_ error: any Error, what: String) -> Outcome {
        guard let rpc = error as? RPCError else { return .unreachable("\(error)") }
        let message = "\(what): \(rpc.code): \(rpc.message)"
        switch rpc.code {
        case .unavailable, .deadlineExceeded, .unknown, .cancelled:
            return .unreachable("\(rpc.code): \(rpc.message)")
        case .unauthenticated:
            return .answered(.failure(.init(status: .retryLater, message: "remote \(remote.name) refused the API key: \(message) (check \(remote.path).auth)")))
        case .unimplemented:
            return .answered(.failure(.init(status: .unsupported, message: "remote \(remote.name): \(message)")))
        case .invalidArgument:
            return .answered(.failure(.init(status: .invalidArgument, message: "remote \(remote.name): \(message)")))
        default:
            return .answered(.failure(.init(status: .retryLater, message: "remote \(remote.name): \(message)")))
        }
    }

    /// Runs async work to completion from a collector's Dispatch queue (never a cooperative thread,
    /// so blocking it cannot starve Swift concurrency).
    static func blocking<T: Sendable>(_ body: @escaping @Sendable () async -> T) -> T {
        let done = DispatchSemaphore(value: 0)
        let result = Mutex<T?>(nil)
        Task {
            let value = await body()
            result.withLock { $0 = value }
            done.signal()
        }
        done.wait()
        return result.withLock { $0! }
    }
}
