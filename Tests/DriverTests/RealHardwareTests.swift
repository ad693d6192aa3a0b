import FerryBSON
import FerryDevice
import FerryGPIODrivers
import FerryI2CDrivers
import FerrySDK
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The drivers on real devices, through the real system calls. They run only where environment
/// variables name the devices (and are reported as skipped, naming the variable, elsewhere):
///
///     FERRY_HIL_I2C_BUS=/dev/i2c-1 FERRY_HIL_TMP102_ADDR=72 FERRY_HIL_BME280_ADDR=119 \
///     FERRY_HIL_ADS1115_ADDR=72 FERRY_HIL_GPIOCHIP=/dev/gpiochip0 FERRY_HIL_GPIO_LINE=17 swift test --filter RealHardware
enum HIL {
    static func env(_ name: String) -> String? { getenv(name).map { String(cString: $0) } }
    static var bus: String? { env("FERRY_HIL_I2C_BUS") }
    /// An address in decimal (72) or hex (0x48).
    static func address(_ name: String) -> Int? { env(name).flatMap { $0.hasPrefix("0x") ? Int($0.dropFirst(2), radix: 16) : Int($0) } }
    static func i2c(_ variable: String) -> BSONDocument {
        ["i2c_bus": .string(bus ?? ""), "i2c_addr": .int64(Int64(address(variable) ?? 0))]
    }
}

@Suite struct RealHardwareTests {
    @Test(.enabled(if: HIL.bus != nil && HIL.address("FERRY_HIL_TMP102_ADDR") != nil, "set FERRY_HIL_I2C_BUS and FERRY_HIL_TMP102_ADDR to test a real TMP102"))
    func tmp102() throws {
        let sensor = try TMP102(config: sensorConfig(TMP102.model, HIL.i2c("FERRY_HIL_TMP102_ADDR")), io: SystemDeviceIO())
        defer { sensor.close() }
        let celsius = try sensor.temperatureCelsius()
        #expect((-40...125).contains(celsius), "a TMP102 reads -40…125 °C, got \(celsius)")
    }

    @Test(.enabled(if: HIL.bus != nil && HIL.address("FERRY_HIL_BME280_ADDR") != nil, "set FERRY_HIL_I2C_BUS and FERRY_HIL_BME280_ADDR to test a real BME280"))
    func bme280() throws {
        let sensor = try BME280(config: sensorConfig(BME280.model, HIL.i2c("FERRY_HIL_BME280_ADDR")), io: SystemDeviceIO())
        defer { sensor.close() }
        var measurement: BME280Measurement?
        for _ in 0..<20 where measurement == nil {  // the first conversion may not be ready yet
            do { measurement = try sensor.measure() } catch let error as PluginError where error.kind == .retryLater { usleep(50_000) }
        }
        let m = try #require(measurement)
        #expect((-40...85).contains(m.temperatureCelsius))
        #expect((30_000...110_000).contains(m.pressurePa))
        #expect((0...100).contains(m.humidityPercent))
    }

    @Test(.enabled(if: HIL.bus != nil && HIL.address("FERRY_HIL_ADS1115_ADDR") != nil, "set FERRY_HIL_I2C_BUS and FERRY_HIL_ADS1115_ADDR to test a real ADS1115"))
    func ads1115() throws {
        var attributes = HIL.i2c("FERRY_HIL_ADS1115_ADDR")
        attributes["full_scale_volts"] = 6.144
        let sensor = try ADS1115Sensor(config: sensorConfig(ADS1115Sensor.model, attributes), io: SystemDeviceIO())
        defer { sensor.close() }
        let readings = try sensor.readings(extra: [:])
        #expect(readings.count == 4)
        #expect(readings.allSatisfy { ($0.value.doubleValue ?? .nan).magnitude <= 6.144 })
    }

    @Test(.enabled(if: HIL.env("FERRY_HIL_GPIOCHIP") != nil && HIL.env("FERRY_HIL_GPIO_LINE") != nil, "set FERRY_HIL_GPIOCHIP and FERRY_HIL_GPIO_LINE to test a real GPIO line"))
    func gpioBoard() throws {
        let line = try #require(Int(HIL.env("FERRY_HIL_GPIO_LINE")!))
        let board = try CustomLinuxBoard(
            config: config(
                "rdk:component:board", CustomLinuxBoard.model,
                ["pins": [["name": "pin", "device_name": .string(HIL.env("FERRY_HIL_GPIOCHIP")!), "line_number": .int64(Int64(line))]]]),
            io: SystemDeviceIO())
        defer { board.close() }
        guard case .tabular(let document) = try board.capture(method: "Gpios", parameters: [:]) else { Issue.record("not tabular"); return }
        #expect(document["gpios"]?.documentValue?["pin"]?.documentValue?["high"]?.boolValue != nil)
    }
}
