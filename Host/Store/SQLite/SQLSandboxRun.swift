import FerryStore
import GRDBSQLite
import Synchronization

/// Lets another thread stop a running sandboxed query (a cancelled gRPC call).
final class SQLCancellation: Sendable {
    let requested = Atomic<Bool>(false)
}

/// What the C callbacks of one query share, used only on the thread running that query.
final class SQLSandboxRun {
    enum Stop { case instructions, time, cancelled }
    static let progressInterval: Int32 = 4_000

    let policy: SQLSandboxPolicy
    let limits: SQLSandboxLimits
    let cancellation: SQLCancellation
    let deadline: ContinuousClock.Instant
    var denial: String?
    var stop: Stop?
    private var instructions: Int64 = 0

    init(policy: SQLSandboxPolicy, limits: SQLSandboxLimits, cancellation: SQLCancellation) {
        self.policy = policy
        self.limits = limits
        self.cancellation = cancellation
        self.deadline = .now + limits.maxDuration
    }

    func authorize(
        _ action: Int32, _ arg1: UnsafePointer<CChar>?, _ arg2: UnsafePointer<CChar>?, _ database: UnsafePointer<CChar>?,
        _ source: UnsafePointer<CChar>?
    ) -> Int32 {
        switch policy.decide(
            action, arg1.map { String(cString: $0) }, arg2.map { String(cString: $0) }, database.map { String(cString: $0) },
            source.map { String(cString: $0) })
        {
        case .allow:
            return SQLITE_OK
        case .deny(let reason):
            if denial == nil { denial = reason }
            return SQLITE_DENY
        }
    }

    /// Called every `progressInterval` instructions; non-zero interrupts the query.
    func progress() -> Int32 {
        instructions += Int64(Self.progressInterval)
        if cancellation.requested.load(ordering: .relaxed) {
            stop = .cancelled
        } else if instructions > limits.maxInstructions {
            stop = .instructions
        } else if ContinuousClock.now > deadline {
            stop = .time
        }
        return stop == nil ? 0 : 1
    }
}
