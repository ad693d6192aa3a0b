import FerryClock
import FerryStore
import Foundation
import Logging
import Metrics

/// Enforces every resource's retention policy (as its uploads set it) every `interval` of
/// `clock`'s time, starting at once; logs what it deleted per resource and counts it in
/// `ferry_retention_deleted_total{kind="readings"|"binary"}`. One of `DataServerStack`'s chores: it
/// stops when the server has stopped.
public struct RetentionEnforcer: Sendable {
    public let store: any RetentionStore
    public let clock: any FerryClock
    public let interval: Duration
    let logger: Logger

    public init(store: any RetentionStore, clock: any FerryClock, interval: Duration, logger: Logger) {
        self.store = store
        self.clock = clock
        self.interval = interval
        self.logger = logger
    }

    /// Passes until cancelled, `interval` apart (measured from the end of one to the start of the
    /// next); `onPass` gets each pass's time and what it deleted.
    public func run(onPass: @Sendable (Date, RetentionDeletion) -> Void = { _, _ in }) async {
        while !Task.isCancelled {
            let now = clock.now()
            onPass(now, await enforce(at: now))
            await clock.sleep(for: interval)
        }
    }

    /// One pass over every policy at `now`; returns what it deleted, in total. A resource whose
    /// deletion fails is logged and tried again at the next pass; the others go on.
    @discardableResult
    public func enforce(at date: Date) async -> RetentionDeletion {
        let policies: [RetentionResource: RetentionPolicy]
        do {
            policies = try await store.retentionPolicies()
        } catch {
            logger.warning("reading retention policies failed (will retry): \(error)")
            return RetentionDeletion()
        }
        let now = date.unixMilliseconds
        var total = RetentionDeletion()
        for (resource, policy) in policies.sorted(by: { "\($0.key)" < "\($1.key)" }) {
            if Task.isCancelled { break }
            do {
                let deleted = try await store.enforceRetention(policy, for: resource, now: now)
                guard !deleted.isEmpty else { continue }
                total.readings += deleted.readings
                total.binaries += deleted.binaries
                Counter(label: "ferry_retention_deleted_total", dimensions: [("kind", "readings")]).increment(by: deleted.readings)
                Counter(label: "ferry_retention_deleted_total", dimensions: [("kind", "binary")]).increment(by: deleted.binaries)
                logger.notice(
                    "retention deleted \(deleted.readings) readings and \(deleted.binaries) binary payloads of \(resource) (policy: \(policy))")
            } catch {
                logger.warning("enforcing the retention policy of \(resource) failed (will retry): \(error)")
            }
        }
        return total
    }
}
