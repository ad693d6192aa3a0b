import FerryBSON
import FerryClock
import FerryIsolation
import FerryLoader
import FerryTestSupport
import Foundation
import Logging
import Synchronization
import Testing

/// A real `ferry plugin-host` child serving the misbehaving fixture plugin, driven by the host
/// side on a manual clock: a crash, an exit, a hang or garbage takes only that process down, the
/// cause is logged, and the restart waits out its backoff on the injected clock, re-creating the
/// instance, which then captures again.
@Suite(.ownThreads) struct IsolatedModuleTests {
    static let library = BuiltProducts.library("FixtureMisbehaving")

    struct Harness {
        let clock: ManualClock
        let log: LogLines
        let module: IsolatedModule

        init(callTimeout: Duration = .seconds(5), createTimeout: Duration = .seconds(30), memoryLimitMB: Int? = nil) {
            let clock = ManualClock()
            let log = LogLines()
            self.clock = clock
            self.log = log
            var options = IsolatedModule.Options()
            options.clock = clock
            options.callTimeout = callTimeout
            options.createTimeout = createTimeout
            var backoff = RestartBackoff()
            backoff.initial = .seconds(1)
            backoff.maximum = .seconds(4)
            options.backoff = backoff
            module = IsolatedModule(
                launch: PluginProcess.Launch(executable: BuiltProducts.ferry, library: IsolatedModuleTests.library, memoryLimitMB: memoryLimitMB),
                label: "module bad",
                options: options, logger: Logger(label: "test") { _ in LogLines.Handler(lines: log) })
        }

        /// Starts a create on a thread of its own; its outcome is set when it returns.
        func createOnAnotherThread(_ model: String) throws -> Outcome<Result<Bool, PluginCallError>> {
            let found = try #require(module.models.first { $0.model == model })
            let outcome = Outcome<Result<Bool, PluginCallError>>()
            Thread.detachNewThread {
                do throws(PluginCallError) {
                    _ = try found.createInstance(config: ["name": "x"])
                    outcome.set(.success(true))
                } catch {
                    outcome.set(.failure(error))
                }
            }
            return outcome
        }

        func create(_ model: String) throws -> any ComponentInstance {
            let found = try #require(module.models.first { $0.model == model })
            return try found.createInstance(config: ["name": "bad", "api": "rdk:component:sensor", "model": .string(model), "attributes": [:]])
        }
    }

    static func count(_ value: CapturedValue) -> Double? {
        guard case .tabular(let document) = value else { return nil }
        return document["readings"]?.documentValue?["count"]?.doubleValue
    }

    static func capture(_ instance: any ComponentInstance) -> Result<Double?, PluginCallError> {
        do throws(PluginCallError) {
            return .success(count(try instance.capture(method: "Readings", parameters: [:])))
        } catch {
            return .failure(error)
        }
    }

    @Test func helloListsTheModelsTheChildRegistered() throws {
        let harness = Harness()
        try harness.module.start()
        defer { harness.module.shutDown() }
        #expect(harness.module.pluginName?.name == "misbehaving")
        #expect(Set(harness.module.models.map(\.model)) == ["fixture:bad:segv", "fixture:bad:exit", "fixture:bad:hang-capture", "fixture:bad:garbage", "fixture:bad:hang-create", "fixture:bad:leak"])
        #expect(harness.module.models.allSatisfy { $0.captureMethods == ["Readings"] })
    }

