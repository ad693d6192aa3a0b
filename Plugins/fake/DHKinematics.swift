#if canImport(Glibc)
    import Glibc
#endif

/// A rigid frame: three unit axes and an origin, all expressed in the parent (base) frame.
/// Metres. Kept free of the fake arm so a real arm driver can reuse the kinematics as they are.
struct Frame: Sendable, Equatable {
    var x: SIMD3<Double>
    var y: SIMD3<Double>
    var z: SIMD3<Double>
    var origin: SIMD3<Double>

    static let identity = Frame(x: [1, 0, 0], y: [0, 1, 0], z: [0, 0, 1], origin: [0, 0, 0])

    /// This frame's rotation applied to a vector.
    func rotate(_ v: SIMD3<Double>) -> SIMD3<Double> { x * v.x + y * v.y + z * v.z }

    /// `self` followed by `child` (a frame expressed in `self`): the child in the parent's terms.
    func then(_ child: Frame) -> Frame {
        Frame(x: rotate(child.x), y: rotate(child.y), z: rotate(child.z), origin: origin + rotate(child.origin))
    }
}

/// One joint in standard Denavit–Hartenberg form: Rz(θ + thetaOffset) · Tz(d) · Tx(a) · Rx(α).
struct DHJoint: Sendable, Equatable {
    var a: Double  // metres
    var d: Double  // metres
    var alpha: Double  // radians
    var thetaOffset: Double = 0  // radians

    func transform(theta: Double) -> Frame {
        let (ct, st) = (cos(theta + thetaOffset), sin(theta + thetaOffset))
        let (ca, sa) = (cos(alpha), sin(alpha))
        return Frame(
            x: [ct, st, 0], y: [-st * ca, ct * ca, sa], z: [st * sa, -ct * sa, ca],
            origin: [a * ct, a * st, d])
    }
}

/// A serial arm described by its DH table.
struct DHChain: Sendable, Equatable {
    var joints: [DHJoint]

    /// The tool flange frame in the base frame for joint angles in radians.
    func forwardKinematics(_ angles: [Double]) -> Frame {
        precondition(angles.count == joints.count, "\(joints.count) joint angles expected, got \(angles.count)")
        var frame = Frame.identity
        for (joint, theta) in zip(joints, angles) { frame = frame.then(joint.transform(theta: theta)) }
        return frame
    }

    /// Universal Robots UR5e, from UR's published DH parameters ("DH parameters for calculations of
    /// kinematics and dynamics"): a = [0, -0.425, -0.3922, 0, 0, 0] m,
    /// d = [0.1625, 0, 0, 0.1333, 0.0997, 0.0996] m, α = [π/2, 0, 0, π/2, -π/2, 0].
    /// All joints at zero put the flange at (-817.2, -232.9, 62.8) mm.
    static let ur5e = DHChain(joints: [
        DHJoint(a: 0, d: 0.1625, alpha: .pi / 2),
        DHJoint(a: -0.425, d: 0, alpha: 0),
        DHJoint(a: -0.3922, d: 0, alpha: 0),
        DHJoint(a: 0, d: 0.1333, alpha: .pi / 2),
        DHJoint(a: 0, d: 0.0997, alpha: -.pi / 2),
        DHJoint(a: 0, d: 0.0996, alpha: 0),
    ])
}
