import FerryBSON
import FerryDevice
import FerrySDK

/// Texas Instruments ADS1115: a 16-bit, four-channel ADC. Each read starts a single-shot
/// conversion of one input against ground, polls the configuration register until the device
/// reports it done, then reads the conversion register. Both registers are big-endian words.
public final class ADS1115 {
    /// The programmable gain's full-scale ranges in volts, by PGA code.
    public static let fullScales: [Double] = [6.144, 4.096, 2.048, 1.024, 0.512, 0.256]
    static let conversionRegister: UInt8 = 0x00, configRegister: UInt8 = 0x01
    /// How many times to poll for the end of a conversion (one at 128 samples/s takes ~8 ms;
    /// each poll is a bus transfer of ~0.2 ms at 100 kHz) before reporting retry-later.
    static let maximumPolls = 200

    private let device: SMBusDevice
    public let fullScaleVolts: Double
    private let pga: UInt16

    public init(device: SMBusDevice, fullScaleVolts: Double) throws {
        guard let code = ADS1115.fullScales.firstIndex(of: fullScaleVolts) else {
            throw PluginError.invalidArgument(
                "attribute full_scale_volts must be one of \(ADS1115.fullScales.map { "\($0)" }.joined(separator: ", ")), got \(fullScaleVolts)")
        }
        (self.device, self.fullScaleVolts, self.pga) = (device, fullScaleVolts, UInt16(code))
    }

    /// The configuration word that starts one conversion of `channel` (0…3) against ground.
    public func configWord(channel: Int) -> UInt16 {
        let mux = UInt16(0b100 + channel)
        // OS=1 (start) | MUX | PGA | MODE=1 (single shot) | DR=100 (128 SPS) | comparator off (0b11)
        return 0x8000 | mux << 12 | pga << 9 | 0x0100 | 0b100 << 5 | 0x0003
    }

    /// The signed conversion result of `channel`.
    public func readRaw(channel: Int) throws -> Int16 {
        precondition((0...3).contains(channel))
        try deviceCall { try device.writeWord(ADS1115.configRegister, configWord(channel: channel).byteSwapped) }
        for _ in 0..<ADS1115.maximumPolls {
            let status = try deviceCall { try device.readWord(ADS1115.configRegister) }.byteSwapped
            if status & 0x8000 != 0 {
                let raw = try deviceCall { try device.readWord(ADS1115.conversionRegister) }.byteSwapped
                return Int16(bitPattern: raw)
            }
        }
        throw PluginError.retryLater(
            "ADS1115 at 0x\(String(device.address, radix: 16)) on \(device.bus) did not finish a conversion of channel \(channel)")
    }

    public func volts(raw: Int16) -> Double { Double(raw) * fullScaleVolts / 32768 }

    /// A board analog reader's value: the raw count with its range in volts.
    public func analogValue(channel: Int) throws -> AnalogValue {
        let raw = try readRaw(channel: channel)
        return AnalogValue(value: Int32(raw), minRange: -fullScaleVolts, maxRange: fullScaleVolts, stepSize: fullScaleVolts / 32768)
    }

    public func close() { device.close() }
}

/// The `ads1115` sensor model: Readings `{"a0": volts, …}` for the configured channels.
/// Attributes: `i2c_bus`, `i2c_addr` (default 72 = 0x48), `full_scale_volts` (default 4.096),
/// `channels` (default [0, 1, 2, 3]).
public final class ADS1115Sensor: Sensor {
    public static let model = "rdk:builtin:ads1115"
    let adc: ADS1115
    let channels: [Int]

    public init(config: ComponentConfig, io: any DeviceIO) throws {
        let attributes = config.attributes
        channels = try ADS1115Sensor.channels(attributes["channels"], path: "channels")
        let fullScale = try attributes.double("full_scale_volts", default: 4.096)
        let address = try I2CAddress(attributes: attributes, defaultAddress: 0x48)
        // Validate everything before opening the bus, so a bad config touches no device.
        guard ADS1115.fullScales.contains(fullScale) else {
            throw PluginError.invalidArgument(
                "attribute full_scale_volts must be one of \(ADS1115.fullScales.map { "\($0)" }.joined(separator: ", ")), got \(fullScale)")
        }
        adc = try ADS1115(device: address.open(io), fullScaleVolts: fullScale)
    }

    static func channels(_ value: BSON?, path: String) throws -> [Int] {
        guard let value else { return [0, 1, 2, 3] }
        guard let array = value.arrayValue, !array.isEmpty else {
            throw PluginError.invalidArgument("attribute \(path) must be a non-empty array of channel numbers 0…3")
        }
        return try array.enumerated().map { index, element in
            guard let number = element.int64Value, (0...3).contains(number) else {
                throw PluginError.invalidArgument("attribute \(path)[\(index)] must be a channel number 0…3")
            }
            return Int(number)
        }
    }

    public func readings(extra: BSONDocument) throws -> BSONDocument {
        BSONDocument(try channels.map { ("a\($0)", .double(adc.volts(raw: try adc.readRaw(channel: $0)))) })
    }

    public func close() { adc.close() }
}
