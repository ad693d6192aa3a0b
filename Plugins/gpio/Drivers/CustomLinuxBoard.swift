import FerryBSON
import FerryDevice
import FerryI2CDrivers
import FerrySDK

/// The `customlinux` board: GPIO pins read through the GPIO v2 character device, analog readers
/// backed by ADS1115 ADCs on I2C. Attributes, following Viam's board-definition pin shape:
///
///     {"pins": [{"name": "button", "device_name": "gpiochip0", "line_number": 17}],
///      "analogs": [{"name": "battery", "i2c_bus": "/dev/i2c-1", "i2c_addr": 72, "channel": 0,
///                   "full_scale_volts": 4.096}]}
///
/// `device_name` is a chip under /dev (or a full path). Pins are requested as inputs once, on the
/// first read, one request per chip, and held until the board is closed.
public final class CustomLinuxBoard: Board {
    public static let model = "rdk:builtin:customlinux"

    struct Pin: Equatable {
        var name: String
        var chip: String
        var line: UInt32
    }

    struct Analog {
        var name: String
        var address: I2CAddress
        var channel: Int
        var fullScaleVolts: Double
    }

    let pins: [Pin]
    let analogs: [Analog]
    private let io: any DeviceIO
    private var requests: [String: GPIOLines] = [:]
    private var adcs: [String: ADS1115] = [:]

    public var gpioPins: [String] { pins.map(\.name) }
    public var analogNames: [String] { analogs.map(\.name) }

    public init(config: ComponentConfig, io: any DeviceIO) throws {
        self.io = io
        pins = try CustomLinuxBoard.pins(config.attributes["pins"])
        analogs = try CustomLinuxBoard.analogs(config.attributes["analogs"])
        guard !pins.isEmpty || !analogs.isEmpty else {
            throw PluginError.invalidArgument("a customlinux board needs attribute pins or analogs (or both)")
        }
    }

    static func pins(_ value: BSON?) throws -> [Pin] {
        guard let value else { return [] }
        guard let array = value.arrayValue else { throw PluginError.invalidArgument("attribute pins must be an array of {name, device_name, line_number}") }
        var seen: Set<String> = []
        return try array.enumerated().map { index, element in
            let path = "pins[\(index)]"
            guard let pin = element.documentValue else { throw PluginError.invalidArgument("attribute \(path) must be an object") }
            let name = try nested(path) { try pin.string("name") }
            let device = try nested(path) { try pin.string("device_name") }
            let line = try nested(path) { try pin.int("line_number") }
            guard (0..<65536).contains(line) else { throw PluginError.invalidArgument("attribute \(path).line_number must be ≥ 0, got \(line)") }
            guard seen.insert(name).inserted else { throw PluginError.invalidArgument("attribute \(path).name \"\(name)\" is used twice") }
            return Pin(name: name, chip: device.hasPrefix("/") ? device : "/dev/\(device)", line: UInt32(line))
        }
    }

    static func analogs(_ value: BSON?) throws -> [Analog] {
        guard let value else { return [] }
        guard let array = value.arrayValue else { throw PluginError.invalidArgument("attribute analogs must be an array") }
        return try array.enumerated().map { index, element in
            let path = "analogs[\(index)]"
            guard let analog = element.documentValue else { throw PluginError.invalidArgument("attribute \(path) must be an object") }
            let name = try nested(path) { try analog.string("name") }
            let address = try nested(path) { try I2CAddress(attributes: analog, defaultAddress: 0x48) }
            let channel = try nested(path) { try analog.int("channel") }
            guard (0...3).contains(channel) else { throw PluginError.invalidArgument("attribute \(path).channel must be 0…3 (an ADS1115 input)") }
            let fullScale = try nested(path) { try analog.double("full_scale_volts", default: 4.096) }
            guard ADS1115.fullScales.contains(fullScale) else {
                throw PluginError.invalidArgument("attribute \(path).full_scale_volts must be one of \(ADS1115.fullScales.map { "\($0)" }.joined(separator: ", "))")
            }
            return Analog(name: name, address: address, channel: channel, fullScaleVolts: fullScale)
        }
    }

    public func readGPIO(_ name: String) throws -> Bool {
        guard let pin = pins.first(where: { $0.name == name }) else {
            throw PluginError.invalidArgument("no pin named \"\(name)\"; this board has \(gpioPins.joined(separator: ", "))")
        }
        let lines = try lines(on: pin.chip)
        return try lines.values()[lines.offsets.firstIndex(of: pin.line)!]
    }

    private func lines(on chip: String) throws -> GPIOLines {
        if let lines = requests[chip] { return lines }
        let offsets = pins.filter { $0.chip == chip }.map(\.line)
        let lines = try GPIOLines(io: io, chip: chip, offsets: offsets, direction: .input, consumer: "ferry-board")
        requests[chip] = lines
        return lines
    }

    public func readAnalog(_ name: String) throws -> AnalogValue {
        guard let analog = analogs.first(where: { $0.name == name }) else {
            throw PluginError.invalidArgument("no analog reader named \"\(name)\"; this board has \(analogNames.joined(separator: ", "))")
        }
        let key = "\(analog.address.bus)@\(analog.address.address)/\(analog.fullScaleVolts)"
        let adc = try adcs[key] ?? ADS1115(device: analog.address.open(io), fullScaleVolts: analog.fullScaleVolts)
        adcs[key] = adc
        return try adc.analogValue(channel: analog.channel)
    }

    public func close() {
        requests.values.forEach { $0.close() }
        adcs.values.forEach { $0.close() }
        requests = [:]
        adcs = [:]
    }
}

/// Re-labels an attribute error from a nested object with its path ("attribute pins[0].name…").
func nested<T>(_ path: String, _ body: () throws -> T) throws -> T {
    do { return try body() } catch let error as PluginError where error.message.hasPrefix("attribute ") {
        throw PluginError(error.kind, "attribute \(path)." + error.message.dropFirst("attribute ".count))
    }
}
