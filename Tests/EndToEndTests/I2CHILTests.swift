import FerryTestSupport
import Foundation
import Testing

/// `ferry hil` — the conformance suite a user runs on real hardware — against the real
/// libFerryI2C.so and a umockdev-scripted /dev/i2c-1 (Tests/Fixtures/umockdev/i2c-1-steady.json).
@Suite(.serialized, .ownThreads) struct I2CHILTests {
    static let cases: [(model: String, attributes: String)] = [
        ("tmp102", #"{"i2c_bus": "/dev/i2c-1", "i2c_addr": 72}"#),
        ("bme280", #"{"i2c_bus": "/dev/i2c-1", "i2c_addr": 118}"#),
        ("ads1115", #"{"i2c_bus": "/dev/i2c-1", "i2c_addr": 73, "full_scale_volts": 2.048}"#),
        (
            "i2c-register-sensor",
            #"{"i2c_bus": "/dev/i2c-1", "i2c_addr": 72, "registers": [{"name": "temperature_celsius", "register": 0, "length": 2, "signed": true, "shift": 4, "scale": 0.0625}]}"#
        ),
    ]

    @Test(arguments: cases.map(\.model))
    func conformanceSuitePassesUnderUmockdev(model: String) throws {
        if let missing = Umockdev.missing() {
            Issue.record(Comment(rawValue: missing))
            return
        }
        let dir = try TemporaryDirectory("ferry-hil-i2c")
        defer { dir.remove() }
        let attributes = dir.file("attrs.json")
        try Self.cases.first { $0.model == model }!.attributes.write(toFile: attributes, atomically: true, encoding: .utf8)
        let hil = try Umockdev.start(
            script: Umockdev.fixtures.appendingPathComponent("i2c-1-steady.json").path,
            ferry: ["hil", BuiltProducts.library("FerryI2C"), "--model", model, "--config", attributes]
        ).wait()
        let report = hil.stdout
        #expect(hil.status == 0, "ferry hil \(model) failed:\n\(report)\n\(hil.stderr)")
        #expect(report.contains("PASS") && !report.contains("FAIL"), "\(report)")
    }
}
