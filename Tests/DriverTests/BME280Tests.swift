import FerryBSON
import FerryDevice
import FerryI2CDrivers
import FerrySDK
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The datasheet's worked example (Bosch BMP280/BME280, "Compensation formula" example: the
/// trimming values and raw readings below give t_fine = 128422, T = 25.08 °C, p = 100653.27 Pa).
let workedExample = BME280Calibration(
    t1: 27504, t2: 26435, t3: -1000, p1: 36477, p2: -10685, p3: 3024, p4: 2855, p5: 140, p6: -7, p7: 15500, p8: -14600, p9: 6000,
    h1: 75, h2: 362, h3: 0, h4: 313, h5: 50, h6: 30)

/// The datasheet's 32-bit integer humidity formula (section 4.2.3), an independent check on the
/// floating-point one: returns %RH × 1024.
func integerHumidity(_ c: BME280Calibration, adcH: Int, tFine: Int) -> Int {
    var v = tFine - 76800
    v = ((((adcH << 14) - (Int(c.h4) << 20) - (Int(c.h5) * v)) + 16384) >> 15)
        * (((((((v * Int(c.h6)) >> 10) * (((v * Int(c.h3)) >> 11) + 32768)) >> 10) + 2_097_152) * Int(c.h2) + 8192) >> 14)
    v -= ((((v >> 15) * (v >> 15)) >> 7) * Int(c.h1)) >> 4
    v = min(max(v, 0), 419_430_400)
    return v >> 12
}

@Suite struct BME280Tests {
    @Test func temperatureAndPressureMatchTheDatasheetExample() {
        let (celsius, fine) = workedExample.temperature(adcT: 519888)
        #expect(Int(fine) == 128422)
        #expect(abs(celsius - 25.08) < 0.005)
        #expect(abs(workedExample.pressure(adcP: 415148, fine: fine) - 100653.27) < 0.01)
    }

    @Test func humidityMatchesTheIntegerFormula() {
        let fine = workedExample.temperature(adcT: 519888).fine
        for adcH in [20000, 28000, 32000, 40000] {
            let double = workedExample.humidity(adcH: Int32(adcH), fine: fine)
            let integer = Double(integerHumidity(workedExample, adcH: adcH, tFine: Int(fine))) / 1024
            #expect(abs(double - integer) < 0.05, "adc_H \(adcH): \(double) vs \(integer)")
            #expect((0...100).contains(double))
        }
    }

    @Test func calibrationRegistersDecodeIncludingTheSharedNibbles() {
        let calibration = BME280Calibration(block1: calibrationBlock1(workedExample), block2: calibrationBlock2(workedExample))
        #expect(calibration == workedExample)
        let negative = BME280Calibration(block1: calibrationBlock1(workedExample), block2: [0x6A, 0x01, 0x00, 0xEC, 0xA7, 0xFC, 0xE2])
        #expect(negative.h4 == -313 && negative.h5 == -54 && negative.h6 == -30)
    }

    @Test func readsThroughTheBusAndStartsNormalMode() throws {
        let chip = bme280Chip(adcT: 519888, adcP: 415148, adcH: 28000)
        let sensor = try BME280(
            config: sensorConfig(BME280.model, ["i2c_bus": "/dev/i2c-1", "i2c_addr": 0x76]), io: FakeI2CBus(devices: [0x76: chip]))
        let readings = try sensor.readings(extra: [:])
        #expect(readings["temperature_celsius"]?.doubleValue.map { abs($0 - 25.08) < 0.005 } == true)
        #expect(readings["pressure_mpa"]?.doubleValue.map { abs($0 - 0.10065327) < 1e-8 } == true)
        let humidity = try #require(readings["relative_humidity_pct"]?.doubleValue)
        #expect(abs(humidity - workedExample.humidity(adcH: 28000, fine: 128422.0)) < 0.01)
        #expect(readings["dew_point_celsius"]?.doubleValue.map { $0 < 25.08 } == true)
        // ctrl_hum before ctrl_meas (the datasheet: ctrl_hum takes effect on the ctrl_meas write).
        #expect(chip.writes.map(\.0) == [0xF2, 0xF5, 0xF4])
        #expect(chip.registers[0xF4] == 0x27)
        _ = try sensor.readings(extra: [:])
        #expect(chip.writes.count == 3, "calibration and mode are set up once")
    }