    @Test func aSegfaultIsLoggedAndTheProcessRestartsAfterItsBackoffWithTheInstanceRecreated() throws {
        let harness = Harness()
        try harness.module.start()
        defer { harness.module.shutDown() }
        let instance = try harness.create("fixture:bad:segv")
        let firstPID = harness.module.status.pid
        #expect(try Self.capture(instance).get() == 1)
        #expect(try Self.capture(instance).get() == 2)  // the fixture's printf to stdout did not reach the channel

        let third = Self.capture(instance)
        guard case .failure(let crash) = third else { Issue.record("the third capture did not fail: \(third)"); return }
        #expect(crash.status == .retryLater)
        #expect(crash.message.contains("killed by SIGSEGV"), "\(crash)")
        #expect(harness.log.contains("killed by SIGSEGV"))
        #expect(harness.log.contains("fixture: about to dereference NULL"), "the crash report carries the child's last output")
        #expect(harness.module.status.running == false)

        // Within the backoff: retry-later at once, no process started.
        guard case .failure(let waiting) = Self.capture(instance) else { Issue.record("a call during the backoff succeeded"); return }
        #expect(waiting.status == .retryLater)
        #expect(waiting.message.contains("restarting"), "\(waiting)")
        #expect(harness.module.status.restarts == 0)

        harness.clock.advance(by: .seconds(1))
        #expect(try Self.capture(instance).get() == 1, "the instance was created again in a new process")
        #expect(try instance.doCommand([:])["created"] == .int32(1), "once")
        #expect(harness.module.status.restarts == 1)
        #expect(harness.module.status.pid != firstPID)
        #expect(try Self.capture(instance).get() == 2)

        // The second failure in a row doubles the wait.
        let secondCrash = Self.capture(instance)
        guard case .failure = secondCrash else { Issue.record("the second crash was not reported: \(secondCrash)"); return }
        harness.clock.advance(by: .seconds(1))
        guard case .failure(let stillWaiting) = Self.capture(instance) else { Issue.record("restarted before the doubled backoff"); return }
        #expect(stillWaiting.message.contains("restarting"))
        harness.clock.advance(by: .seconds(1))
        #expect(try Self.capture(instance).get() == 1)
        #expect(harness.module.status.restarts == 2)
    }

    @Test func anExitIsReportedWithItsStatus() throws {
        let harness = Harness()
        try harness.module.start()
        defer { harness.module.shutDown() }
        let instance = try harness.create("fixture:bad:exit")
        _ = Self.capture(instance)
        _ = Self.capture(instance)
        guard case .failure(let exit) = Self.capture(instance) else { Issue.record("exit(3) was not noticed"); return }
        #expect(exit.status == .retryLater)
        #expect(exit.message.contains("exited with status 3"), "\(exit)")
        #expect(harness.log.contains("fixture: calling exit(3)"))

        // The periodic check brings it back once the backoff has passed, with no call coming.
        harness.module.restartIfDue()
        #expect(harness.module.status.running == false)
        harness.clock.advance(by: .seconds(1))
        harness.module.restartIfDue()
        #expect(harness.module.status.running == true)
        #expect(harness.module.status.restarts == 1)
        #expect(try instance.doCommand([:])["created"] == .int32(1))
    }

    @Test func garbageOnTheChannelTakesTheProcessDown() throws {
        let harness = Harness()
        try harness.module.start()
        defer { harness.module.shutDown() }
        let instance = try harness.create("fixture:bad:garbage")
        _ = Self.capture(instance)
        _ = Self.capture(instance)
        guard case .failure(let garbage) = Self.capture(instance) else { Issue.record("garbage was taken for a reply"); return }
        #expect(garbage.status == .retryLater)
        #expect(garbage.message.contains("not a frame"), "\(garbage)")
        harness.clock.advance(by: .seconds(1))
        #expect(try Self.capture(instance).get() == 1)
    }

