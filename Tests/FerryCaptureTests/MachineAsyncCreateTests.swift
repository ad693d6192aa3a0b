import FerryBSON
import FerryCapture
import FerryLoader
import FerryTestSupport
import Foundation
import Synchronization
import Testing

@testable import FerryMachine

/// A component whose create may block (one served by a plugin process) is created off the
/// machine's control queue: start and reloads return while it hangs, the component shows as
/// starting, and a reconfiguration or removal meanwhile is honoured when the create ends. The
/// model is scripted through the ComponentModel seam; its create waits on a gate the test opens.
@Suite(.ownThreads) struct MachineAsyncCreateTests {
    final class Instance: ComponentInstance {
        let config: BSONDocument
        let closed = Mutex(false)
        init(config: BSONDocument) { self.config = config }
        func capture(method: String, parameters: BSONDocument) throws(PluginCallError) -> CapturedValue { .tabular(["readings": ["x": 1]]) }
        func reconfigure(config: BSONDocument) throws(PluginCallError) -> Bool { false }
        func doCommand(_ command: BSONDocument) throws(PluginCallError) -> BSONDocument { config }
        func close() { closed.withLock { $0 = true } }
        var isClosed: Bool { closed.withLock { $0 } }
    }

    /// Creates only as the test opens its gate, one create per opening; `blocks` says whether the
    /// machine is told so (a plugin process's model) or not (one loaded in process).
    final class GatedModel: ComponentModel {
        let api = "rdk:component:sensor"
        let model: String
        let captureMethods = ["Readings"]
        let createMayBlock: Bool
        let gate = DispatchSemaphore(value: 0)
        let started = Mutex<[BSONDocument]>([])
        let made = Mutex<[Instance]>([])
        init(model: String, blocks: Bool) {
            self.model = model
            createMayBlock = blocks
        }

        func createInstance(config: BSONDocument) throws(PluginCallError) -> any ComponentInstance {
            started.withLock { $0.append(config["attributes"]?.documentValue ?? [:]) }
            if createMayBlock {
                // Bounded, so a machine that wrongly waits for this create fails the test instead of hanging it.
                guard gate.wait(timeout: .now() + 20) == .success else {
                    throw PluginCallError(status: .retryLater, message: "the test never opened the gate")
                }
            }
            let instance = Instance(config: config)
            made.withLock { $0.append(instance) }
            return instance
        }

        var attributesStarted: [BSONDocument] { started.withLock { $0 } }
        var instances: [Instance] { made.withLock { $0 } }
    }

    struct Catalog: ModelCatalog, Sendable {
        let models: [any ComponentModel]
        func componentModel(api: String, model: String) -> (any ComponentModel)? { models.first { $0.api == api && $0.model == model } }
        func modelNames(api: String) -> [String] { models.filter { $0.api == api }.map(\.model) }
    }

    struct Rig {
        let dir: TemporaryDirectory
        let slow = GatedModel(model: "acme:test:gated", blocks: true)
        let quick = GatedModel(model: "acme:test:quick", blocks: false)
        let machine: Machine

        init() throws {
            dir = try TemporaryDirectory("ferry-machine-async-create")
            var options = Machine.Options()
            options.clock = ManualClock()  // no collector ticks, no poll: only what the test does happens
            options.extraModels = Catalog(models: [slow, quick])
            machine = Machine(configPath: dir.file("machine.json"), registry: PluginRegistry(), options: options)
        }

        func write(slowAttributes: String?) throws {
            let capture = #""service_configs": [{"type": "data_manager", "attributes": {"capture_methods": [{"method": "Readings", "capture_frequency_hz": 10}]}}]"#
            let slow = slowAttributes.map {
                #"{"name": "slow", "api": "rdk:component:sensor", "model": "acme:test:gated", "attributes": \#($0), \#(capture)},"#
            } ?? ""
            try """
            {"components": [\(slow)
               {"name": "quick", "api": "rdk:component:sensor", "model": "acme:test:quick", \(capture)}],
             "services": [{"name": "dm", "type": "data_manager", "attributes": {"capture_dir": "\(dir.file("capture"))", "sync_disabled": true}}]}
            """.write(toFile: dir.file("machine.json"), atomically: true, encoding: .utf8)
        }

