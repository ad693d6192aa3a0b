import FerryBSON
import FerrySDK

#if canImport(Glibc)
    import Glibc
#endif

/// A motor that runs a duty cycle: for 70 % of each period its power rises and falls as a half sine
/// (forward on even cycles, backward on odd ones), then it rests. Position is the exact integral of
/// speed = power · max_rpm, counted in revolutions from where it was when the instance was created.
///
/// Attributes: max_rpm (100, > 0), max_power_pct (0.8, a fraction in (0, 1]), period_s (20, > 0).
/// Readings: Position {"position": revolutions}; IsPowered {"is_on", "power_pct" (-1…1)}.
final class FakeMotor: Motor, EchoesCommands {
    static let attributes: Set<String> = ["max_rpm", "max_power_pct", "period_s"]
    static let duty = 0.7

    let clock: FakeClock
    let start: Double
    let maxRPM, maxPower, period: Double

    init(config: ComponentConfig, clock: @escaping FakeClock) throws {
        let attributes = Attributes(config, model: "fake motor")
        maxRPM = try attributes.number("max_rpm", default: 100, .positive)
        maxPower = try attributes.number("max_power_pct", default: 0.8, .within(0.000_001...1))
        period = try attributes.number("period_s", default: 20, .positive)
        attributes.warnAboutUnknown(known: Self.attributes)
        self.clock = clock
        start = clock()
    }

    func position() throws -> Double { Signal.rounded(revolutions(after: elapsed()), places: 6) }

    func isPowered() throws -> (isOn: Bool, powerPct: Double) {
        let power = Signal.rounded(self.power(after: elapsed()), places: 4)
        return (power != 0, power)
    }

    private func elapsed() -> Double { max(0, clock() - start) }

    /// Which cycle `elapsed` falls in, that cycle's direction, and the time since the cycle began.
    private func cycle(_ elapsed: Double) -> (index: Double, direction: Double, within: Double) {
        let index = (elapsed / period).rounded(.down)
        let direction: Double = index.truncatingRemainder(dividingBy: 2) == 0 ? 1 : -1
        return (index, direction, elapsed - index * period)
    }

    func power(after elapsed: Double) -> Double {
        let (_, direction, within) = cycle(elapsed)
        let onLength = Self.duty * period
        return within < onLength ? direction * maxPower * sin(.pi * within / onLength) : 0
    }

    /// ∫ power · max_rpm / 60 dt. A whole forward cycle is undone by the backward one after it, so
    /// only the current cycle and (after an odd number of cycles) one forward cycle remain.
    func revolutions(after elapsed: Double) -> Double {
        let (index, direction, within) = cycle(elapsed)
        let onLength = Self.duty * period
        let onTime = min(within, onLength)
        let perSecond = maxRPM / 60
        let fullCycle = maxPower * 2 * onLength / .pi
        let completed = index.truncatingRemainder(dividingBy: 2) == 1 ? fullCycle : 0
        let current = direction * maxPower * onLength / .pi * (1 - cos(.pi * onTime / onLength))
        return perSecond * (completed + current)
    }
}
