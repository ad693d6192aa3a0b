import FerryBSON
import FerrySDK
import Foundation
import Testing

@testable import FerryFake

@Suite struct EncoderTests {
    @Test func countsUpFromZeroAtTheMeanSpeed() throws {
        let clock = ManualClock()
        let encoder = try FakeEncoder(config: config(.encoder), clock: clock.read)
        #expect(try encoder.ticksCount() == 0)
        var previous = 0.0
        for _ in 0..<600 {
            clock.advance(0.1)
            let ticks = try encoder.ticksCount()
            #expect(ticks >= previous)
            #expect(ticks == ticks.rounded())
            previous = ticks
        }
        // 60 s is three whole speed periods: exactly 30 rpm × 1 min × 1024 ticks.
        #expect(abs(previous - 30 * 1024) <= 1)
        let reading = try tabular(encoder.capture(method: "TicksCount", parameters: [:]))
        #expect(reading == ["value": .double(previous), "position_type": "POSITION_TYPE_TICKS_COUNT"])
    }

    @Test func badAttributes() {
        expectInvalid("ticks_per_rotation", "integer") {
            try FakeEncoder(config: config(.encoder, ["ticks_per_rotation": 2.5]), clock: { 0 })
        }
        expectInvalid("rpm") { try FakeEncoder(config: config(.encoder, ["rpm": "fast"]), clock: { 0 }) }
    }
}

@Suite struct GantryTests {
    @Test func axesGlideBetweenTheirEnds() throws {
        let clock = ManualClock()
        let gantry = try FakeGantry(config: config(.gantry, ["lengths_mm": [500, 300.5]]), clock: clock.read)
        #expect(try gantry.lengths() == [500, 300.5])
        var extremes = [(Double.infinity, -Double.infinity), (Double.infinity, -Double.infinity)]
        for _ in 0..<400 {
            let positions = try gantry.position()
            #expect(positions.count == 2)
            for axis in 0..<2 {
                #expect((0...[500, 300.5][axis]).contains(positions[axis]))
                extremes[axis] = (min(extremes[axis].0, positions[axis]), max(extremes[axis].1, positions[axis]))
            }
            clock.advance(0.25)
        }
        #expect(extremes[0].1 - extremes[0].0 > 490)
        #expect(extremes[1].1 - extremes[1].0 > 290)
        #expect(try tabular(gantry.capture(method: "Lengths", parameters: [:])) == ["lengths_mm": [500.0, 300.5]])
    }

    @Test func badAttributes() {
        expectInvalid("lengths_mm", "1 to 6") { try FakeGantry(config: config(.gantry, ["lengths_mm": []]), clock: { 0 }) }
        expectInvalid("lengths_mm", "> 0") { try FakeGantry(config: config(.gantry, ["lengths_mm": [100, -1]]), clock: { 0 }) }
    }
}

@Suite struct MotorTests {
    @Test func positionIsTheIntegralOfPower() throws {
        let clock = ManualClock()
        let motor = try FakeMotor(config: config(.motor), clock: clock.read)
        // Integrate power × max_rpm / 60 numerically (midpoint rule) and compare with Position.
        var integrated = 0.0
        let step = 0.01
        for _ in 0..<5000 {  // 50 s: two and a half duty cycles
            integrated += motor.power(after: (clock.read() - 1_700_000_000) + step / 2) * 100 / 60 * step
            clock.advance(step)
            let position = try motor.position()
            #expect(abs(position - integrated) < 1e-3, "position \(position) vs integral \(integrated)")
        }
    }

    @Test func runsThenRestsForwardThenBack() throws {
        let clock = ManualClock(0)
        let motor = try FakeMotor(config: config(.motor, ["max_power_pct": 0.5, "period_s": 10]), clock: clock.read)
        clock.set(3.5)  // middle of the first 7 s run: full forward power
        #expect(try motor.isPowered() == (true, 0.5))
        clock.set(8)  // resting
        #expect(try motor.isPowered() == (false, 0))
        let forward = try motor.position()
        #expect(forward > 0)
        clock.set(13.5)  // second cycle runs backward
        #expect(try motor.isPowered() == (true, -0.5))
        clock.set(20)  // back where it started
        #expect(abs(try motor.position()) < 1e-9)
        let reading = try tabular(motor.capture(method: "IsPowered", parameters: [:]))
        #expect(reading?.keys == ["is_on", "power_pct"])
    }

    @Test func badAttributes() {
        expectInvalid("max_power_pct") { try FakeMotor(config: config(.motor, ["max_power_pct": 1.5]), clock: { 0 }) }
        expectInvalid("max_rpm", "> 0") { try FakeMotor(config: config(.motor, ["max_rpm": 0]), clock: { 0 }) }
    }
}

