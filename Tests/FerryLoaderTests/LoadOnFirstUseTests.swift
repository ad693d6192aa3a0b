import FerryTestSupport
import Foundation
import Synchronization
import Testing

@testable import FerryLoader

/// A library registered to load on first use is loaded by the first lookup of one of its models
/// or operators, once, and not before.
@Suite struct LoadOnFirstUseTests {
    let fake = BuiltProducts.library("FerryFake")
    let sensor = "rdk:component:sensor"

    @Test func theFirstLookupOfItsModelLoadsIt() {
        let registry = PluginRegistry()
        registry.loadOnFirstUse(path: fake, models: [ModelKey(api: sensor, model: "rdk:builtin:fake")], operators: [])
        #expect(registry.plugins.isEmpty)
        #expect(registry.modelNames(api: sensor) == ["rdk:builtin:fake"], "its models are named before it is loaded")
        #expect(registry.model(api: sensor, model: "not-there") == nil)
        #expect(registry.plugins.isEmpty, "a model it does not provide does not load it")
        #expect(registry.model(api: sensor, model: "rdk:builtin:fake") != nil)
        #expect(registry.plugins.map(\.name) == ["fake"])
        // Loaded, everything it registered is there, not only what it was deferred with.
        #expect(registry.models.count > 1 && registry.modelNames(api: "rdk:component:camera") == ["rdk:builtin:fake"])
    }

    @Test func lookupsRacingEachOtherLoadItOnce() {
        let registry = PluginRegistry()
        registry.loadOnFirstUse(path: fake, models: [ModelKey(api: sensor, model: "rdk:builtin:fake")], operators: [])
        let found = Mutex(0)
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            if registry.model(api: sensor, model: "rdk:builtin:fake") != nil { found.withLock { $0 += 1 } }
        }
        #expect(found.withLock { $0 } == 8)
        #expect(registry.plugins.count == 1)
    }

    @Test func aLibraryAlreadyLoadedIsNotDeferred() throws {
        let registry = PluginRegistry()
        try registry.load(path: fake)
        registry.loadOnFirstUse(path: fake, models: [ModelKey(api: sensor, model: "made-up")], operators: [])
        #expect(!registry.modelNames(api: sensor).contains("made-up"))
    }
}
