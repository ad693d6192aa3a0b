import FerryBSON
import FerrySDK

/// A multi-axis gantry; each axis glides between its ends with its own period.
///
/// Attributes: lengths_mm ([1000, 800, 400]: 1–6 axes, each > 0), period_s (40, > 0).
/// Readings: Lengths {"lengths_mm": [...]}; Position {"positions_mm": [...]}.
final class FakeGantry: Gantry, EchoesCommands {
    static let attributes: Set<String> = ["lengths_mm", "period_s"]

    let clock: FakeClock
    let axisLengths: [Double]
    let period: Double

    init(config: ComponentConfig, clock: @escaping FakeClock) throws {
        let attributes = Attributes(config, model: "fake gantry")
        axisLengths = try attributes.numbers("lengths_mm", default: [1000, 800, 400], count: 1...6, .positive)
        period = try attributes.number("period_s", default: 40, .positive)
        attributes.warnAboutUnknown(known: Self.attributes)
        self.clock = clock
    }

    func lengths() throws -> [Double] { axisLengths }

    func position() throws -> [Double] {
        let t = clock()
        return axisLengths.enumerated().map { axis, length in
            // A cosine from one end to the other: smooth starts and stops, like a real motion profile.
            let u = 0.5 - 0.5 * Signal.sine(t, period: period * (1 + 0.37 * Double(axis)), phase: .pi / 2)
            return Signal.rounded(length * u, places: 3)
        }
    }
}
