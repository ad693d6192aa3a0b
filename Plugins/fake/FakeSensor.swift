import FerryBSON
import FerrySDK

/// A weather-station-like sensor: temperature follows a daily sine (warmest mid-afternoon UTC) plus
/// a faster ripple and smooth noise; humidity moves against temperature; pressure drifts slowly.
///
/// Attributes: base_celsius (21.5), amplitude (3, daily swing in °C, ≥ 0), noise (0.05 °C, ≥ 0),
/// base_humidity_pct (45, 0–100), fast_period_s (600, > 0).
/// Reading: {"readings": {"temperature_celsius", "humidity_pct", "pressure_hpa"}}.
final class FakeSensor: Sensor, EchoesCommands {
    static let attributes: Set<String> = ["base_celsius", "amplitude", "noise", "base_humidity_pct", "fast_period_s"]

    let clock: FakeClock
    let seed: UInt64
    let baseCelsius, amplitude, noise, baseHumidity, fastPeriod: Double

    init(config: ComponentConfig, clock: @escaping FakeClock) throws {
        let attributes = Attributes(config, model: "fake sensor")
        baseCelsius = try attributes.number("base_celsius", default: 21.5, .within(-100...200))
        amplitude = try attributes.number("amplitude", default: 3, .nonNegative)
        noise = try attributes.number("noise", default: 0.05, .nonNegative)
        baseHumidity = try attributes.number("base_humidity_pct", default: 45, .within(0...100))
        fastPeriod = try attributes.number("fast_period_s", default: 600, .positive)
        attributes.warnAboutUnknown(known: Self.attributes)
        self.clock = clock
        seed = Signal.seed(config.name)
    }

    func readings(extra: BSONDocument) throws -> BSONDocument {
        let t = clock()
        // sin peaks a quarter period after its zero: shifting by 0.375 day puts the peak at 15:00 UTC.
        let daily = Signal.sine(t - 0.375 * 86_400, period: 86_400)
        let ripple = Signal.sine(t, period: fastPeriod)
        let temperature =
            baseCelsius + amplitude * (daily + 0.15 * ripple) + noise * Signal.noise(seed, t, rate: 0.5)
        // Relative humidity falls as air warms (about 2.5 %RH per °C here), with its own slow wander.
        let wander = 1.5 * Signal.noise(seed &+ 1, t, rate: 0.05)
        let humidity = min(100, max(0, baseHumidity - 2.5 * (temperature - baseCelsius) + wander))
        let pressure = 1013.25 + 6 * Signal.sine(t, period: 3.5 * 86_400) + 0.2 * Signal.noise(seed &+ 2, t, rate: 0.1)
        return [
            "temperature_celsius": .double(Signal.rounded(temperature, places: 3)),
            "humidity_pct": .double(Signal.rounded(humidity, places: 2)),
            "pressure_hpa": .double(Signal.rounded(pressure, places: 2)),
        ]
    }
}
