import FerryBSON
import FerrySDK

/// A UR5e whose six joints sweep smoothly around a typical working pose; EndPosition is the real
/// forward kinematics of those joint angles (``DHChain/ur5e``).
///
/// Attributes: arm-model ("ur5e", Viam's fake-arm attribute; the only kinematics built in),
/// period_s (30, > 0), amplitude_deg (30, 0–180).
/// Readings: JointPositions {"positions": {"values": [6 degrees]}}; EndPosition {"pose": {x, y, z
/// (mm), o_x, o_y, o_z, theta (degrees)}}.
final class FakeArm: Arm, EchoesCommands {
    static let attributes: Set<String> = ["arm-model", "period_s", "amplitude_deg"]
    /// UR's "up" working pose, degrees; the sweep is centred here so the arm never folds into itself.
    static let centre: [Double] = [0, -90, 90, -90, -90, 0]
    /// Per-joint share of the amplitude: the wrist turns more than the shoulder.
    static let reach: [Double] = [1.5, 0.5, 0.7, 1, 1, 2]

    let clock: FakeClock
    let kinematics = DHChain.ur5e
    let period, amplitude: Double

    init(config: ComponentConfig, clock: @escaping FakeClock) throws {
        let attributes = Attributes(config, model: "fake arm")
        _ = try attributes.choice("arm-model", default: "ur5e", oneOf: ["ur5e"])
        period = try attributes.number("period_s", default: 30, .positive)
        amplitude = try attributes.number("amplitude_deg", default: 30, .within(0...180))
        attributes.warnAboutUnknown(known: Self.attributes)
        self.clock = clock
    }

    func jointPositions() throws -> [Double] { angles(at: clock()) }

    func endPosition() throws -> Pose {
        kinematics.forwardKinematics(angles(at: clock()).map(Signal.radians)).viamPose
    }

    /// Each joint on its own sine; incommensurate period multiples keep the motion from repeating soon.
    func angles(at t: Double) -> [Double] {
        (0..<6).map { joint in
            let jointPeriod = period * (1 + 0.23 * Double(joint))
            return Self.centre[joint] + amplitude * Self.reach[joint] * Signal.sine(t, period: jointPeriod, phase: Double(joint))
        }
    }
}