        func running(_ name: String) -> Bool { machine.instance(api: "rdk:component:sensor", name: name) != nil }
        func state(_ name: String) -> String?? { machine.resources.first { $0.name == name }.map(\.error) }
    }

    @Test func startReturnsWhileTheCreateHangsAndTheComponentShowsAsStartingUntilItEnds() throws {
        let rig = try Rig()
        defer { rig.dir.remove() }
        try rig.write(slowAttributes: #"{"v": 1}"#)
        try rig.machine.start()
        defer { rig.machine.stop() }

        #expect(rig.running("quick"), "the other component did not wait for the hung create")
        #expect(!rig.running("slow"))
        #expect(rig.state("slow")??.hasPrefix("starting: its create is running in its plugin process") == true, "\(rig.machine.resources)")
        #expect(rig.machine.notReady.contains { $0.hasPrefix("component slow: starting") }, "\(rig.machine.notReady)")
        // The control queue is free: a reload (here of an unchanged config) and the stats answer.
        #expect(rig.machine.reload() == nil)
        #expect(rig.machine.collectorStats.keys.map(\.component) == ["quick"])

        rig.slow.gate.signal()
        #expect(eventually(timeout: 20) { rig.running("slow") })
        #expect(rig.state("slow") == .some(nil))
        #expect(rig.machine.notReady.isEmpty, "\(rig.machine.notReady)")
        #expect(Set(rig.machine.collectorStats.keys.map(\.component)) == ["quick", "slow"])
        #expect(rig.slow.attributesStarted == [["v": 1]], "one create: the reload meanwhile changed nothing")
    }

    @Test func aComponentReconfiguredWhileStartingIsCreatedAgainWithItsNewConfig() throws {
        let rig = try Rig()
        defer { rig.dir.remove() }
        try rig.write(slowAttributes: #"{"v": 1}"#)
        try rig.machine.start()
        defer { rig.machine.stop() }
        #expect(eventually(timeout: 20) { rig.slow.attributesStarted.count == 1 })

        try rig.write(slowAttributes: #"{"v": 2}"#)
        #expect(rig.machine.reload() == nil)
        #expect(rig.state("slow")??.hasPrefix("starting") == true)
        rig.slow.gate.signal()  // the first create ends, for a config no longer wanted
        #expect(eventually(timeout: 20) { rig.slow.attributesStarted.count == 2 })
        #expect(!rig.running("slow"))
        rig.slow.gate.signal()
        #expect(eventually(timeout: 20) { rig.running("slow") })

        #expect(rig.slow.attributesStarted == [["v": 1], ["v": 2]])
        let instances = rig.slow.instances
        #expect(instances.count == 2)
        #expect(instances.first?.isClosed == true, "the instance made for the old config is closed")
        #expect(instances.last?.isClosed == false)
        let running = rig.machine.instance(api: "rdk:component:sensor", name: "slow") as? Instance
        #expect(running === instances.last)
        #expect(running?.config["attributes"]?.documentValue == ["v": 2])
    }

    @Test func aComponentRemovedWhileStartingHasWhatItsCreateMadeClosed() throws {
        let rig = try Rig()
        defer { rig.dir.remove() }
        try rig.write(slowAttributes: #"{"v": 1}"#)
        try rig.machine.start()
        defer { rig.machine.stop() }
        #expect(eventually(timeout: 20) { rig.slow.attributesStarted.count == 1 })

        try rig.write(slowAttributes: nil)
        #expect(rig.machine.reload() == nil)
        #expect(rig.state("slow") == nil, "no longer in the config")
        rig.slow.gate.signal()
        #expect(eventually(timeout: 20) { rig.slow.instances.first?.isClosed == true })
        #expect(!rig.running("slow"))
        #expect(rig.machine.collectorStats.keys.map(\.component) == ["quick"])
        #expect(rig.slow.attributesStarted.count == 1, "not created again")
    }

    @Test func aMachineStoppedWhileACreateHangsClosesWhatItMakes() throws {
        let rig = try Rig()
        defer { rig.dir.remove() }
        try rig.write(slowAttributes: #"{"v": 1}"#)
        try rig.machine.start()
        #expect(eventually(timeout: 20) { rig.slow.attributesStarted.count == 1 })
        rig.machine.stop()
        rig.slow.gate.signal()
        #expect(eventually(timeout: 20) { rig.slow.instances.first?.isClosed == true })
        #expect(!rig.running("slow"))
    }
}
