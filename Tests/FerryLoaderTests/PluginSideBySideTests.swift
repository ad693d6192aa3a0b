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
        // The kernel refreshes /proc/loadavg every 5 s, so the plugin read one of these two.
        let loadBefore = try Self.procLoadAverage()
        guard case .tabular(let reading) = try fakeSensor.capture(method: "Readings"),
            case .tabular(let hostReading) = try statsSensor.capture(method: "Readings")
        else {
            Issue.record("both sensors return tabular readings")
            return
        }
        let loadAfter = try Self.procLoadAverage()
        #expect(reading["readings"]?.documentValue?.isEmpty == false)
        let load = try #require(hostReading["readings"]?.documentValue?["load_1m"]?.doubleValue)
        #expect(load == loadBefore || load == loadAfter, "load_1m \(load), /proc/loadavg said \(loadBefore) then \(loadAfter)")
        let memory = try #require(hostReading["readings"]?.documentValue?["mem_total_kb"]?.int64Value)
        #expect(memory == (try Self.procMemTotalKB()))
    }

    /// The first field of /proc/loadavg, parsed as the plugin parses it.
    static func procLoadAverage() throws -> Double {
        let text = try String(contentsOfFile: "/proc/loadavg", encoding: .utf8)
        return try #require(text.split(separator: " ").first.flatMap { Double($0) })
    }

    /// `MemTotal:` of /proc/meminfo in kB (it never changes while the machine runs).
    static func procMemTotalKB() throws -> Int64 {
        let text = try String(contentsOfFile: "/proc/meminfo", encoding: .utf8)
        let line = try #require(text.split(separator: "\n").first { $0.hasPrefix("MemTotal:") })
        return try #require(line.split(separator: " ").dropFirst().first.flatMap { Int64($0) })
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
        let fakes = registry.models.filter { $0.model == "rdk:builtin:fake" && $0.api.hasPrefix("rdk:component:") }
        // Nine component APIs (arm, board, camera, encoder, gantry, motor, movement_sensor, sensor,
        // servo), 20 capture methods: a loop over nothing would pass.
        #expect(fakes.count == 9)
        #expect(fakes.reduce(0) { $0 + $1.captureMethods.count } == 20)
        var captured = 0
        defer { #expect(captured == 20) }
        for model in fakes {
            let instance = try model.create(config: config("x", model.api, model.model))
            defer { instance.close() }
            for method in model.captureMethods {
                switch try instance.capture(method: method) {
                case .tabular(let document): #expect(!document.isEmpty, "\(model.api) \(method)")
                case .binary(let payloads):
                    #expect(!payloads.isEmpty && payloads.allSatisfy { !$0.bytes.isEmpty }, "\(model.api) \(method)")
                }
                captured += 1
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
