import FerryBSON
import FerryDevice
import FerrySDK

/// A generic register-map sensor: any I2C device whose values sit in registers. Each entry of
/// the `registers` attribute reads `length` bytes from `register`, assembles them in
/// `byte_order`, optionally as two's complement, shifts right by `shift` bits, then reports
/// `raw × scale + offset` under `name`.
///
///     {"i2c_bus": "/dev/i2c-1", "i2c_addr": 72, "registers": [
///       {"name": "temperature_celsius", "register": 0, "length": 2, "byte_order": "big",
///        "signed": true, "shift": 4, "scale": 0.0625}]}
public final class RegisterSensor: Sensor {
    public static let model = "rdk:builtin:i2c-register-sensor"

    public struct Field: Sendable, Equatable {
        public var name: String
        public var register: UInt8
        public var length: Int
        public var bigEndian: Bool
        public var signed: Bool
        public var shift: Int
        public var scale: Double
        public var offset: Double

        /// Assembles the bytes and applies shift, scale and offset.
        public func value(of bytes: [UInt8]) -> Double {
            let ordered = bigEndian ? bytes : bytes.reversed()
            var raw: Int64 = 0
            for byte in ordered { raw = raw << 8 | Int64(byte) }
            if signed, length < 8, raw & (1 << (length * 8 - 1)) != 0 { raw -= 1 << (length * 8) }
            return Double(raw >> shift) * scale + offset
        }
    }

    let fields: [Field]
    private let device: SMBusDevice

    public init(config: ComponentConfig, io: any DeviceIO) throws {
        fields = try RegisterSensor.fields(config.attributes)
        device = try I2CAddress(attributes: config.attributes).open(io)
    }

    static func fields(_ attributes: BSONDocument) throws -> [Field] {
        guard let entries = attributes["registers"]?.arrayValue, !entries.isEmpty else {
            throw PluginError.invalidArgument(
                "attribute registers is required: an array of {name, register, length, byte_order, signed, shift, scale, offset}")
        }
        return try entries.enumerated().map { index, entry in
            let path = "registers[\(index)]"
            guard let document = entry.documentValue else { throw PluginError.invalidArgument("attribute \(path) must be an object") }
            func rethrow<T>(_ body: () throws -> T) throws -> T {
                do { return try body() } catch let error as PluginError {
                    throw PluginError.invalidArgument(error.message.replacingFirst("attribute ", with: "attribute \(path)."))
                }
            }
            let name = try rethrow { try document.string("name") }
            let register = try rethrow { try document.int("register") }
            let length = try rethrow { try document.int("length", default: 1) }
            let order = try rethrow { try document.string("byte_order", default: "big") }
            let signed = document["signed"]?.boolValue ?? false
            let shift = try rethrow { try document.int("shift", default: 0) }
            let scale = try rethrow { try document.double("scale", default: 1) }
            let offset = try rethrow { try document.double("offset", default: 0) }
            guard (0...255).contains(register) else { throw PluginError.invalidArgument("attribute \(path).register must be 0…255, got \(register)") }
            guard (1...4).contains(length) else { throw PluginError.invalidArgument("attribute \(path).length must be 1…4 bytes, got \(length)") }
            guard order == "big" || order == "little" else {
                throw PluginError.invalidArgument("attribute \(path).byte_order must be \"big\" or \"little\", got \"\(order)\"")
            }
            guard (0..<(length * 8)).contains(shift) else { throw PluginError.invalidArgument("attribute \(path).shift must be 0…\(length * 8 - 1)") }
            return Field(
                name: name, register: UInt8(register), length: length, bigEndian: order == "big", signed: signed, shift: shift,
                scale: scale, offset: offset)
        }
    }

    public func readings(extra: BSONDocument) throws -> BSONDocument {
        BSONDocument(try fields.map { field in
            let bytes = try deviceCall {
                field.length == 1 ? [try device.readByte(field.register)] : try device.readBlock(field.register, count: field.length)
            }
            guard bytes.count == field.length else {
                throw PluginError.retryLater("register 0x\(String(field.register, radix: 16)) on \(device.bus) returned \(bytes.count) of \(field.length) bytes")
            }
            return (field.name, .double(field.value(of: bytes)))
        })
    }

    public func close() { device.close() }
}

extension String {
    /// "attribute x must…" → "attribute registers[0].x must…", so nested errors name their path.
    func replacingFirst(_ prefix: String, with replacement: String) -> String {
        hasPrefix(prefix) ? replacement + dropFirst(prefix.count) : self
    }
}
