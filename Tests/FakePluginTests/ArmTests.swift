import FerryBSON
import FerrySDK
import Foundation
import Testing

@testable import FerryFake

@Suite struct ArmTests {
    @Test func jointsSweepSmoothlyWithinTheirRange() throws {
        let clock = ManualClock()
        let arm = try FakeArm(config: config(.arm), clock: clock.read)
        var previous = try arm.jointPositions()
        var moved = [Double](repeating: 0, count: 6)
        for _ in 0..<300 {
            clock.advance(0.1)
            let joints = try arm.jointPositions()
            #expect(joints.count == 6)
            for joint in 0..<6 {
                #expect(abs(joints[joint] - FakeArm.centre[joint]) <= 30 * FakeArm.reach[joint] + 1e-9)
                // At most ~2π·A·reach/period degrees per second; 0.1 s steps stay small.
                #expect(abs(joints[joint] - previous[joint]) < 2.5)
                moved[joint] += abs(joints[joint] - previous[joint])
            }
            previous = joints
        }
        for joint in 0..<6 { #expect(moved[joint] > 10, "joint \(joint) barely moved") }
    }

    @Test func endPositionIsTheForwardKinematicsOfTheJoints() throws {
        let clock = ManualClock()
        let arm = try FakeArm(config: config(.arm, ["period_s": 12]), clock: clock.read)
        for _ in 0..<50 {
            clock.advance(0.37)
            let joints = try arm.jointPositions().map(Signal.radians)
            let expected = DHChain.ur5e.forwardKinematics(joints).viamPose
            #expect(try arm.endPosition() == expected)
            let pose = try arm.endPosition()
            // A UR5e reaches 850 mm from its shoulder (plus the wrist offsets).
            #expect((pose.x * pose.x + pose.y * pose.y + pose.z * pose.z).squareRoot() < 1100)
            #expect(abs((pose.oX * pose.oX + pose.oY * pose.oY + pose.oZ * pose.oZ) - 1) < 1e-9)
        }
    }

    @Test func captureShapes() throws {
        let arm = try FakeArm(config: config(.arm), clock: { 1_700_000_000 })
        let joints = try tabular(arm.capture(method: "JointPositions", parameters: [:]))
        #expect(joints?["positions"]?.documentValue?["values"]?.arrayValue?.count == 6)
        let pose = try tabular(arm.capture(method: "EndPosition", parameters: [:]))?["pose"]?.documentValue
        #expect(pose?.keys == ["x", "y", "z", "o_x", "o_y", "o_z", "theta"])
    }

    @Test func onlyTheUR5eKinematicsAreBuiltIn() {
        expectInvalid("arm-model", "\"ur5e\"", "\"xArm6\"") {
            try FakeArm(config: config(.arm, ["arm-model": "xArm6"]), clock: { 0 })
        }
        expectInvalid("amplitude_deg") { try FakeArm(config: config(.arm, ["amplitude_deg": 400]), clock: { 0 }) }
    }
}

@Suite struct UR5eKinematicsTests {
    func expectClose(_ a: Double, _ b: Double, _ tolerance: Double = 1e-6, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(abs(a - b) < tolerance, "\(a) is not \(b)", sourceLocation: sourceLocation)
    }

    @Test func homePoseIsUniversalRobotsDocumentedZeroPosition() {
        // All joints at zero: the flange sits at (a2 + a3, -(d4 + d6), d1 - d5), tool axis along -y.
        let pose = DHChain.ur5e.forwardKinematics([0, 0, 0, 0, 0, 0]).viamPose
        expectClose(pose.x, -817.2)
        expectClose(pose.y, -232.9)
        expectClose(pose.z, 62.8)
        expectClose(pose.oX, 0)
        expectClose(pose.oY, -1)
        expectClose(pose.oZ, 0)
    }

    @Test func uprightPoseReachesStraightUp() {
        // Shoulder and wrist 1 at -90°: upper arm, forearm and wrist 2 stack vertically.
        let pose = DHChain.ur5e.forwardKinematics([0, -90, 0, -90, 0, 0].map(Signal.radians)).viamPose
        expectClose(pose.x, 0)
        expectClose(pose.y, -232.9)
        expectClose(pose.z, (0.1625 + 0.425 + 0.3922 + 0.0997) * 1000)
    }

