import FerryBSON
import FerryLoader
import FerryTestSupport
import Testing

@testable import FerryHIL

/// The suite against the fake plugin's real `.so` (dlopen through the real loader): every fake
/// model conforms, and each way a model can fail is reported, not crashed on.
@Suite struct ConformanceSuiteTests {
    static let fake = BuiltProducts.library("FerryFake")

    static func run(_ api: String, _ attributes: BSONDocument = [:], model: String = "fake") -> ConformanceReport {
        ConformanceSuite(iterations: 2).run(pluginPath: fake, model: model, api: api, attributes: attributes)
    }

    @Test(arguments: ["sensor", "arm", "board", "motor", "encoder", "gantry", "servo", "movement_sensor"])
    func everyFakeModelConforms(api: String) {
        let report = Self.run(api)
        #expect(report.passed, "\(report.text)")
        #expect(report.api == "rdk:component:\(api)")
        for name in ["load", "capture methods", "create", "unknown method refused", "reconfigure", "close and re-create"] {
            #expect(report.check(name)?.passed == true, "\(name): \(report.text)")
        }
    }

    @Test func aSensorsReadingsAreCapturedAndRepeated() {
        let report = Self.run("rdk:component:sensor")
        #expect(report.check("capture Readings")?.passed == true)
        #expect(report.check("repeat Readings")?.detail == "2 more captures, same shape")
    }

    @Test(arguments: ["image/jpeg", "image/png"])
    func theFakeCameraConformsWithDecodedImagesOfTheAdvertisedSize(mimeType: String) {
        let report = Self.run("camera", ["width": 64, "height": 48, "mime_type": .string(mimeType)])
        #expect(report.passed, "\(report.text)")
        #expect(report.check("capture ReadImage")?.detail == "\(mimeType) 64x48")
        #expect(report.check("GetImages consistent")?.passed == true)
        #expect(report.check("capture NextPointCloud")?.detail == "pointcloud/pcd")
    }

    @Test func aCreateFailureIsReportedWithThePluginsMessage() {
        let report = Self.run("camera", ["width": "wide"])
        #expect(!report.passed)
        let create = report.check("create")
        #expect(create?.passed == false)
        #expect(create?.detail.contains("invalid-argument") == true)
        #expect(create?.detail.contains("width") == true)
    }

    @Test func anUnknownModelListsWhatTheLibraryHas() {
        let report = Self.run("sensor", model: "acme:nope:nope")
        #expect(report.check("find model")?.passed == false)
        #expect(report.check("find model")?.detail.contains("rdk:component:sensor rdk:builtin:fake") == true)
    }

    @Test func aModelUnderSeveralAPIsNeedsTheAPI() {
        let report = ConformanceSuite().run(pluginPath: Self.fake, model: "fake", api: nil, attributes: [:])
        #expect(report.check("find model")?.detail.contains("pass --api") == true)
    }

    /// A sensor that advertises Readings but answers unsupported to everything.
    struct UnsupportedSensor: ConformanceModel {
        final class Instance: ConformanceInstance {
            func capture(method: String, parameters: BSONDocument) throws(PluginCallError) -> CapturedValue {
                throw PluginCallError(status: .unsupported, message: "\(method) is not supported")
            }
            func reconfigure(config: BSONDocument) throws(PluginCallError) -> Bool { true }
            func close() {}
        }
        var api: String { "rdk:component:sensor" }
        var model: String { "acme:test:nothing" }
        var captureMethods: [String] { ["Readings"] }
        func makeInstance(config: BSONDocument) throws(PluginCallError) -> any ConformanceInstance { Instance() }
    }

    @Test func aModelThatCapturesNothingFails() {
        let report = ConformanceSuite().run(UnsupportedSensor(), attributes: [:], subject: "in-process")
        #expect(report.check("capture Readings")?.passed == true, "unsupported itself is a clean answer")
        #expect(report.check("a method captures")?.passed == false)
        #expect(!report.passed, "\(report.text)")
    }

    @Test func aMissingLibraryFailsTheLoadCheck() {
        let report = ConformanceSuite().run(pluginPath: "/nonexistent/libNope.so", model: "fake", api: "sensor", attributes: [:])
        #expect(report.checks.count == 1)
        #expect(report.check("load")?.passed == false)
        #expect(report.text.contains("FAIL  load"))
    }
}

