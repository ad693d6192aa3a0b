import FerryBSON
import FerryTestSupport
import Foundation
import Testing

/// The real libFerryI2C.so, loaded by the real `ferry run`, reading a umockdev-scripted
/// /dev/i2c-1 (Tests/Fixtures/umockdev/i2c-1-sensors.json): a TMP102 at 0x48 that NACKs its
/// first three transfers, an ADS1115 at 0x49 and a BME280 at 0x76 holding the datasheet's
/// worked-example calibration and raw values.
@Suite(.serialized, .ownThreads) struct I2CUmockdevTests {
    @Test func i2cSensorsCaptureFromAScriptedBus() throws {
        if let missing = Umockdev.missing() {
            Issue.record(Comment(rawValue: missing))
            return
        }
        let machine = CaptureMachine(dir: try TemporaryDirectory("ferry-umockdev-i2c"))
        defer { machine.dir.remove() }
        try machine.write(components: [
            CaptureMachine.component("thermo", model: "tmp102", attributes: #"{"i2c_bus": "/dev/i2c-1", "i2c_addr": 72}"#),
            CaptureMachine.component("adc", model: "ads1115", attributes: #"{"i2c_bus": "/dev/i2c-1", "i2c_addr": 73, "full_scale_volts": 2.048}"#),
            CaptureMachine.component("env", model: "bme280", attributes: #"{"i2c_bus": "/dev/i2c-1", "i2c_addr": 118}"#),
        ])
        let trace = machine.dir.file("bus.log")
        let host = try Umockdev.start(
            script: Umockdev.fixtures.appendingPathComponent("i2c-1-sensors.json").path, ferry: ["run", machine.configPath], log: trace)
        let captured = eventually { ["thermo", "adc", "env"].allSatisfy { !machine.files(of: $0).isEmpty } }
        #expect(CaptureMachine.stop(host) == 0, "ferry run exits cleanly on SIGTERM")
        let busLog = (try? String(contentsOfFile: trace, encoding: .utf8)) ?? ""
        #expect(captured, "every sensor captured; bus trace:\n\(busLog.suffix(2000))")

        let readings = try machine.readings()
        let thermo = try #require(readings["thermo"]?.first)
        #expect(thermo == ["temperature_celsius": .double(25)])
        // The scripted NACKs reached the driver and were retried, not fatal.
        #expect(busLog.contains("NACK (scripted) at 0x48"))

        let adc = try #require(readings["adc"]?.first)
        #expect(adc["a0"] == .double(1.024) && adc["a1"] == .double(-0.512) && adc["a2"] == .double(0))

        let env = try #require(readings["env"]?.first)
        #expect(closeTo(env["temperature_celsius"], 25.08, within: 0.005))
        #expect(closeTo(env["pressure_mpa"], 0.10065327, within: 1e-8))
        #expect(env["relative_humidity_pct"]?.doubleValue.map { (0...100).contains($0) } == true)
        // Normal mode was configured over the bus: ctrl_hum, config, ctrl_meas in that order.
        let writes = busLog.split(separator: "\n").filter { $0.hasPrefix("write 0x76") }.map { $0.split(separator: " ")[3] }
        #expect(writes.prefix(3) == ["0xf2", "0xf5", "0xf4"])
    }
}

/// The simple tier end to end: Plugins/ffi-example (ten lines of C calling libi2c, plus its
/// manifest) compiled with `cc`, named in the config's `modules`, called through libffi by the
/// real `ferry run`, reading a TMP102 on a umockdev-scripted /dev/i2c-1.
@Suite(.serialized, .ownThreads) struct FFIPluginEndToEndTests {
    static let example = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Plugins/ffi-example")

    @Test func theTenLineCExampleIsCapturedByFerryRun() throws {
        if let missing = Umockdev.missing() {
            Issue.record(Comment(rawValue: missing))
            return
        }
        let machine = CaptureMachine(dir: try TemporaryDirectory("ferry-ffi"))
        defer { machine.dir.remove() }
        let library = machine.dir.file("libtmp102.so")
        let cc = try FerryProcess.run(
            ["-shared", "-fPIC", "-Wall", "-Werror", "-o", library, Self.example.appendingPathComponent("tmp102.c").path, "-li2c"], executable: "/usr/bin/cc")
        try #require(cc.status == 0, "cc failed: is libi2c-dev installed? (apt-get install -y libi2c-dev)\n\(cc.stderr)")
        try FileManager.default.copyItem(atPath: Self.example.appendingPathComponent("tmp102.ferry.json").path, toPath: machine.dir.file("tmp102.ferry.json"))

        // The manifest is what `ferry plugin inspect` shows for it.
        let inspect = try FerryProcess.run(["plugin", "inspect", library])
        #expect(inspect.status == 0, "\(inspect.stderr)")
        #expect(inspect.stdout.contains("acme:simple:tmp102"))

        try machine.write(
            components: [CaptureMachine.component("simple", model: "acme:simple:tmp102", attributes: #"{"bus": 1, "addr": 72}"#)],
            modules: #"[{"type": "local", "name": "tmp102", "executable_path": "\#(library)"}]"#)
        let host = try Umockdev.start(script: Umockdev.fixtures.appendingPathComponent("i2c-1-sensors.json").path, ferry: ["run", machine.configPath])
        let captured = eventually { !machine.files(of: "simple").isEmpty }
        #expect(CaptureMachine.stop(host) == 0)
        #expect(captured)
        let readings = try #require(try machine.readings()["simple"])
        #expect(!readings.isEmpty)
        #expect(readings.allSatisfy { $0 == ["celsius": .double(25)] }, "\(readings.prefix(3))")
    }
}
