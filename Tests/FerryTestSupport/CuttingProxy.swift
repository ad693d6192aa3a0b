import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A TCP proxy on loopback that forwards to `upstream` and, while cutting is on, drops each
/// connection after a random number of bytes (both directions counted), so TLS records, HTTP/2
/// frames and gRPC messages are all cut at arbitrary offsets. Seeded: a failing run repeats.
public final class CuttingProxy: Sendable {
    public let port: Int
    let upstreamPort: Int
    let listener: Int32
    let state: Mutex<State>

    struct State {
        var cutting = true
        var random: SeededGenerator
        var cuts = 0
        var connections = 0
        var closed = false
    }

    /// Connections are cut after `minimumBytes ..< maximumBytes` bytes while cutting is on.
    let byteRange: Range<Int>

    public init(upstreamPort: Int, seed: UInt64, byteRange: Range<Int> = 200..<300_000) throws {
        self.upstreamPort = upstreamPort
        self.byteRange = byteRange
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in.loopback(port: 0)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 64) == 0 else {
            Glibc.close(fd)
            throw ProxyError("cannot listen: \(String(cString: strerror(errno)))")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        listener = fd
        port = Int(UInt16(bigEndian: address.sin_port))
        state = Mutex(State(random: SeededGenerator(seed: seed)))
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    public var cuts: Int { state.withLock { $0.cuts } }
    public var connections: Int { state.withLock { $0.connections } }
    public func setCutting(_ on: Bool) { state.withLock { $0.cutting = on } }

    public func close() {
        state.withLock { $0.closed = true }
        shutdown(listener, Int32(SHUT_RDWR))
        Glibc.close(listener)
    }

    private func acceptLoop() {
        while true {
            let client = accept(listener, nil, nil)
            if client < 0 {
                if state.withLock({ $0.closed }) { return }
                continue
            }
            let upstream = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in.loopback(port: upstreamPort)
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(upstream, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            if connected != 0 {
                Glibc.close(upstream)
                Glibc.close(client)
                continue
            }
            let budget = state.withLock { state -> Int? in
                state.connections += 1
                return state.cutting ? byteRange.lowerBound + Int(state.random.next() % UInt64(byteRange.count)) : nil
            }
            let connection = Connection(client: client, upstream: upstream, budget: budget)
            for (from, to) in [(client, upstream), (upstream, client)] {
                Thread { [self] in pump(from: from, to: to, connection: connection) }.start()
            }
        }
    }

    private func pump(from: Int32, to: Int32, connection: Connection) {
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(from, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { break }
            var allowed = n
            if let remaining = connection.take(n) {
                allowed = remaining
            }
            var sent = 0
            while sent < allowed {
                let m = buffer.withUnsafeBytes { send(to, $0.baseAddress! + sent, allowed - sent, Int32(MSG_NOSIGNAL)) }
                if m <= 0 { break }
                sent += m
            }
            if allowed < n {
                state.withLock { $0.cuts += 1 }
                break
            }
        }
        connection.closeBoth()
    }

    final class Connection: Sendable {
        let client: Int32
        let upstream: Int32
        let remaining: Mutex<(budget: Int?, closed: Int)>

        init(client: Int32, upstream: Int32, budget: Int?) {
            self.client = client
            self.upstream = upstream
            remaining = Mutex((budget, 0))
        }

        /// Takes `n` bytes from the budget; returns how many may pass when it runs out.
        func take(_ n: Int) -> Int? {
            remaining.withLock { state in
                guard let budget = state.budget else { return nil }
                if budget >= n {
                    state.budget = budget - n
                    return nil
                }
                state.budget = 0
                return budget
            }
        }

        /// Both pumps call this; the second one closes the descriptors.
        func closeBoth() {
            shutdown(client, Int32(SHUT_RDWR))
            shutdown(upstream, Int32(SHUT_RDWR))
            let last = remaining.withLock { state in
                state.closed += 1
                return state.closed == 2
            }
            if last {
                Glibc.close(client)
                Glibc.close(upstream)
            }
        }
    }
}

public struct ProxyError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}

extension sockaddr_in {
    static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }
}
