import Foundation

/// When to try a remote part again after it failed: exponential backoff with jitter, shared by
/// the remote's collectors. While waiting, captures fail at once (each counted as a failed tick)
/// instead of every collector dialling a machine that is down; when the wait is over one capture
/// probes, and a success resets the backoff. Pure: every decision takes `now`.
struct RemoteBackoff: Sendable, Equatable {
    var initial: TimeInterval = 0.2
    var maximum: TimeInterval = 30
    var multiplier: Double = 2
    /// ± this fraction of each wait, so many hosts do not retry in step.
    var jitter: Double = 0.2

    private(set) var failures = 0
    private(set) var nextAttempt: Date?
    private(set) var probing = false
    private(set) var lastError: String?

    enum Decision: Equatable {
        /// Call the remote (`probe`: the first call after a wait; others fail fast meanwhile).
        case call(probe: Bool)
        /// Do not call; the remote is expected back no earlier than this.
        case wait(until: Date)
    }

    /// Whether a capture at `now` may call the remote.
    mutating func decide(now: Date) -> Decision {
        guard let nextAttempt else { return .call(probe: false) }
        if now < nextAttempt || probing { return .wait(until: max(nextAttempt, now)) }
        probing = true
        return .call(probe: true)
    }

    /// The remote could not be reached: wait longer before the next attempt. `random` in [0, 1).
    mutating func failed(now: Date, error: String, random: Double) {
        failures += 1
        probing = false
        lastError = error
        let base = min(maximum, initial * pow(multiplier, Double(failures - 1)))
        nextAttempt = now.addingTimeInterval(base * (1 + jitter * (2 * random - 1)))
    }

    /// The remote answered (even with an error of its own): it is reachable.
    mutating func succeeded() {
        failures = 0
        probing = false
        nextAttempt = nil
        lastError = nil
    }
}
