import FerryBSON
import FerrySDK

/// A board whose GPIO pins toggle, each at half the rate of the one before, and whose 10-bit analog
/// readers (0–3.3 V) follow phase-shifted sines with a little noise.
///
/// Attributes: analogs (["a1", "a2"]; strings or Viam's [{"name", "pin"}]), gpio_pins (["11", "12",
/// "13", "15"]; or `pins`, as Viam's esp32 board writes them, e.g. [27]), analog_period_s (10, > 0), gpio_toggle_s (0.5, > 0: the first pin's half-period).
/// Readings: Analogs {"analogs": {name: {value, min_range, max_range, step_size}}} or, with the
/// `reader_name` parameter, one reader's document; Gpios {"gpios": {pin: {"high"}}} or {"high"} with
/// `pin_name`.
final class FakeBoard: Board, EchoesCommands {
    static let attributes: Set<String> = ["analogs", "gpio_pins", "pins", "analog_period_s", "gpio_toggle_s", "digital_interrupts"]
    static let maxVolts = 3.3
    static let levels = 1024

    let clock: FakeClock
    let seed: UInt64
    let analogNames: [String]
    let gpioPins: [String]
    let analogPeriod, toggle: Double

    init(config: ComponentConfig, clock: @escaping FakeClock) throws {
        let attributes = Attributes(config, model: "fake board")
        analogNames = try attributes.names("analogs", default: ["a1", "a2"])
        gpioPins = try attributes.names("gpio_pins", default: attributes.names("pins", default: ["11", "12", "13", "15"]))
        analogPeriod = try attributes.number("analog_period_s", default: 10, .positive)
        toggle = try attributes.number("gpio_toggle_s", default: 0.5, .positive)
        attributes.warnAboutUnknown(known: Self.attributes)
        self.clock = clock
        seed = Signal.seed(config.name)
    }

    func readAnalog(_ name: String) throws -> AnalogValue {
        guard let index = analogNames.firstIndex(of: name) else {
            throw PluginError.invalidArgument(
                "fake board has no analog reader \"\(name)\"; it has \(analogNames.joined(separator: ", "))")
        }
        let t = clock()
        let level = 0.5 + 0.45 * Signal.sine(t, period: analogPeriod, phase: 2 * .pi * Double(index) / Double(analogNames.count))
            + 0.003 * Signal.noise(seed &+ UInt64(index), t, rate: 5)
        let value = Int32(min(Double(Self.levels - 1), max(0, (level * Double(Self.levels)).rounded(.down))))
        return AnalogValue(value: value, minRange: 0, maxRange: Self.maxVolts, stepSize: Self.maxVolts / Double(Self.levels))
    }

    func readGPIO(_ pin: String) throws -> Bool {
        guard let index = gpioPins.firstIndex(of: pin) else {
            throw PluginError.invalidArgument("fake board has no GPIO pin \"\(pin)\"; it has \(gpioPins.joined(separator: ", "))")
        }
        // Pin k is a square wave with half-period toggle·2^k: together the pins count in binary.
        let halfPeriod = toggle * Double(1 << min(index, 30))
        let halfPeriods = (clock() / halfPeriod).rounded(.down)
        return halfPeriods.truncatingRemainder(dividingBy: 2) != 0
    }
}
