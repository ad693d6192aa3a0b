#if canImport(Glibc)
    import Glibc
#endif

extension Frame {
    /// This frame as a Viam pose: position in millimetres, orientation as Viam's orientation vector
    /// (the unit vector the frame's z axis points along, plus theta, the rotation about it, in degrees).
    public var viamPose: Pose {
        let ov = orientationVector
        return Pose(
            x: origin.x * 1000, y: origin.y * 1000, z: origin.z * 1000,
            oX: ov.axis.x, oY: ov.axis.y, oZ: ov.axis.z, theta: ov.theta * 180 / .pi)
    }

    /// Viam's orientation vector (rdk spatialmath QuatToOV), computed from the rotation matrix.
    /// theta (radians) is the angle between the plane through global z and the new z axis, and the
    /// plane through the new x and z axes; straight up or down it is the rotation about z.
    public var orientationVector: (axis: SIMD3<Double>, theta: Double) {
        let newZ = z
        let newX = -x  // Viam measures from local -x
        if 1 - abs(newZ.z) > 1e-4 {
            let normal1 = cross(newZ, newX)  // the plane of the local x and z axes
            let normal2 = cross(newZ, [0, 0, 1])  // the plane of global z and local z
            // The signed angle from normal2 to normal1 about newZ; QuatToOV finds the same angle with
            // acos plus a test rotation for its sign.
            let theta = atan2(dot(newZ, cross(normal2, normal1)), dot(normal2, normal1))
            return (newZ, theta + 0)  // + 0 turns -0 into 0, as QuatToOV does
        }
        let theta = newZ.z < 0 ? -atan2(newX.y, newX.x) : -atan2(newX.y, -newX.x)
        return (newZ, theta + 0)
    }
}

func cross(_ a: SIMD3<Double>, _ b: SIMD3<Double>) -> SIMD3<Double> {
    [a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x]
}

func dot(_ a: SIMD3<Double>, _ b: SIMD3<Double>) -> Double { (a * b).sum() }
