import FerryClock
import Foundation

/// Exponential backoff with jitter: 200 ms after the first failure, doubling, at most 1 h. The
/// jitter (±20%) keeps many hosts that lost the same server from retrying in lockstep.
package struct Backoff: Sendable, Equatable {
    package var initial: Duration = .milliseconds(200)
    package var maximum: Duration = .seconds(3600)
    /// The share of the delay drawn at random, either way.
    package var jitter: Double = 0.2

    package init() {}

    /// The wait after the `failures`-th consecutive failure (1 = first); `random` in [0, 1).
    package func delay(afterFailures failures: Int, random: Double) -> Duration {
        let exponent = Double(max(0, min(failures - 1, 60)))
        let base = min(maximum.inSeconds, initial.inSeconds * pow(2, exponent))
        let jittered = base * (1 - jitter + 2 * jitter * random)
        return .seconds(min(maximum.inSeconds, max(initial.inSeconds, jittered)))
    }
}

/// How an upload failed, which decides what happens to the file.
package enum UploadFailure: Error, Equatable, Sendable, CustomStringConvertible {
    /// The server could not be reached or dropped the call: every worker waits (offline).
    case unreachable(String)
    /// The server refused the credentials or the role: nothing will upload until the config
    /// changes, so it is treated like unreachable but said plainly.
    case unauthorized(String)
    /// The server refused this file for good (invalid argument): it moves to `failed/`.
    case rejected(String)
    /// Anything else (the server's store was busy, a local read failed): this file backs off.
    case retry(String)

    package var description: String {
        switch self {
        case .unreachable(let m): "server unreachable: \(m)"
        case .unauthorized(let m): "server refused the credentials: \(m)"
        case .rejected(let m): "server rejected the file: \(m)"
        case .retry(let m): m
        }
    }
}

/// The sync queue's decisions, separate from I/O so tests drive them with explicit times: which
/// file a free worker takes next, when a failed file is retried, and the shared offline state
/// that keeps a dead server from being hammered by every worker (one probe at a time).
package struct SyncSchedule: Sendable {
    package struct Entry: Sendable, Equatable {
        package var path: String
        /// The file name: a capture file's starts with its time, so names order files by age
        /// across every collector's directory.
        package var name: Substring
        package var failures = 0
        package var nextAttempt: Date
        package var lastError: String?
        package var inFlight = false
    }

    package private(set) var entries: [String: Entry] = [:]
    /// Consecutive unreachable/unauthorized failures, across files.
    package private(set) var offlineFailures = 0
    package private(set) var offlineUntil: Date?
    package private(set) var lastError: String?
    package private(set) var lastErrorAt: Date?
    /// The one file sent while offline to find out whether the server is back.
    private var probe: String?
    let backoff: Backoff

    package init(backoff: Backoff = Backoff()) { self.backoff = backoff }

    package var isOffline: Bool { offlineUntil != nil }
    package var pendingCount: Int { entries.count }

    /// Adds files found by a scan; files already known keep their backoff.
    package mutating func add(_ paths: [String], now: Date) {
        for path in paths where entries[path] == nil {
            entries[path] = Entry(path: path, name: path.split(separator: "/").last ?? Substring(path), nextAttempt: now)
        }
    }

    /// Forgets files that vanished (thinned for disk space, removed by hand).
    package mutating func remove(_ path: String) {
        entries[path] = nil
        // A vanished probe will never report back; let another file find out.
        if probe == path { probe = nil }
    }

    /// The next file to upload at `now`, marked in flight; nil when none is due or the server is
    /// offline and a probe is already out. Oldest first: capture file names start with their time.
    package mutating func take(now: Date) -> String? {
        if let until = offlineUntil {
            guard now >= until, probe == nil else { return nil }
        }
        let due = entries.values.filter { !$0.inFlight && $0.nextAttempt <= now }
        guard let next = due.min(by: { ($0.nextAttempt, $0.name, $0.path) < ($1.nextAttempt, $1.name, $1.path) }) else {
            return nil
        }
        entries[next.path]?.inFlight = true
        if offlineUntil != nil { probe = next.path }
        return next.path
    }

    /// The file is done (uploaded and removed locally, or moved to `failed/`).
    package mutating func finished(_ path: String) {
        entries[path] = nil
        // Any success proves the server reachable again.
        if offlineUntil != nil { lastError = nil }
        probe = nil
        offlineUntil = nil
        offlineFailures = 0
    }

    /// The file failed; returns when it will be tried again.
    @discardableResult
    package mutating func failed(_ path: String, _ failure: UploadFailure, now: Date, random: Double) -> Date {
        lastError = failure.description
        lastErrorAt = now
        let wasProbing = probe == path
        if wasProbing { probe = nil }
        switch failure {
        case .unreachable, .unauthorized:
            // Workers that were already uploading when the server went away fail together;
            // only the first of them, or a failed probe, lengthens the wait.
            if offlineUntil == nil || wasProbing {
                offlineFailures += 1
                offlineUntil = now.adding(backoff.delay(afterFailures: offlineFailures, random: random))
            }
            let until = offlineUntil!
            // The file itself is not to blame: it keeps its place in the queue (oldest first).
            entries[path]?.inFlight = false
            entries[path]?.lastError = failure.description
            return until
        case .retry, .rejected:
            guard var entry = entries[path] else { return now }
            entry.failures += 1
            entry.inFlight = false
            entry.lastError = failure.description
            entry.nextAttempt = now.adding(backoff.delay(afterFailures: entry.failures, random: random))
            entries[path] = entry
            return entry.nextAttempt
        }
    }

    /// When something becomes due next (for status: "next retry").
    package func nextRetry(now: Date) -> Date? {
        if let until = offlineUntil { return max(until, now) }
        return entries.values.filter { !$0.inFlight && $0.failures > 0 }.map(\.nextAttempt).min()
    }
}
