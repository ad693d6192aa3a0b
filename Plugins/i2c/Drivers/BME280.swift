#if canImport(Glibc)
    import Glibc
#endif

import FerryBSON
import FerryDevice
import FerrySDK

/// Bosch BME280 temperature, pressure and humidity sensor (address 0x76 or 0x77). On first use it
/// checks the chip id, reads the factory calibration and starts normal mode (continuous
/// measurement, ×1 oversampling, standby 62.5 ms), so a reading is one 8-byte burst read.
/// Readings follow Viam's bme280 model.
public final class BME280: Sensor {
    public static let model = "rdk:builtin:bme280"
    static let chipID: UInt8 = 0x60
    private let device: SMBusDevice
    private var calibration: BME280Calibration?

    public init(config: ComponentConfig, io: any DeviceIO) throws {
        device = try I2CAddress(attributes: config.attributes, defaultAddress: 0x77).open(io)
    }

    public func readings(extra: BSONDocument) throws -> BSONDocument {
        let m = try measure()
        return [
            "temperature_celsius": .double(m.temperatureCelsius),
            "temperature_fahrenheit": .double(m.temperatureCelsius * 9 / 5 + 32),
            "pressure_mpa": .double(m.pressurePa / 1_000_000),
            "relative_humidity_pct": .double(m.humidityPercent),
            "dew_point_celsius": .double(m.dewPointCelsius),
        ]
    }

    /// Right after normal mode starts, the first conversion takes ~10 ms; poll the data this many
    /// times (one 8-byte read is ~1 ms at 100 kHz) before answering retry-later.
    static let firstMeasurementPolls = 50

    public func measure() throws -> BME280Measurement {
        let justStarted = self.calibration == nil
        let calibration = try self.calibration ?? start()
        var burst = try readData()
        for _ in 0..<(justStarted ? BME280.firstMeasurementPolls : 0) where BME280.isResetValue(burst) {
            burst = try readData()
        }
        let adcP = Int32(burst[0]) << 12 | Int32(burst[1]) << 4 | Int32(burst[2]) >> 4
        let adcT = Int32(burst[3]) << 12 | Int32(burst[4]) << 4 | Int32(burst[5]) >> 4
        let adcH = Int32(burst[6]) << 8 | Int32(burst[7])
        // 0x80000 is the reset value: no conversion since normal mode started, or the chip was
        // power-cycled and sleeps again; in that case set it up afresh on the next reading.
        guard !BME280.isResetValue(burst) else {
            if try deviceCall({ try device.readByte(0xF4) }) & 0x03 == 0 { self.calibration = nil }
            throw PluginError.retryLater("BME280 on \(device.bus) has not finished its first measurement yet")
        }
        return calibration.compensate(adcT: adcT, adcP: adcP, adcH: adcH)
    }

    private func readData() throws -> [UInt8] {
        let burst = try deviceCall { try device.readBlock(0xF7, count: 8) }
        guard burst.count == 8 else { throw PluginError.retryLater("BME280 on \(device.bus) returned \(burst.count) of 8 data bytes") }
        return burst
    }

    /// Temperature 0x80000: the value the data registers hold before the first conversion.
    static func isResetValue(_ burst: [UInt8]) -> Bool { burst[3] == 0x80 && burst[4] == 0 && burst[5] >> 4 == 0 }

    /// Checks the chip, reads calibration, configures normal mode.
    private func start() throws -> BME280Calibration {
        let id = try deviceCall { try device.readByte(0xD0) }
        guard id == BME280.chipID else {
            throw PluginError.invalidArgument(
                "the device at address 0x\(String(device.address, radix: 16)) on \(device.bus) has chip id 0x\(String(id, radix: 16)), not the BME280's 0x60: check i2c_addr (0x76 or 0x77) and the part (a BMP280 reads 0x58)")
        }
        var first = try deviceCall { try device.readBlock(0x88, count: 24) }
        first += [try deviceCall { try device.readByte(0xA1) }]
        let second = try deviceCall { try device.readBlock(0xE1, count: 7) }
        guard first.count == 25, second.count == 7 else {
            throw PluginError.retryLater("BME280 on \(device.bus) returned a short calibration block")
        }
        let calibration = BME280Calibration(block1: first, block2: second)
        try deviceCall {
            try device.writeByte(0xF2, 0x01)  // ctrl_hum: humidity ×1 (takes effect on the ctrl_meas write)
            try device.writeByte(0xF5, 0x20)  // config: standby 62.5 ms, filter off
            try device.writeByte(0xF4, 0x27)  // ctrl_meas: temperature ×1, pressure ×1, normal mode
        }
        self.calibration = calibration
        return calibration
    }

    public func close() { device.close() }
}

public struct BME280Measurement: Sendable, Equatable {
    public var temperatureCelsius: Double
    public var pressurePa: Double
    public var humidityPercent: Double
    /// Magnus formula over water (Sonntag's constants).
    public var dewPointCelsius: Double {
        guard humidityPercent > 0 else { return -.infinity }
        let gamma = log(humidityPercent / 100) + 17.62 * temperatureCelsius / (243.12 + temperatureCelsius)
        return 243.12 * gamma / (17.62 - gamma)
    }
}

