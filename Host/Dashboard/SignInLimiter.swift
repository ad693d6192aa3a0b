import FerryClock
import Hummingbird
import NIOCore
import Synchronization

/// Limits failed sign-ins, so API keys cannot be guessed at speed: a token bucket per client
/// address and one for the whole server, both on the dashboard's clock. Every sign-in takes a
/// token from both before its key is checked (so concurrent guesses cannot overrun the limit); a
/// sign-in that succeeds, or that could not be checked, gives it back, so only failures count.
/// With a bucket empty the caller is told how long until a token comes back.
package final class SignInLimiter: Sendable {
    /// A bucket of `burst` tokens that gains one every `refill`.
    package struct Limit: Sendable, Equatable {
        package var burst: Int
        package var refill: Duration
        package init(burst: Int, refill: Duration) {
            self.burst = max(1, burst)
            self.refill = refill > .zero ? refill : .nanoseconds(1)
        }
    }

    package struct Options: Sendable {
        /// Failed sign-ins from one address (an IPv4 address, or an IPv6 /64: one subscriber's).
        package var perAddress = Limit(burst: 10, refill: .seconds(30))
        /// Failed sign-ins from everywhere together: what guessing from many addresses gets at most.
        package var overall = Limit(burst: 100, refill: .seconds(1))
        /// Addresses remembered at most; past it, the least recently seen are forgotten first.
        package var maxAddresses = 10_000
        package init() {}
    }

    struct Bucket {
        var tokens: Double
        /// When `tokens` was last brought up to date, on the clock's monotonic time.
        var updated: Duration

        mutating func refill(_ limit: Limit, now: Duration) {
            let gained = max(now - updated, .zero) / limit.refill
            tokens = min(Double(limit.burst), tokens + gained)
            updated = now
        }

        /// How long until this bucket has a whole token again.
        func wait(_ limit: Limit) -> Duration { tokens >= 1 ? .zero : limit.refill * (1 - tokens) }
    }

    struct State {
        var overall: Bucket
        var addresses: [String: Bucket] = [:]
    }

    let options: Options
    let clock: any FerryClock
    private let state: Mutex<State>

    package init(options: Options = Options(), clock: any FerryClock) {
        self.options = options
        self.clock = clock
        state = Mutex(State(overall: Bucket(tokens: Double(options.overall.burst), updated: clock.uptime())))
    }

    /// Takes a token for a sign-in from `address`: nil when it may go ahead, else how long it must wait.
    package func take(_ address: String) -> Duration? {
        let now = clock.uptime()
        let options = self.options
        return state.withLock { state -> Duration? in
            var bucket = state.addresses[address] ?? Bucket(tokens: Double(options.perAddress.burst), updated: now)
            bucket.refill(options.perAddress, now: now)
            state.overall.refill(options.overall, now: now)
            let wait = max(bucket.wait(options.perAddress), state.overall.wait(options.overall))
            if wait == .zero {
                bucket.tokens -= 1
                state.overall.tokens -= 1
            }
            state.addresses[address] = bucket
            if state.addresses.count > options.maxAddresses { Self.forget(&state, keeping: options.maxAddresses) }
            return wait == .zero ? nil : wait
        }
    }

    /// Gives back the token of a sign-in that succeeded (or could not be checked).
    package func giveBack(_ address: String) {
        let options = self.options
        state.withLock { state in
            state.overall.tokens = min(Double(options.overall.burst), state.overall.tokens + 1)
            if var bucket = state.addresses[address] {
                bucket.tokens = min(Double(options.perAddress.burst), bucket.tokens + 1)
                state.addresses[address] = bucket
            }
        }
    }

    /// Addresses with full buckets are the same as unknown ones: they go first, then the least recently seen.
    private static func forget(_ state: inout State, keeping limit: Int) {
        let excess = state.addresses.count - limit
        guard excess > 0 else { return }
        let oldest = state.addresses.sorted { $0.value.updated < $1.value.updated }.prefix(excess)
        for (address, _) in oldest { state.addresses[address] = nil }
    }

    /// The bucket key of a client: its IPv4 address, the /64 of an IPv6 one (an IPv4-mapped IPv6
    /// address counts as the IPv4 one), or "local" for a Unix socket or an unknown peer.
    package static func key(_ address: SocketAddress?) -> String {
        switch address {
        case .v4:
            return address?.ipAddress ?? "local"
        case .v6(let v6):
            let bytes = withUnsafeBytes(of: v6.address.sin6_addr) { Array($0) }
            if bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xFF, bytes[11] == 0xFF {
                return bytes[12..<16].map(String.init).joined(separator: ".")
            }
            return stride(from: 0, to: 8, by: 2).map { String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16) }
                .joined(separator: ":") + "::/64"
        default:
            return "local"
        }
    }
}

/// The dashboard's request context: Hummingbird's basics plus the client's address, which
/// failed sign-ins are counted by. (The socket's peer, never a forwarded-for header a client writes.)
package struct DashboardContext: RequestContext, RemoteAddressRequestContext {
    package var coreContext: CoreRequestContextStorage
    package let remoteAddress: SocketAddress?

    package init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }
}
