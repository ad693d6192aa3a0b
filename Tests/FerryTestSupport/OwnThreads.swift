import Dispatch
import Testing

/// `@Suite(.ownThreads)`: the suite's tests run on threads of their own instead of the few
/// cooperative threads Swift concurrency has (one per core). End-to-end tests block while real
/// processes work (`eventually`, `FerryProcess.wait`); on the cooperative pool that starves every
/// async test beside them, an in-process server most of all, into timeouts that are not its own.
public struct OwnThreadsTrait: SuiteTrait, TestTrait, TestScoping {
    public var isRecursive: Bool { true }

    public func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        // Per test case: the suite-level call (testCase nil) only wraps its cases' scopes.
        guard testCase != nil else { return try await function() }
        try await withTaskExecutorPreference(QueueExecutor(label: test.name)) { try await function() }
    }
}

extension Trait where Self == OwnThreadsTrait {
    public static var ownThreads: Self { OwnThreadsTrait() }
}

/// Runs a task's jobs on one serial Dispatch queue, whose thread is not one of the cooperative pool's.
final class QueueExecutor: TaskExecutor {
    let queue: DispatchQueue

    init(label: String) { queue = DispatchQueue(label: "ferry-test: \(label)") }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        queue.async { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
