import FerryCapture
import FerryLoader
import FerryTestSupport
import Foundation
import Synchronization
import Testing

@testable import FerryMachine

/// Registry modules on the machine, with a scripted supplier and a manual clock: retries follow
/// the backoff on the injected clock, the module's component starts when it loads, and a new
/// version of a loaded module asks for a restart.
@Suite struct MachineRegistryModuleTests {
    final class ScriptedSupplier: ModuleSupplier {
        let answers: Mutex<[ModuleSupply]>
        let calls = Mutex<[String]>([])
        init(_ answers: [ModuleSupply]) { self.answers = Mutex(answers) }
        func supply(moduleID: String, pin: String) async -> ModuleSupply {
            calls.withLock { $0.append("\(moduleID)@\(pin)") }
            return answers.withLock { $0.isEmpty ? .failed("no more answers") : $0.removeFirst() }
        }
        var count: Int { calls.withLock { $0.count } }
    }

    final class Restarts: Sendable {
        let reasons = Mutex<[String]>([])
    }

    @Test func backoffDoublesFromOneSecondToFiveMinutesWithBoundedJitter() {
        var backoff = ModuleBackoff()
        backoff.random = { 0.5 }
        let seconds = (1...12).map { backoff.delay(afterFailures: $0).components.seconds }
        #expect(seconds == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300])
        backoff.random = { 0 }
        #expect(backoff.delay(afterFailures: 3) == .milliseconds(3200))
        backoff.random = { 0.999_999 }
        #expect(backoff.delay(afterFailures: 10) < .seconds(360) && backoff.delay(afterFailures: 10) > .seconds(359))
    }

    /// Polls without holding a thread: the machine's module requests run on the same pool.
    func until(_ condition: () -> Bool) async -> Bool {
        for _ in 0..<1800 {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return condition()
    }

    static func config(_ dir: TemporaryDirectory, version: String) throws {
        try """
        {"modules": [{"type": "registry", "name": "fake_module", "module_id": "acme:fake", "version": "\(version)"}],
         "components": [{"name": "s", "api": "rdk:component:sensor", "model": "fake",
           "service_configs": [{"type": "data_manager", "attributes": {"capture_methods": [{"method": "Readings", "capture_frequency_hz": 10}]}}]}],
         "services": [{"name": "dm", "type": "data_manager", "attributes": {"capture_dir": "capture", "sync_disabled": true}}]}
        """.write(toFile: dir.file("machine.json"), atomically: true, encoding: .utf8)
    }

    @Test func aFailingModuleIsRetriedOnTheClockAndItsComponentStartsWhenItLoads() async throws {
        let dir = try TemporaryDirectory("ferry-machine-modules")
        defer { dir.remove() }
        try Self.config(dir, version: "1.*")
        let library = BuiltProducts.library("FerryFake")
        let supplier = ScriptedSupplier([
            .failed("the registry is down"), .failed("still down"), .ready(library: library, version: "1.0.0", offline: nil),
            .ready(library: library, version: "1.1.0", offline: nil),
        ])
        let clock = ManualClock()
        let restarts = Restarts()
        var options = Machine.Options()
        options.clock = clock
        options.pollInterval = .milliseconds(5)
        options.modules = supplier
        options.moduleBackoff.random = { 0.5 }
        options.restart = { _, reason in restarts.reasons.withLock { $0.append(reason) } }
        let machine = Machine(configPath: dir.file("machine.json"), registry: PluginRegistry(), options: options)
        try machine.start()
        defer { machine.stop() }

        #expect(await until { supplier.count == 1 })
        #expect(await until { machine.registryModuleStates["acme:fake"]?.failures == 1 })
        #expect(machine.collectorStats.isEmpty, "the component waits for its module")
        // The config poll and the retry both run on the injected clock: nothing falls due until it moves.
        try await Task.sleep(for: .milliseconds(100))
        clock.advance(by: .milliseconds(999))
        try await Task.sleep(for: .milliseconds(100))
        #expect(supplier.count == 1)
        clock.advance(by: .milliseconds(1))
        #expect(await until { supplier.count == 2 })
        #expect(await until { machine.registryModuleStates["acme:fake"]?.failures == 2 })
        clock.advance(by: .milliseconds(1900))
        try await Task.sleep(for: .milliseconds(100))
        #expect(supplier.count == 2, "the second wait is 2 s")
        clock.advance(by: .milliseconds(100))
        #expect(await until { machine.registryModuleStates["acme:fake"]?.loaded == "1.0.0" })
        #expect(await until { machine.collectorStats.keys.contains { $0.component == "s" } })
        #expect(supplier.calls.withLock { $0 } == ["acme:fake@1.*", "acme:fake@1.*", "acme:fake@1.*"])

        // A new pin resolves to a new version while 1.0.0 is loaded: a restart is asked for.
        try Self.config(dir, version: "1.1.0")
        clock.advance(by: options.pollInterval)  // the poll that notices the new config
        #expect(await until { restarts.reasons.withLock { $0 } == ["acme:fake 1.0.0 → 1.1.0"] })
        #expect(supplier.calls.withLock { $0.last } == "acme:fake@1.1.0")
        #expect(machine.collectorStats.keys.contains { $0.component == "s" }, "the old version runs until the restart")
    }

    @Test func withoutARegistryTheModuleIsReportedAndTheRestRuns() async throws {
        let dir = try TemporaryDirectory("ferry-machine-modules")
        defer { dir.remove() }
        try Self.config(dir, version: "1.0.0")
        var options = Machine.Options()
        options.pollInterval = .milliseconds(5)
        let machine = Machine(configPath: dir.file("machine.json"), registry: PluginRegistry(), options: options)
        try machine.start()
        defer { machine.stop() }
        #expect(await until { machine.registryModuleStates["acme:fake"]?.error != nil })
        let state = machine.registryModuleStates["acme:fake"]
        #expect(state?.error?.contains("no registry is set up for registry modules; start ferry run with --registry REGISTRY --trust KEY.pub") == true)
        #expect(state?.loaded == nil)
    }
}