@Suite struct ServoTests {
    @Test func sweepsBetweenItsLimits() throws {
        let clock = ManualClock(0)
        let servo = try FakeServo(config: config(.servo, ["min_angle_deg": 30, "max_angle_deg": 150, "period_s": 4]), clock: clock.read)
        #expect(try servo.positionDegrees() == 30)
        clock.set(2)
        #expect(try servo.positionDegrees() == 150)
        clock.set(1)
        #expect(try servo.positionDegrees() == 90)
        for step in 0..<100 {
            clock.set(Double(step) * 0.13)
            #expect((30...150).contains(try servo.positionDegrees()))
        }
        #expect(try tabular(servo.capture(method: "Position", parameters: [:]))?["position_deg"] != nil)
    }

    @Test func badAttributes() {
        expectInvalid("min_angle_deg", "max_angle_deg") {
            try FakeServo(config: config(.servo, ["min_angle_deg": 100, "max_angle_deg": 100]), clock: { 0 })
        }
    }
}

@Suite struct MovementSensorTests {
    /// Great-circle distance in metres (haversine).
    func distance(_ lat1: Double, _ lon1: Double, _ lat2: Double, _ lon2: Double) -> Double {
        let (p1, p2) = (lat1 * .pi / 180, lat2 * .pi / 180)
        let dp = p2 - p1, dl = (lon2 - lon1) * .pi / 180
        let a = sin(dp / 2) * sin(dp / 2) + cos(p1) * cos(p2) * sin(dl / 2) * sin(dl / 2)
        return 2 * FakeMovementSensor.earthRadius * asin(a.squareRoot())
    }

    @Test func circlesItsCentreAndEveryReadingAgrees() throws {
        let clock = ManualClock()
        let sensor = try FakeMovementSensor(
            config: config(.movementSensor, ["latitude": 48.8584, "longitude": 2.2945, "radius_m": 20, "period_s": 40]),
            clock: clock.read)
        let speed = 2 * Double.pi * 20 / 40
        for _ in 0..<80 {
            let here = try sensor.position()
            #expect(abs(distance(48.8584, 2.2945, here.latitude, here.longitude) - 20) < 0.01)
            // The heading points where the next position lies.
            let heading = try sensor.compassHeading()
            #expect((0..<360).contains(heading))
            clock.advance(0.05)
            let next = try sensor.position()
            let (p1, p2) = (here.latitude * .pi / 180, next.latitude * .pi / 180)
            let dl = (next.longitude - here.longitude) * .pi / 180
            var bearing = atan2(sin(dl) * cos(p2), cos(p1) * sin(p2) - sin(p1) * cos(p2) * cos(dl)) * 180 / .pi
            if bearing < 0 { bearing += 360 }
            let difference = abs(bearing - heading).truncatingRemainder(dividingBy: 360)
            #expect(min(difference, 360 - difference) < 1, "bearing \(bearing) vs heading \(heading)")
            clock.advance(0.45)

            #expect(abs(try sensor.linearVelocity().y - speed) < 0.05)
            let acceleration = try sensor.linearAcceleration()
            #expect(abs(acceleration.z - 9.80665) < 0.05)
            #expect(abs(acceleration.x - speed * speed / 20) < 0.05)
            #expect(abs(try sensor.angularVelocity().z + 360 / 40) < 0.1)
            let orientation = try sensor.orientation()
            #expect(orientation.oZ == 1 && (-180...180).contains(orientation.theta))
        }
    }

    @Test func captureShapes() throws {
        let sensor = try FakeMovementSensor(config: config(.movementSensor), clock: { 1_700_000_000 })
        let position = try tabular(sensor.capture(method: "Position", parameters: [:]))
        #expect(position?.keys == ["coordinate", "altitude_m"])
        #expect(position?["coordinate"]?.documentValue?.keys == ["latitude", "longitude"])
        #expect(try tabular(sensor.capture(method: "CompassHeading", parameters: [:]))?.keys == ["value"])
        #expect(try tabular(sensor.capture(method: "Orientation", parameters: [:]))?["orientation"]?.documentValue?.keys == ["o_x", "o_y", "o_z", "theta"])
        #expect(try tabular(sensor.capture(method: "LinearAcceleration", parameters: [:]))?["linear_acceleration"]?.documentValue?.keys == ["x", "y", "z"])
    }

    @Test func badAttributes() {
        expectInvalid("latitude", "-89.9") { try FakeMovementSensor(config: config(.movementSensor, ["latitude": 95]), clock: { 0 }) }
        expectInvalid("radius_m") { try FakeMovementSensor(config: config(.movementSensor, ["radius_m": 0]), clock: { 0 }) }
    }
}
