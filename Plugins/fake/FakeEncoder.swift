import FerryBSON
import FerrySDK

#if canImport(Glibc)
    import Glibc
#endif

/// An incremental encoder on a shaft whose speed breathes around a mean: the count only ever rises,
/// from zero when the instance is created (as a real encoder's does at power-up).
///
/// Attributes: ticks_per_rotation (1024, 1–1,000,000), rpm (30, mean speed, ≥ 0), period_s (20,
/// the speed variation's period, > 0).
/// Reading: TicksCount {"value": ticks, "position_type": "POSITION_TYPE_TICKS_COUNT"}.
final class FakeEncoder: Encoder, EchoesCommands {
    static let attributes: Set<String> = ["ticks_per_rotation", "rpm", "period_s"]

    let clock: FakeClock
    let start: Double
    let ticksPerRotation, rpm, period: Double

    init(config: ComponentConfig, clock: @escaping FakeClock) throws {
        let attributes = Attributes(config, model: "fake encoder")
        ticksPerRotation = Double(try attributes.integer("ticks_per_rotation", default: 1024, in: 1...1_000_000))
        rpm = try attributes.number("rpm", default: 30, .nonNegative)
        period = try attributes.number("period_s", default: 20, .positive)
        attributes.warnAboutUnknown(known: Self.attributes)
        self.clock = clock
        start = clock()
    }

    func ticksCount() throws -> Double {
        (ticksPerRotation * rotations(after: max(0, clock() - start))).rounded(.down)
    }

    /// The integral of speed(τ) = rpm/60 · (1 + ½ sin(2πτ/period)), which is never negative.
    func rotations(after elapsed: Double) -> Double {
        let omega = 2 * Double.pi / period
        return rpm / 60 * (elapsed + 0.5 * (1 - cos(omega * elapsed)) / omega)
    }
}