/// The factory trimming parameters and the datasheet's floating-point compensation formulas
/// (BME280 datasheet, section 8.1 "Compensation formulas in double precision floating point").
public struct BME280Calibration: Sendable, Equatable {
    public var t1: UInt16, t2: Int16, t3: Int16
    public var p1: UInt16, p2: Int16, p3: Int16, p4: Int16, p5: Int16, p6: Int16, p7: Int16, p8: Int16, p9: Int16
    public var h1: UInt8, h2: Int16, h3: UInt8, h4: Int16, h5: Int16, h6: Int8

    public init(
        t1: UInt16, t2: Int16, t3: Int16, p1: UInt16, p2: Int16, p3: Int16, p4: Int16, p5: Int16, p6: Int16, p7: Int16,
        p8: Int16, p9: Int16, h1: UInt8 = 0, h2: Int16 = 0, h3: UInt8 = 0, h4: Int16 = 0, h5: Int16 = 0, h6: Int8 = 0
    ) {
        (self.t1, self.t2, self.t3) = (t1, t2, t3)
        (self.p1, self.p2, self.p3, self.p4, self.p5, self.p6, self.p7, self.p8, self.p9) = (p1, p2, p3, p4, p5, p6, p7, p8, p9)
        (self.h1, self.h2, self.h3, self.h4, self.h5, self.h6) = (h1, h2, h3, h4, h5, h6)
    }

    /// `block1`: registers 0x88…0x9F then 0xA1 (25 bytes); `block2`: 0xE1…0xE7 (7 bytes).
    public init(block1 b: [UInt8], block2 e: [UInt8]) {
        func u16(_ i: Int) -> UInt16 { UInt16(b[i]) | UInt16(b[i + 1]) << 8 }
        func s16(_ i: Int) -> Int16 { Int16(bitPattern: u16(i)) }
        // dig_H4 and dig_H5 are 12-bit signed values sharing register 0xE5's two nibbles.
        let h4 = Int16(Int8(bitPattern: e[3])) << 4 | Int16(e[4] & 0x0F)
        let h5 = Int16(Int8(bitPattern: e[5])) << 4 | Int16(e[4] >> 4)
        self.init(
            t1: u16(0), t2: s16(2), t3: s16(4), p1: u16(6), p2: s16(8), p3: s16(10), p4: s16(12), p5: s16(14), p6: s16(16),
            p7: s16(18), p8: s16(20), p9: s16(22), h1: b[24], h2: Int16(bitPattern: UInt16(e[0]) | UInt16(e[1]) << 8),
            h3: e[2], h4: h4, h5: h5, h6: Int8(bitPattern: e[6]))
    }

    /// Temperature in °C and the fine temperature the other two formulas need.
    public func temperature(adcT: Int32) -> (celsius: Double, fine: Double) {
        let (adc, t1) = (Double(adcT), Double(self.t1))
        let var1 = (adc / 16384 - t1 / 1024) * Double(t2)
        let var2 = (adc / 131072 - t1 / 8192) * (adc / 131072 - t1 / 8192) * Double(t3)
        let fine = var1 + var2
        return (fine / 5120, fine)
    }

    /// Pressure in pascals (0 if the calibration would divide by zero).
    public func pressure(adcP: Int32, fine: Double) -> Double {
        var var1 = fine / 2 - 64000
        var var2 = var1 * var1 * Double(p6) / 32768
        var2 += var1 * Double(p5) * 2
        var2 = var2 / 4 + Double(p4) * 65536
        var1 = (Double(p3) * var1 * var1 / 524288 + Double(p2) * var1) / 524288
        var1 = (1 + var1 / 32768) * Double(p1)
        guard var1 != 0 else { return 0 }
        var p = 1_048_576 - Double(adcP)
        p = (p - var2 / 4096) * 6250 / var1
        var1 = Double(p9) * p * p / 2_147_483_648
        var2 = p * Double(p8) / 32768
        return p + (var1 + var2 + Double(p7)) / 16
    }

    /// Relative humidity in percent, clamped to 0…100 as the datasheet does.
    public func humidity(adcH: Int32, fine: Double) -> Double {
        var h = fine - 76800
        h = (Double(adcH) - (Double(h4) * 64 + Double(h5) / 16384 * h))
            * (Double(h2) / 65536 * (1 + Double(h6) / 67_108_864 * h * (1 + Double(h3) / 67_108_864 * h)))
        h *= 1 - Double(h1) * h / 524288
        return min(max(h, 0), 100)
    }

    public func compensate(adcT: Int32, adcP: Int32, adcH: Int32) -> BME280Measurement {
        let (celsius, fine) = temperature(adcT: adcT)
        return BME280Measurement(
            temperatureCelsius: celsius, pressurePa: pressure(adcP: adcP, fine: fine), humidityPercent: humidity(adcH: adcH, fine: fine))
    }
}
