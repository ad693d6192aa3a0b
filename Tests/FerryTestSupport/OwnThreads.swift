import Dispatch
import Foundation
import Synchronization
import Testing

/// `@Suite(.ownThreads)`: the suite's tests run on threads of their own instead of the few
/// cooperative threads Swift concurrency has (one per core). End-to-end tests block while real
/// processes work (`eventually`, `FerryProcess.wait`); on the cooperative pool that starves every
/// async test beside them, an in-process server most of all, into timeouts that are not its own.
///
/// Each test case also gets a time limit: past it the case is cancelled, which `eventually`,
/// `eventuallyAsync` and `ChildProcess.wait` heed by giving up at once, and the case fails saying
/// so. A test that hangs then costs minutes, not the whole CI run.
public struct OwnThreadsTrait: SuiteTrait, TestTrait, TestScoping {
    /// Far above any case's run on a loaded 2-core machine (the longest take about two minutes);
    /// `FERRY_TEST_CASE_SECONDS` sets another.
    public static let timeLimit: Duration = .seconds(
        ProcessInfo.processInfo.environment["FERRY_TEST_CASE_SECONDS"].flatMap(Int.init) ?? 600)

    public var isRecursive: Bool { true }

    public func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        // Per test case: the suite-level call (testCase nil) only wraps its cases' scopes.
        guard testCase != nil else { return try await function() }
        // Swift Testing's own `.timeLimit` would sleep on this task's executor, the serial queue the
        // blocked test body holds; a Dispatch timer cancels the case from outside instead.
        try await withoutActuallyEscaping(function) { function in
            let body = UnsafeSendable(function)
            // An unstructured task keeps the test's task-local context (issues land on this test)
            // and can be cancelled from the timer.
            let run = Task(executorPreference: QueueExecutor(label: test.name)) { try await body.value() }
            let timedOut = Atomic<Bool>(false)
            let timer = DispatchWorkItem {
                timedOut.store(true, ordering: .relaxed)
                run.cancel()
            }
            let seconds = Double(Self.timeLimit.components.seconds)
            DispatchQueue.global().asyncAfter(deadline: .now() + seconds, execute: timer)
            defer { timer.cancel() }
            try await withTaskCancellationHandler { try await run.value } onCancel: { run.cancel() }
            if timedOut.load(ordering: .relaxed) {
                Issue.record(
                    "\(test.name) ran past its \(Int(seconds)) s time limit and was cancelled: something it waited for never happened",
                    sourceLocation: test.sourceLocation)
            }
        }
    }
}

/// A non-escaping test body carried into the task that runs it; safe because that task is awaited
/// to its end before `withoutActuallyEscaping` returns.
private struct UnsafeSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
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