/// The shape and image checks on hand-made captures.
@Suite struct ExpectationTests {
    static let camera = Expectations(api: "rdk:component:camera", attributes: ["width_px": 640, "height_px": 480])

    static func failure(_ expectations: Expectations, _ method: String, _ value: CapturedValue) -> String? {
        do {
            _ = try expectations.validate(method: method, value)
            return nil
        } catch {
            return error.description
        }
    }

    @Test func anImageOfTheWrongSizeFails() throws {
        guard case .binary(let payloads) = try Self.readImage(attributes: ["width": 32, "height": 16, "mime_type": "image/jpeg"]) else {
            Issue.record("ReadImage must be binary")
            return
        }
        let message = Self.failure(Self.camera, "ReadImage", .binary(payloads))
        #expect(message?.contains("the image is 32x16, but the attributes ask for 640x480") == true)
    }

    static func readImage(attributes: BSONDocument) throws -> CapturedValue {
        let registry = PluginRegistry()
        try registry.load(path: BuiltProducts.library("FerryFake"))
        let model = try #require(registry.model(api: "rdk:component:camera", model: "rdk:builtin:fake"))
        let instance = try model.create(config: ["name": "c", "api": "rdk:component:camera", "model": "rdk:builtin:fake", "attributes": .document(attributes)])
        defer { instance.close() }
        return try instance.capture(method: "ReadImage")
    }

    @Test func aTruncatedJPEGFailsToDecode() throws {
        guard case .binary(let payloads) = try Self.readImage(attributes: ["width": 64, "height": 64, "mime_type": "image/jpeg"]) else {
            Issue.record("ReadImage must be binary")
            return
        }
        var bytes = payloads[0].bytes
        bytes.removeLast(bytes.count / 2)
        let message = Self.failure(Self.camera, "ReadImage", .binary([CapturedBinary(bytes: bytes, mimeType: "image/jpeg")]))
        #expect(message?.contains("does not decode") == true)
    }

    @Test func aDamagedPNGFails() throws {
        guard case .binary(let payloads) = try Self.readImage(attributes: ["width": 64, "height": 64, "mime_type": "image/png"]) else {
            Issue.record("ReadImage must be binary")
            return
        }
        #expect(try ImageCheck.png(payloads[0].bytes) == ImageCheck.Decoded(mimeType: "image/png", width: 64, height: 64))
        var corrupted = payloads[0].bytes
        corrupted[40] ^= 0xFF
        #expect(throws: ImageCheck.Failure.self) { try ImageCheck.png(corrupted) }
        #expect(throws: ImageCheck.Failure.self) { try ImageCheck.png(Array(payloads[0].bytes.dropLast(12))) }
    }

    @Test func readingShapesAreChecked() {
        let sensor = Expectations(api: "rdk:component:sensor", attributes: [:])
        #expect(Self.failure(sensor, "Readings", .tabular(["readings": [:]]))?.contains("empty map") == true)
        #expect(Self.failure(sensor, "Readings", .tabular(["temperature": 20]))?.contains("{\"readings\"") == true)
        #expect(Self.failure(sensor, "Readings", .tabular(["readings": ["t": .double(.nan)]]))?.contains("readings.t is nan") == true)
        #expect(Self.failure(sensor, "Readings", .tabular(["readings": ["t": 21.5]])) == nil)

        let motor = Expectations(api: "rdk:component:motor", attributes: [:])
        #expect(Self.failure(motor, "IsPowered", .tabular(["is_on": true, "power_pct": 80]))?.contains("outside -1…1") == true)
        let arm = Expectations(api: "rdk:component:arm", attributes: [:])
        #expect(Self.failure(arm, "JointPositions", .tabular(["positions": ["values": []]])) != nil)
        let board = Expectations(api: "rdk:component:board", attributes: [:])
        #expect(Self.failure(board, "Gpios", .tabular(["gpios": ["11": ["high": 1]]]))?.contains("pin 11") == true)
    }

    @Test func shapesIgnoreValuesButNotStructure() throws {
        let sensor = Expectations(api: "rdk:component:sensor", attributes: [:])
        let a = try sensor.validate(method: "Readings", .tabular(["readings": ["t": 21.5, "h": 40]]))
        let b = try sensor.validate(method: "Readings", .tabular(["readings": ["t": 22, "h": 41.5]]))
        let c = try sensor.validate(method: "Readings", .tabular(["readings": ["t": 22]]))
        #expect(a == b)
        #expect(a != c)
    }
}
