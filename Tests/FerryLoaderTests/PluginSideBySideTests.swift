import FerryBSON
import FerryTestSupport
import Foundation
import Testing

@testable import FerryLoader

/// The Swift plugin (fake models) and the C plugin (system stats) loaded into one host, each
/// creating instances and capturing through the same C ABI.
@Suite struct PluginSideBySideTests {
    let registry = PluginRegistry()

    init() throws {
        try registry.load(path: BuiltProducts.library("FerryFake"))
        try registry.load(path: BuiltProducts.library("FerrySystemStats"))
    }

    func config(_ name: String, _ api: String, _ model: String, _ attributes: BSONDocument = [:]) -> BSONDocument {
        ["name": .string(name), "api": .string(api), "model": .string(model), "attributes": .document(attributes), "depends_on": []]
    }

    @Test func swiftAndCPluginsCaptureSideBySide() throws {
        let fake = try #require(registry.model(api: "rdk:component:sensor", model: "rdk:builtin:fake"))
        let stats = try #require(registry.model(api: "rdk:component:sensor", model: "ferry:linux:system-stats"))
        let fakeSensor = try fake.create(config: config("temp", fake.api, fake.model))
        let statsSensor = try stats.create(config: config("host", stats.api, stats.model))
        defer {
            fakeSensor.close()
            statsSensor.close()
        }
        guard case .tabular(let reading) = try fakeSensor.capture(method: "Readings"),
            case .tabular(let hostReading) = try statsSensor.capture(method: "Readings")
        else {
            Issue.record("both sensors return tabular readings")
            return
        }
        #expect(reading["readings"]?.documentValue?.isEmpty == false)
        let load = try #require(hostReading["readings"]?.documentValue?["load_1m"]?.doubleValue)
        #expect(load >= 0)
        let memory = try #require(hostReading["readings"]?.documentValue?["mem_total_kb"]?.doubleValue)
        #expect(memory > 0)
    }

    @Test func inspectListsEveryFakeModelWithViamsCaptureMethods() throws {
        let info = try #require(registry.plugins.first { $0.path.hasSuffix("libFerryFake.so") })
        let methods = Dictionary(uniqueKeysWithValues: info.models.map { ($0.api, Set($0.captureMethods)) })
        #expect(methods["rdk:component:arm"] == ["EndPosition", "JointPositions"])
        #expect(methods["rdk:component:board"] == ["Analogs", "Gpios"])
        #expect(methods["rdk:component:camera"] == ["GetImages", "ReadImage", "NextPointCloud"])
        #expect(methods["rdk:component:encoder"] == ["TicksCount"])
        #expect(methods["rdk:component:gantry"] == ["Lengths", "Position"])
        #expect(methods["rdk:component:motor"] == ["Position", "IsPowered"])
        #expect(methods["rdk:component:movement_sensor"] == [
            "AngularVelocity", "CompassHeading", "LinearAcceleration", "LinearVelocity", "Orientation", "Position",
        ])
        #expect(methods["rdk:component:sensor"] == ["Readings"])
        #expect(methods["rdk:component:servo"] == ["Position"])
        #expect(methods["rdk:service:vision"] == ["CaptureAllFromCamera"])
        #expect(info.abiMajor == PluginLoader.abiMajor)
    }

    /// Every component model; the vision service looks through a camera of a machine, which
    /// ServiceModelTests hands it.
    @Test func everyFakeCaptureMethodProducesAReading() throws {
        for model in registry.models where model.model == "rdk:builtin:fake" && model.api.hasPrefix("rdk:component:") {
            let instance = try model.create(config: config("x", model.api, model.model))
            defer { instance.close() }
            for method in model.captureMethods {
                switch try instance.capture(method: method) {
                case .tabular(let document): #expect(!document.isEmpty, "\(model.api) \(method)")
                case .binary(let payloads):
                    #expect(!payloads.isEmpty && payloads.allSatisfy { !$0.bytes.isEmpty }, "\(model.api) \(method)")
                }
            }
        }
    }

    @Test func pluginErrorsComeBackAsStatusesNotCrashes() throws {
        let fake = try #require(registry.model(api: "rdk:component:sensor", model: "rdk:builtin:fake"))
        let sensor = try fake.create(config: config("temp", fake.api, fake.model))
        #expect(throws: PluginCallError.self) { try sensor.capture(method: "NoSuchMethod") }
        do {
            _ = try sensor.capture(method: "NoSuchMethod")
        } catch {
            #expect(error.status == .unsupported)
            #expect(error.message.contains("NoSuchMethod"))
        }
        sensor.close()
        #expect(throws: PluginCallError(status: .fatal, message: "instance is closed")) { try sensor.capture(method: "Readings") }
    }
}