    /// The call's deadline is on the injected clock: the clock is moved on while the call waits.
    @Test func aHangingCaptureMissesItsDeadlineAndIsKilled() throws {
        let harness = Harness(callTimeout: .seconds(2))
        try harness.module.start()
        defer { harness.module.shutDown() }
        let instance = try harness.create("fixture:bad:hang-capture")
        #expect(try Self.capture(instance).get() == 1)
        #expect(try Self.capture(instance).get() == 2)
        let outcome = Outcome<Result<Double?, PluginCallError>>()
        Thread.detachNewThread { outcome.set(Self.capture(instance)) }
        #expect(eventually(timeout: 120) {
            if outcome.value != nil { return true }
            harness.clock.advance(by: .milliseconds(500))
            return false
        })
        guard case .failure(let hang)? = outcome.value else { Issue.record("the hung call returned a value"); return }
        #expect(hang.status == .retryLater)
        #expect(hang.message.contains("did not answer Readings"), "\(hang)")
        #expect(harness.log.contains("fixture: capture hangs"))
    }

    @Test func aHangingCreateFailsAsRetryLater() throws {
        let harness = Harness(createTimeout: .seconds(3))
        try harness.module.start()
        defer { harness.module.shutDown() }
        let outcome = try harness.createOnAnotherThread("fixture:bad:hang-create")
        #expect(eventually(timeout: 120) {
            if outcome.value != nil { return true }
            harness.clock.advance(by: .milliseconds(500))
            return false
        })
        guard case .failure(let error)? = outcome.value else { Issue.record("the hung create returned an instance"); return }
        #expect(error.status == .retryLater)
        #expect(error.message.contains("create fixture:bad:hang-create"), "\(error)")
    }

    /// On the manual clock, never advanced, the hung create's deadline never comes: only the
    /// shutdown's kill can end it, and it does so without a restart or an error logged.
    @Test func aShutdownEndsACallInFlightWithoutWaitingForItsDeadline() throws {
        let harness = Harness()
        try harness.module.start()
        let outcome = try harness.createOnAnotherThread("fixture:bad:hang-create")
        #expect(eventually(timeout: 120) { harness.log.contains("fixture: create hangs") })
        let stopped = Outcome<Bool>()
        Thread.detachNewThread {
            harness.module.shutDown()
            stopped.set(true)
        }
        #expect(eventually(timeout: 120) { stopped.value != nil && outcome.value != nil })
        guard case .failure(let error)? = outcome.value else { Issue.record("the hung create returned an instance"); return }
        #expect(error.status == .fatal)
        #expect(error.message == "module bad is shut down", "\(error)")
        #expect(!harness.log.contains("restarting it"), "\(harness.log.all)")
        #expect(harness.module.status.running == false)
    }

    /// The child limits its own address space before loading the plugin (the Swift runtime
    /// takes about 300 MB of it); a leaking plugin then fails an allocation and aborts there.
    @Test func aLeakPastTheMemoryLimitEndsOnlyThePluginProcess() throws {
        let harness = Harness(memoryLimitMB: 1024)
        try harness.module.start()
        defer { harness.module.shutDown() }
        let instance = try harness.create("fixture:bad:leak")
        var readings = 0
        var failure: PluginCallError?
        for _ in 0..<20 {
            switch Self.capture(instance) {
            case .success: readings += 1
            case .failure(let error): failure = error
            }
            if failure != nil { break }
        }
        #expect(readings >= 1)
        #expect(readings < 8, "1024 MB of address space holds at most 8 leaks of 128 MB")
        #expect(failure?.message.contains("was killed by SIGABRT") == true, "\(String(describing: failure))")
        #expect(harness.log.contains("fixture: out of memory after leaking"))
        harness.clock.advance(by: .seconds(1))
        #expect(try Self.capture(instance).get() == 1, "restarted with the limit, the instance captures again")
    }

    @Test func aLibraryThatDoesNotLoadFailsTheStartWithTheLoadersMessage() {
        let module = IsolatedModule(
            launch: PluginProcess.Launch(executable: BuiltProducts.ferry, library: BuiltProducts.library("FixtureNoEntry")), label: "module x",
            logger: Logger(label: "test"))
        let error = #expect(throws: PluginCallError.self) { try module.start() }
        #expect(error?.message.contains("no ferry_plugin_entry symbol") == true, "\(String(describing: error))")
    }
}

/// What a call on another thread returned, once it has.
final class Outcome<T: Sendable>: Sendable {
    private let stored = Mutex<T?>(nil)
    var value: T? { stored.withLock { $0 } }
    func set(_ value: T) { stored.withLock { $0 = value } }
}

/// Log lines kept for assertions.
final class LogLines: Sendable {
    private let lines = Mutex<[String]>([])

    func contains(_ text: String) -> Bool { lines.withLock { $0.contains { $0.contains(text) } } }
    var all: String { lines.withLock { $0.joined(separator: "\n") } }

    struct Handler: LogHandler {
        let lines: LogLines
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            lines.lines.withLock { $0.append(event.message.description) }
        }
    }
}
