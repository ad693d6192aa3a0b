#if canImport(Glibc)
    import Glibc
#endif

/// A rigid frame: three unit axes and an origin, all expressed in the parent (base) frame.
/// Metres. Shared by the fake arm and the real `dh-arm` driver.
public struct Frame: Sendable, Equatable {
    public var x: SIMD3<Double>
    public var y: SIMD3<Double>
    public var z: SIMD3<Double>
    public var origin: SIMD3<Double>

    public init(x: SIMD3<Double>, y: SIMD3<Double>, z: SIMD3<Double>, origin: SIMD3<Double>) {
        (self.x, self.y, self.z, self.origin) = (x, y, z, origin)
    }

    public static let identity = Frame(x: [1, 0, 0], y: [0, 1, 0], z: [0, 0, 1], origin: [0, 0, 0])

    /// This frame's rotation applied to a vector.
    public func rotate(_ v: SIMD3<Double>) -> SIMD3<Double> { x * v.x + y * v.y + z * v.z }

    /// `self` followed by `child` (a frame expressed in `self`): the child in the parent's terms.
    public func then(_ child: Frame) -> Frame {
        Frame(x: rotate(child.x), y: rotate(child.y), z: rotate(child.z), origin: origin + rotate(child.origin))
    }
}

/// One joint in standard Denavit–Hartenberg form: Rz(θ + thetaOffset) · Tz(d) · Tx(a) · Rx(α).
public struct DHJoint: Sendable, Equatable {
    public var a: Double  // metres
    public var d: Double  // metres
    public var alpha: Double  // radians
    public var thetaOffset: Double = 0  // radians

    public init(a: Double, d: Double, alpha: Double, thetaOffset: Double = 0) {
        (self.a, self.d, self.alpha, self.thetaOffset) = (a, d, alpha, thetaOffset)
    }

    public func transform(theta: Double) -> Frame {
        let (ct, st) = (cos(theta + thetaOffset), sin(theta + thetaOffset))
        let (ca, sa) = (cos(alpha), sin(alpha))
        return Frame(
            x: [ct, st, 0], y: [-st * ca, ct * ca, sa], z: [st * sa, -ct * sa, ca],
            origin: [a * ct, a * st, d])
    }
}

/// A serial arm described by its DH table.
public struct DHChain: Sendable, Equatable {
    public var joints: [DHJoint]

    public init(joints: [DHJoint]) { self.joints = joints }

    /// The tool flange frame in the base frame for joint angles in radians.
    public func forwardKinematics(_ angles: [Double]) -> Frame {
        precondition(angles.count == joints.count, "\(joints.count) joint angles expected, got \(angles.count)")
        var frame = Frame.identity
        for (joint, theta) in zip(joints, angles) { frame = frame.then(joint.transform(theta: theta)) }
        return frame
    }

    /// Universal Robots UR5e, from UR's published DH parameters ("DH parameters for calculations of
    /// kinematics and dynamics"): a = [0, -0.425, -0.3922, 0, 0, 0] m,
    /// d = [0.1625, 0, 0, 0.1333, 0.0997, 0.0996] m, α = [π/2, 0, 0, π/2, -π/2, 0].
    /// All joints at zero put the flange at (-817.2, -232.9, 62.8) mm.
    public static let ur5e = DHChain(joints: [
        DHJoint(a: 0, d: 0.1625, alpha: .pi / 2),
        DHJoint(a: -0.425, d: 0, alpha: 0),
        DHJoint(a: -0.3922, d: 0, alpha: 0),
        DHJoint(a: 0, d: 0.1333, alpha: .pi / 2),
        DHJoint(a: 0, d: 0.0997, alpha: -.pi / 2),
        DHJoint(a: 0, d: 0.0996, alpha: 0),
    ])

    /// UFACTORY xArm 6, from UFACTORY's published standard DH parameters (metres, radians):
    /// a = [0, 0.28948866, 0.0775, 0, 0.076, 0], d = [0.267, 0, 0, 0.3425, 0, 0.097],
    /// α = [-π/2, 0, -π/2, π/2, -π/2, 0], θ offsets = [0, -1.3849179, 1.3849179, 0, 0, 0]
    /// (the offsets are ±atan(284.5/53.5): the upper arm is a dog-leg). All joints at zero put the
    /// flange at (207, 0, 112) mm pointing straight down, UFACTORY's documented zero pose.
    public static let xarm6 = DHChain(joints: [
        DHJoint(a: 0, d: 0.267, alpha: -.pi / 2),
        DHJoint(a: 0.28948866, d: 0, alpha: 0, thetaOffset: -1.3849179),
        DHJoint(a: 0.0775, d: 0, alpha: -.pi / 2, thetaOffset: 1.3849179),
        DHJoint(a: 0, d: 0.3425, alpha: .pi / 2),
        DHJoint(a: 0.076, d: 0, alpha: -.pi / 2),
        DHJoint(a: 0, d: 0.097, alpha: 0),
    ])

    /// The built-in parameter sets by name, for the `kinematics` attribute.
    public static let named: [String: DHChain] = ["ur5e": .ur5e, "xarm6": .xarm6]

    /// The flange pose (Viam's: millimetres, orientation vector, degrees) for joint angles in degrees.
    public func pose(degrees: [Double]) -> Pose { forwardKinematics(degrees.map { $0 * .pi / 180 }).viamPose }
}