    @Test func theBaseJointRotatesTheWholeArmAboutZ() {
        let home = DHChain.ur5e.forwardKinematics([0, 0, 0, 0, 0, 0]).origin
        let turned = DHChain.ur5e.forwardKinematics([.pi / 2, 0, 0, 0, 0, 0]).origin
        expectClose(turned.x, -home.y)
        expectClose(turned.y, home.x)
        expectClose(turned.z, home.z)
    }

    @Test func framesStayOrthonormal() {
        let frame = DHChain.ur5e.forwardKinematics([0.3, -1.1, 1.7, -0.4, 2.2, -2.9])
        for axis in [frame.x, frame.y, frame.z] { expectClose(dot(axis, axis), 1, 1e-12) }
        expectClose(dot(frame.x, frame.y), 0, 1e-12)
        let z = cross(frame.x, frame.y)
        expectClose(dot(z, frame.z), 1, 1e-12)  // right-handed
    }

    @Test func orientationVectorsMatchViamsConvention() {
        // No rotation: pointing up, theta 0.
        var ov = Frame.identity.orientationVector
        #expect(ov.axis == [0, 0, 1] && ov.theta == 0)
        // A yaw about z shows up as theta.
        let yaw = DHJoint(a: 0, d: 0, alpha: 0).transform(theta: 0.7)
        ov = yaw.orientationVector
        expectClose(ov.theta, 0.7)
        // Pointing straight down by a half turn about y: OV (0, 0, -1), theta 0.
        let down = Frame(x: [-1, 0, 0], y: [0, 1, 0], z: [0, 0, -1], origin: .zero)
        ov = down.orientationVector
        expectClose(ov.axis.z, -1)
        expectClose(ov.theta, 0)
        // Tipped over about x by 90°: z axis along -y, x still along +x. Viam's OV (0, -1, 0) with
        // theta 0 would put x straight down; keeping it horizontal takes a quarter turn.
        let tipped = DHJoint(a: 0, d: 0, alpha: .pi / 2).transform(theta: 0)
        ov = tipped.orientationVector
        expectClose(ov.axis.y, -1)
        expectClose(ov.theta, .pi / 2)
        // Rolling it about its own z axis by 0.4 rad adds 0.4 rad to theta.
        let rolled = tipped.then(DHJoint(a: 0, d: 0, alpha: 0).transform(theta: 0.4))
        expectClose(rolled.orientationVector.theta, .pi / 2 + 0.4)
    }

    /// Viam turns an OV back into a rotation as Rz(lon) · Ry(lat) · Rz(theta), where (lat, lon) are
    /// the axis's polar angles (rdk spatialmath OrientationVector.ToQuat). Our conversion must invert it.
    @Test func orientationVectorInvertsViamsZYZDefinition() {
        func rz(_ angle: Double) -> Frame { DHJoint(a: 0, d: 0, alpha: 0).transform(theta: angle) }
        func ry(_ angle: Double) -> Frame {
            Frame(x: [cos(angle), 0, -sin(angle)], y: [0, 1, 0], z: [sin(angle), 0, cos(angle)], origin: .zero)
        }
        for (lat, lon, theta) in [(0.5, 0.3, 1.2), (1.4, -2.0, -0.7), (2.9, 2.5, 3.0), (Double.pi / 2, -Double.pi / 2, 0.1)] {
            let ov = rz(lon).then(ry(lat)).then(rz(theta)).orientationVector
            expectClose(ov.axis.x, sin(lat) * cos(lon))
            expectClose(ov.axis.y, sin(lat) * sin(lon))
            expectClose(ov.axis.z, cos(lat))
            expectClose(ov.theta, theta)
        }
    }
}

// The kinematics moved to FerrySDK (shared with the dh-arm driver), which keeps its vector helpers
// internal; the checks here need their own.
private func cross(_ a: SIMD3<Double>, _ b: SIMD3<Double>) -> SIMD3<Double> {
    [a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x]
}
private func dot(_ a: SIMD3<Double>, _ b: SIMD3<Double>) -> Double { (a * b).sum() }
