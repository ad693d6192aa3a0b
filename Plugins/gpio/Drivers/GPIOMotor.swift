#if canImport(Glibc)
    import Glibc
#endif

import CFerryLinux
import FerryBSON
import FerryDevice
import FerryI2CDrivers
import FerrySDK

/// The `gpio` motor: a direction line on a GPIO chip plus a hardware PWM channel driven through
/// sysfs, with an optional quadrature encoder on two GPIO lines.
///
///     {"gpio_chip": "gpiochip0", "pins": {"dir": 5},
///      "pwm_chip": "/sys/class/pwm/pwmchip0", "pwm_channel": 0, "pwm_frequency_hz": 20000,
///      "encoder": {"a": 20, "b": 21}, "ticks_per_rotation": 1200, "dir_flip": false}
///
/// IsPowered reads the PWM channel's state back from the kernel (enable, duty_cycle / period)
/// with the sign of the direction line this instance drives; Position is encoder counts (four per
/// quadrature cycle) over ticks_per_rotation, and needs the encoder. DoCommand
/// `{"set_power": -1…1}` drives the motor; `{"stop": true}` stops it.
public final class GPIOMotor: Motor {
    public static let model = "rdk:builtin:gpio"

    let chip: String
    let directionLine: UInt32
    let pwmDirectory: String
    let pwmChannel: Int
    let periodNanoseconds: Int
    let dirFlip: Bool
    let encoderLines: (a: UInt32, b: UInt32)?
    let ticksPerRotation: Double
    private let io: any DeviceIO
    private var direction: GPIOLines?
    private var encoder: GPIOLines?
    private var quadrature: Quadrature?
    private var forward = true

    public init(config: ComponentConfig, io: any DeviceIO) throws {
        self.io = io
        let attributes = config.attributes
        let chipName = try attributes.string("gpio_chip")
        chip = chipName.hasPrefix("/") ? chipName : "/dev/\(chipName)"
        guard let pins = attributes["pins"]?.documentValue else {
            throw PluginError.invalidArgument("attribute pins is required: {\"dir\": line}")
        }
        directionLine = UInt32(try GPIOMotor.line(try nested("pins") { try pins.int("dir") }, "pins.dir"))
        pwmDirectory = try attributes.string("pwm_chip")
        guard pwmDirectory.hasPrefix("/") else {
            throw PluginError.invalidArgument("attribute pwm_chip must be a sysfs directory such as /sys/class/pwm/pwmchip0")
        }
        pwmChannel = try attributes.int("pwm_channel", default: 0)
        guard pwmChannel >= 0 else { throw PluginError.invalidArgument("attribute pwm_channel must be ≥ 0") }
        let frequency = try attributes.double("pwm_frequency_hz", default: 20000)
        guard frequency >= 1, frequency <= 1_000_000 else {
            throw PluginError.invalidArgument("attribute pwm_frequency_hz must be 1…1000000, got \(frequency)")
        }
        periodNanoseconds = Int((1e9 / frequency).rounded())
        dirFlip = attributes["dir_flip"]?.boolValue ?? false
        if let encoder = attributes["encoder"]?.documentValue {
            encoderLines = (
                UInt32(try GPIOMotor.line(try nested("encoder") { try encoder.int("a") }, "encoder.a")),
                UInt32(try GPIOMotor.line(try nested("encoder") { try encoder.int("b") }, "encoder.b"))
            )
            ticksPerRotation = try attributes.double("ticks_per_rotation")
            guard ticksPerRotation > 0 else { throw PluginError.invalidArgument("attribute ticks_per_rotation must be > 0") }
        } else {
            (encoderLines, ticksPerRotation) = (nil, 0)
        }
    }

    static func line(_ value: Int, _ path: String) throws -> Int {
        guard (0..<65536).contains(value) else { throw PluginError.invalidArgument("attribute \(path) must be a line number ≥ 0") }
        return value
    }

    var channelDirectory: String { "\(pwmDirectory)/pwm\(pwmChannel)" }

    public func position() throws -> Double {
        guard let lines = encoderLines else {
            throw PluginError.unsupported("this gpio motor has no encoder: add attribute encoder {a, b} and ticks_per_rotation")
        }
        if encoder == nil {
            let request = try GPIOLines(io: io, chip: chip, offsets: [lines.a, lines.b], direction: .edges, consumer: "ferry-encoder")
            let levels = try request.values()
            (encoder, quadrature) = (request, Quadrature(a: levels[0], b: levels[1]))
        }
        for event in try encoder!.drainEvents() {
            quadrature!.edge(lineA: event.offset == lines.a, high: event.id == GPIO_V2_LINE_EVENT_RISING_EDGE.rawValue)
        }
        return Double(quadrature!.count) / ticksPerRotation * (dirFlip ? -1 : 1)
    }

    public func isPowered() throws -> (isOn: Bool, powerPct: Double) {
        let enabled = try readInteger("enable")
        let period = try readInteger("period")
        let duty = try readInteger("duty_cycle")
        guard enabled == 1, period > 0, duty > 0 else { return (false, 0) }
        let fraction = min(Double(duty) / Double(period), 1)
        return (true, forward ? fraction : -fraction)
    }

    public func doCommand(_ command: BSONDocument) throws -> BSONDocument {
        if command["stop"]?.boolValue == true {
            try setPower(0)
        } else if let power = command["set_power"]?.doubleValue {
            guard (-1...1).contains(power) else { throw PluginError.invalidArgument("set_power must be −1…1, got \(power)") }
            try setPower(power)
        } else {
            throw PluginError.invalidArgument("DoCommand takes {\"set_power\": -1…1} or {\"stop\": true}")
        }
        let (isOn, power) = try isPowered()
        return ["is_on": .bool(isOn), "power_pct": .double(power)]
    }

    func setPower(_ power: Double) throws {
        if (try? readInteger("enable")) == nil {
            // The channel is not exported yet (its directory appears once it is).
            try writeText("\(pwmDirectory)/export", "\(pwmChannel)")
        }
        if direction == nil {
            direction = try GPIOLines(io: io, chip: chip, offsets: [directionLine], direction: .output, consumer: "ferry-motor")
        }
        forward = power >= 0
        try direction!.set([0: forward != dirFlip])
        try writeText("\(channelDirectory)/period", "\(periodNanoseconds)")
        try writeText("\(channelDirectory)/duty_cycle", "\(Int((abs(power) * Double(periodNanoseconds)).rounded()))")
        try writeText("\(channelDirectory)/enable", power == 0 ? "0" : "1")
    }

    private func readInteger(_ name: String) throws -> Int {
        let path = "\(channelDirectory)/\(name)"
        let file = try deviceCall { try DeviceFile(io: io, path: path, flags: O_RDONLY) }
        defer { file.close() }
        var buffer = [UInt8](repeating: 0, count: 32)
        let count = try buffer.withUnsafeMutableBytes { raw in try deviceCall { try file.read(into: raw) } }
        let text = String(decoding: buffer.prefix(count), as: UTF8.self).trimmingWhitespace
        guard let value = Int(text) else { throw PluginError.retryLater("\(path) holds \"\(text)\", not an integer") }
        return value
    }

    private func writeText(_ path: String, _ text: String) throws {
        let file = try deviceCall { try DeviceFile(io: io, path: path, flags: O_WRONLY) }
        defer { file.close() }
        let bytes = Array(text.utf8)
        _ = try bytes.withUnsafeBytes { raw in try deviceCall { try file.write(from: raw) } }
    }

    public func close() {
        direction?.close()
        encoder?.close()
        (direction, encoder) = (nil, nil)
    }
}