    @Test func theResetValueMeansNoMeasurementYetAndAPowerCycledChipIsSetUpAgain() throws {
        let chip = bme280Chip(adcT: 0x80000, adcP: 0x80000, adcH: 0x8000)
        let sensor = try BME280(config: sensorConfig(BME280.model, ["i2c_bus": "/dev/i2c-1"]), io: FakeI2CBus(devices: [0x77: chip]))
        #expect(pluginError { try sensor.readings(extra: [:]) }?.kind == .retryLater)
        #expect(pluginError { try sensor.readings(extra: [:]) }?.kind == .retryLater)
        #expect(chip.writes.count == 3, "still in normal mode: waiting, not reconfiguring")
        // A power cycle: ctrl_meas back to sleep, data back to the reset value.
        chip.registers[0xF4] = 0
        #expect(pluginError { try sensor.readings(extra: [:]) }?.kind == .retryLater)
        for (i, byte) in bme280Chip(adcT: 519888, adcP: 415148, adcH: 28000).read(register: 0xF7, count: 8).enumerated() {
            chip.registers[0xF7 + UInt8(i)] = byte
        }
        let readings = try sensor.readings(extra: [:])
        #expect(closeEnough(readings["temperature_celsius"]?.doubleValue, 25.08, 0.005))
        #expect(chip.writes.count == 6 && chip.registers[0xF4] == 0x27, "normal mode set up again")
    }

    @Test func theFirstReadingWaitsForTheFirstConversion() throws {
        final class Converting: RegisterFile {
            var pending = 5
            override func read(register: UInt8, count: Int) -> [UInt8] {
                guard register == 0xF7, pending > 0 else { return super.read(register: register, count: count) }
                pending -= 1
                return [0x80, 0, 0, 0x80, 0, 0, 0x80, 0]
            }
        }
        let chip = Converting(bme280Chip(adcT: 519888, adcP: 415148, adcH: 28000).registers)
        let sensor = try BME280(config: sensorConfig(BME280.model, ["i2c_bus": "/dev/i2c-1"]), io: FakeI2CBus(devices: [0x77: chip]))
        #expect(closeEnough(try sensor.measure().temperatureCelsius, 25.08, 0.005))
        #expect(chip.pending == 0)
    }

    @Test func aWrongChipIdSaysWhatToCheck() throws {
        let chip = bme280Chip(adcT: 519888, adcP: 415148, adcH: 28000)
        chip.registers[0xD0] = 0x58
        let sensor = try BME280(config: sensorConfig(BME280.model, ["i2c_bus": "/dev/i2c-1"]), io: FakeI2CBus(devices: [0x77: chip]))
        let error = pluginError { try sensor.readings(extra: [:]) }
        #expect(error?.kind == .invalidArgument)
        #expect(error?.message.contains("BMP280") == true)
    }
}

func calibrationBlock1(_ c: BME280Calibration) -> [UInt8] {
    let words: [UInt16] = [c.t1, UInt16(bitPattern: c.t2), UInt16(bitPattern: c.t3), c.p1] + [c.p2, c.p3, c.p4, c.p5, c.p6, c.p7, c.p8, c.p9].map { UInt16(bitPattern: $0) }
    return words.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] } + [c.h1]
}

func calibrationBlock2(_ c: BME280Calibration) -> [UInt8] {
    let h2 = UInt16(bitPattern: c.h2), h4 = UInt16(bitPattern: c.h4), h5 = UInt16(bitPattern: c.h5)
    return [
        UInt8(h2 & 0xFF), UInt8(h2 >> 8), c.h3, UInt8((h4 >> 4) & 0xFF), UInt8(h4 & 0x0F) | UInt8((h5 & 0x0F) << 4),
        UInt8((h5 >> 4) & 0xFF), UInt8(bitPattern: c.h6),
    ]
}

/// A BME280 register file holding the worked example's calibration and the given raw readings.
func bme280Chip(adcT: Int, adcP: Int, adcH: Int) -> RegisterFile {
    var registers: [UInt8: UInt8] = [0xD0: 0x60]
    let block1 = calibrationBlock1(workedExample)
    for (i, byte) in block1.prefix(24).enumerated() { registers[0x88 + UInt8(i)] = byte }
    registers[0xA1] = block1[24]
    for (i, byte) in calibrationBlock2(workedExample).enumerated() { registers[0xE1 + UInt8(i)] = byte }
    let data: [UInt8] = [
        UInt8(adcP >> 12), UInt8((adcP >> 4) & 0xFF), UInt8((adcP & 0xF) << 4), UInt8(adcT >> 12), UInt8((adcT >> 4) & 0xFF),
        UInt8((adcT & 0xF) << 4), UInt8(adcH >> 8), UInt8(adcH & 0xFF),
    ]
    for (i, byte) in data.enumerated() { registers[0xF7 + UInt8(i)] = byte }
    return RegisterFile(registers)
}

func closeEnough(_ value: Double?, _ expected: Double, _ tolerance: Double) -> Bool {
    value.map { abs($0 - expected) <= tolerance } ?? false
}
