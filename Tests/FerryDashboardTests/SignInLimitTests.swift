import FerryClock
import FerryMQL
import FerryTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

@testable import FerryDashboard

/// Failed sign-ins are limited by token buckets on the dashboard's injected clock: per client
/// address and overall; over the limit the answer is 429 with Retry-After; successes cost nothing.
@Suite struct SignInLimitTests {
    static func limiter(perAddress: SignInLimiter.Limit, overall: SignInLimiter.Limit, clock: ManualClock, maxAddresses: Int = 10_000) -> SignInLimiter {
        var options = SignInLimiter.Options()
        options.perAddress = perAddress
        options.overall = overall
        options.maxAddresses = maxAddresses
        return SignInLimiter(options: options, clock: clock)
    }

    @Test func eachAddressHasItsOwnBucketRefilledOnTheClock() {
        let clock = ManualClock()
        let limiter = Self.limiter(perAddress: .init(burst: 3, refill: .seconds(60)), overall: .init(burst: 1000, refill: .seconds(1)), clock: clock)
        for _ in 0..<3 { #expect(limiter.take("192.0.2.1") == nil) }
        #expect(limiter.take("192.0.2.1") == .seconds(60), "the fourth failure in a row waits a whole refill")
        #expect(limiter.take("192.0.2.2") == nil, "another address is not held back")
        clock.advance(by: .seconds(45))
        #expect(limiter.take("192.0.2.1") == .seconds(15), "a quarter of the refill left")
        clock.advance(by: .seconds(15))
        #expect(limiter.take("192.0.2.1") == nil)
        #expect(limiter.take("192.0.2.1") != nil, "one token came back, one was used")
        // Successful sign-ins give their token back: any number of them in a row.
        clock.advance(by: .seconds(180))
        for _ in 0..<20 {
            #expect(limiter.take("192.0.2.1") == nil)
            limiter.giveBack("192.0.2.1")
        }
    }

    @Test func theOverallBucketHoldsBackGuessesFromManyAddresses() {
        let clock = ManualClock()
        let limiter = Self.limiter(perAddress: .init(burst: 100, refill: .seconds(60)), overall: .init(burst: 5, refill: .seconds(2)), clock: clock)
        for i in 0..<5 { #expect(limiter.take("198.51.100.\(i)") == nil) }
        #expect(limiter.take("198.51.100.200") == .seconds(2), "a new address waits for the overall bucket")
        clock.advance(by: .seconds(2))
        #expect(limiter.take("198.51.100.200") == nil)
    }

    @Test func forgettingAddressesKeepsMemoryBounded() {
        let clock = ManualClock()
        let limiter = Self.limiter(perAddress: .init(burst: 1, refill: .seconds(600)), overall: .init(burst: 1000, refill: .seconds(1)), clock: clock, maxAddresses: 2)
        #expect(limiter.take("a") == nil && limiter.take("a") != nil)
        clock.advance(by: .seconds(1))
        #expect(limiter.take("b") == nil)
        #expect(limiter.take("b") != nil, "b is remembered")
        clock.advance(by: .seconds(1))
        #expect(limiter.take("c") == nil, "a third address: the least recently seen (a) is forgotten")
        #expect(limiter.take("a") == nil)
    }

    @Test func addressesAreCountedByIPv4AddressOrIPv6Slash64() throws {
        #expect(SignInLimiter.key(try SocketAddress(ipAddress: "203.0.113.9", port: 5000)) == "203.0.113.9")
        let a = SignInLimiter.key(try SocketAddress(ipAddress: "2001:db8:aa:bb:1:2:3:4", port: 1))
        let b = SignInLimiter.key(try SocketAddress(ipAddress: "2001:db8:aa:bb:ffff:0:0:9", port: 2))
        #expect(a == "2001:db8:aa:bb::/64" && a == b, "one subscriber's /64 is one client")
        #expect(SignInLimiter.key(try SocketAddress(ipAddress: "2001:db8:aa:bc::1", port: 1)) != a)
        #expect(SignInLimiter.key(try SocketAddress(ipAddress: "::ffff:203.0.113.9", port: 1)) == "203.0.113.9", "IPv4 on a dual-stack socket")
        #expect(SignInLimiter.key(nil) == "local")
    }

    /// Through the handlers: the test client has no peer address, so every request is one client.
    @Test func tooManyFailedSignInsGet429WithRetryAfterAndSuccessesAreNotPenalised() async throws {
        let f = try await DashboardTests.Fixture.make()
        defer { f.test.remove() }
        var limits = SignInLimiter.Options()
        limits.perAddress = .init(burst: 3, refill: .seconds(60))
        let dashboard = Dashboard(
            store: f.store, operators: MQLOperatorRegistry(), tokenSigningKey: try await f.store.tokenSigningKey(), clock: f.clock,
            signInLimits: limits)
        try await Application(router: dashboard.router()).test(.router) { client in
            var browser = DashboardTests.Browser()
            for _ in 0..<5 { #expect(try await browser.signIn(client, f.viewer).status == .seeOther, "successes cost nothing") }
            for _ in 0..<3 { #expect(try await browser.signIn(client, (f.viewer.id, "wrong")).status == .unauthorized) }
            let limited = try await browser.signIn(client, (f.viewer.id, "wrong"))
            #expect(limited.status == .tooManyRequests && limited.headers[.retryAfter] == "60")
            #expect(DashboardTests.body(limited).contains("too many failed sign-ins from your address or to this server; try again in 60 seconds"))
            var fresh = DashboardTests.Browser()
            let right = try await fresh.signIn(client, f.viewer)
            #expect(right.status == .tooManyRequests && fresh.cookies["ferry_session"] == nil, "the right key waits too: it is not checked")
            f.clock.advance(by: .seconds(30))
            #expect(try await fresh.signIn(client, f.viewer).headers[.retryAfter] == "30")
            f.clock.advance(by: .seconds(30))
            #expect(try await fresh.signIn(client, f.viewer).status == .seeOther && fresh.cookies["ferry_session"] != nil)
            #expect(try await browser.signIn(client, (f.viewer.id, "wrong")).status == .unauthorized, "the token the success gave back")
            #expect(try await browser.signIn(client, (f.viewer.id, "wrong")).status == .tooManyRequests)
        }
    }
}
