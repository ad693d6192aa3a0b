import FerryBSON
import FerryClock
import FerryIsolation
import FerryLoader
import FerryTestSupport
import Foundation
import Logging
import Testing

/// MQL operators served from a real `ferry plugin-host` child (the crashing-operator fixture), on
/// a manual clock: expression and accumulator calls go over the channel and answer as in process;
/// a crash fails that call with the cause, an accumulator state from before it fails instead of
/// reaching the new process, and after the backoff the operator answers again.
@Suite(.ownThreads) struct IsolatedOperatorTests {
    static let library = BuiltProducts.library("FixtureCrashingOperator")

    struct Harness {
        let clock = ManualClock()
        let log = LogLines()
        let module: IsolatedModule

        init() {
            var options = IsolatedModule.Options()
            options.clock = clock
            var backoff = RestartBackoff()
            backoff.initial = .seconds(1)
            options.backoff = backoff
            let log = log
            module = IsolatedModule(
                launch: PluginProcess.Launch(executable: BuiltProducts.ferry, library: IsolatedOperatorTests.library), label: "plugin ops",
                options: options, logger: Logger(label: "test") { _ in LogLines.Handler(lines: log) })
        }

        func op(_ name: String) throws -> IsolatedOperator { try #require(module.isolatedOperators.first { $0.name == name }) }
    }

    @Test func theOperatorsAnswerOverTheChannelAsInProcess() throws {
        let harness = Harness()
        try harness.module.start()
        defer { harness.module.shutDown() }
        #expect(harness.module.isolatedOperators.map { "\($0.name) \($0.kind)" }.sorted() == ["$fixtureCount accumulator", "$fixtureDouble expression"])

        let double = try harness.op("$fixtureDouble")
        try double.validate(.string("anything"))  // no validate in the plugin: accepted
        #expect(try double.evaluate(.int32(21)) == .double(42))
        #expect(throws: PluginCallError(status: .invalidArgument, message: "$fixtureDouble evaluate: $fixtureDouble takes a number")) { try double.evaluate(.string("x")) }

        let count = try harness.op("$fixtureCount")
        let first = try count.makeAccumulator(spec: .null)
        let second = try count.makeAccumulator(spec: .null)
        for value in [BSON.int32(1), .int32(2), .null] { try first.add(value) }
        for value in [BSON.int32(5), .int32(6)] { try second.add(value) }
        try first.merge(second)
        #expect(try first.finalize() == .double(5))
        #expect(try second.finalize() == .double(2), "the merged state is still its own")
    }

    @Test func aCrashFailsTheCallAndTheOperatorAnswersAgainAfterTheBackoff() throws {
        let harness = Harness()
        try harness.module.start()
        defer { harness.module.shutDown() }
        let double = try harness.op("$fixtureDouble")
        let counting = try harness.op("$fixtureCount").makeAccumulator(spec: .null)
        try counting.add(.int32(1))
        let firstPID = harness.module.status.pid

        let crash = #expect(throws: PluginCallError.self) { try double.evaluate(.int32(13)) }
        #expect(crash?.status == .retryLater)
        #expect(crash?.message.contains("was killed by SIGSEGV") == true, "\(String(describing: crash))")
        #expect(harness.log.contains("fixture: $fixtureDouble met 13, dereferencing NULL"), "the crash report carries the child's last output")
        #expect(harness.module.status.restarts == 0 && !harness.module.status.running)

        let waiting = #expect(throws: PluginCallError.self) { try double.evaluate(.int32(1)) }
        #expect(waiting?.status == .retryLater)
        #expect(waiting?.message.contains("is restarting after it was killed by SIGSEGV") == true, "\(String(describing: waiting))")

        harness.clock.advance(by: .seconds(1))
        #expect(try double.evaluate(.double(2.5)) == .double(5))
        #expect(harness.module.status.restarts == 1)
        #expect(harness.module.status.pid != firstPID)
        let lost = #expect(throws: PluginCallError.self) { try counting.add(.int32(2)) }
        #expect(lost?.message.contains("its partial state is lost") == true, "\(String(describing: lost))")
        // A state begun in the new process works.
        let fresh = try harness.op("$fixtureCount").makeAccumulator(spec: .null)
        try fresh.add(.int32(1))
        #expect(try fresh.finalize() == .double(1))
    }
}
