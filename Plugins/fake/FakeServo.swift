import FerryBSON
import FerrySDK

/// A hobby servo sweeping back and forth between two angles.
///
/// Attributes: min_angle_deg (0), max_angle_deg (180), both 0–360 with min < max; period_s (10, > 0).
/// Reading: Position {"position_deg": whole degrees}.
final class FakeServo: Servo, EchoesCommands {
    static let attributes: Set<String> = ["min_angle_deg", "max_angle_deg", "period_s"]

    let clock: FakeClock
    let minAngle, maxAngle, period: Double

    init(config: ComponentConfig, clock: @escaping FakeClock) throws {
        let attributes = Attributes(config, model: "fake servo")
        minAngle = try attributes.number("min_angle_deg", default: 0, .within(0...360))
        maxAngle = try attributes.number("max_angle_deg", default: 180, .within(0...360))
        guard minAngle < maxAngle else {
            throw PluginError.invalidArgument(
                "fake servo: attribute min_angle_deg (\(minAngle)) must be less than max_angle_deg (\(maxAngle))")
        }
        period = try attributes.number("period_s", default: 10, .positive)
        attributes.warnAboutUnknown(known: Self.attributes)
        self.clock = clock
    }

    func positionDegrees() throws -> UInt32 {
        UInt32((minAngle + (maxAngle - minAngle) * Signal.triangle(clock(), period: period)).rounded())
    }
}
