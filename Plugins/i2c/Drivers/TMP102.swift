import FerryBSON
import FerryDevice
import FerrySDK

/// Texas Instruments TMP102 temperature sensor (default address 0x48). Register 0 holds the
/// temperature, most significant byte first, as a 12-bit two's-complement count of 0.0625 °C in
/// the top bits (13 bits when the configuration's EM bit selects extended mode).
public final class TMP102: Sensor {
    public static let model = "rdk:builtin:tmp102"
    private let device: SMBusDevice

    public init(config: ComponentConfig, io: any DeviceIO) throws {
        device = try I2CAddress(attributes: config.attributes, defaultAddress: 0x48).open(io)
    }

    public func readings(extra: BSONDocument) throws -> BSONDocument {
        ["temperature_celsius": .double(try temperatureCelsius())]
    }

    public func temperatureCelsius() throws -> Double {
        let word = try deviceCall { try device.readWord(0x00) }
        let config = try deviceCall { try device.readWord(0x01) }
        // SMBus delivers the first byte (the MSB here) as the low byte of the word.
        let raw = Int16(bitPattern: word.byteSwapped)
        let extended = (config >> 8) & 0x10 != 0  // EM is bit 4 of the configuration's second byte
        return TMP102.celsius(raw: raw, extended: extended)
    }

    /// The datasheet's conversion: the left-justified 12-bit (or 13-bit) count times 0.0625 °C.
    public static func celsius(raw: Int16, extended: Bool) -> Double {
        Double(raw >> (extended ? 3 : 4)) * 0.0625
    }

    public func close() { device.close() }
}
