import FerryBSON
import FerrySDK

#if canImport(Glibc)
    import Glibc
#endif

/// A rover driving clockwise around a GPS point at constant speed, with everything an IMU and a GPS
/// would report about that motion. Body frame as in Viam: y forward, x right, z up.
///
/// Attributes: latitude (40.7484, −90–90), longitude (−73.9857, −180–180), altitude_m (10),
/// radius_m (10, > 0), period_s (60, one lap, > 0).
/// Readings: Position {"coordinate": {latitude, longitude}, "altitude_m"}; CompassHeading {"value"
/// (degrees clockwise from north)}; LinearVelocity {"linear_velocity": {x, y, z} m/s};
/// AngularVelocity {"angular_velocity": {x, y, z} °/s}; LinearAcceleration {"linear_acceleration":
/// {x, y, z} m/s², gravity included}; Orientation {"orientation": {o_x, o_y, o_z, theta}}.
final class FakeMovementSensor: MovementSensor, EchoesCommands {
    static let attributes: Set<String> = ["latitude", "longitude", "altitude_m", "radius_m", "period_s"]
    static let earthRadius = 6_371_008.8  // metres, IUGG mean radius
    static let gravity = 9.80665

    let clock: FakeClock
    let seed: UInt64
    let latitude, longitude, altitude, radius, period: Double

    init(config: ComponentConfig, clock: @escaping FakeClock) throws {
        let attributes = Attributes(config, model: "fake movement_sensor")
        latitude = try attributes.number("latitude", default: 40.7484, .within(-89.9...89.9))
        longitude = try attributes.number("longitude", default: -73.9857, .within(-180...180))
        altitude = try attributes.number("altitude_m", default: 10, .within(-500...20_000))
        radius = try attributes.number("radius_m", default: 10, .positive)
        period = try attributes.number("period_s", default: 60, .positive)
        attributes.warnAboutUnknown(known: Self.attributes)
        self.clock = clock
        seed = Signal.seed(config.name)
    }

    /// Radians around the circle, 0 at its northernmost point, increasing clockwise.
    private func phase(_ t: Double) -> Double { 2 * .pi * Signal.fraction(t / period) }
    private var omega: Double { 2 * .pi / period }
    private var speed: Double { radius * omega }

    private func heading(_ t: Double) -> Double {
        // Driving clockwise, the velocity points 90° clockwise of the radius.
        (Signal.degrees(phase(t)) + 90).truncatingRemainder(dividingBy: 360)
    }

    private func jitter(_ t: Double, _ channel: UInt64, _ scale: Double) -> Double {
        scale * Signal.noise(seed &+ channel, t, rate: 4)
    }

    func position() throws -> (latitude: Double, longitude: Double, altitudeM: Double) {
        let t = clock()
        let north = radius * cos(phase(t)), east = radius * sin(phase(t))
        let lat = latitude + Signal.degrees(north / Self.earthRadius)
        let lon = longitude + Signal.degrees(east / (Self.earthRadius * cos(Signal.radians(latitude))))
        return (lat, lon, Signal.rounded(altitude + 0.3 * Signal.sine(t, period: period / 2) + jitter(t, 1, 0.05), places: 3))
    }

    func compassHeading() throws -> Double { Signal.rounded(heading(clock()), places: 3) }

    func linearVelocity() throws -> Vector3 {
        let t = clock()
        return Vector3(x: jitter(t, 2, 0.01), y: speed + jitter(t, 3, 0.02), z: jitter(t, 4, 0.01))
    }

    func angularVelocity() throws -> Vector3 {
        let t = clock()
        // Clockwise seen from above is a negative rotation about +z.
        return Vector3(x: jitter(t, 5, 0.05), y: jitter(t, 6, 0.05), z: -Signal.degrees(omega) + jitter(t, 7, 0.05))
    }

    func linearAcceleration() throws -> Vector3 {
        let t = clock()
        // Centripetal v²/r toward the centre, which is on the right of a clockwise driver; gravity up.
        return Vector3(
            x: speed * speed / radius + jitter(t, 8, 0.02), y: jitter(t, 9, 0.02), z: Self.gravity + jitter(t, 10, 0.02))
    }

    func orientation() throws -> Pose {
        // Level, yawed by the heading: a rotation of −heading about +z (heading runs clockwise).
        var theta = -heading(clock())
        if theta <= -180 { theta += 360 }
        return Pose(x: 0, y: 0, z: 0, oX: 0, oY: 0, oZ: 1, theta: Signal.rounded(theta, places: 3))
    }
}
