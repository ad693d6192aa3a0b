import FerryBSON

// Typed component protocols. Implement the typed methods; `capture(method:parameters:)` comes for
// free and produces the same document shapes Viam's collectors store (the response messages of
// each API in proto-JSON naming), so MQL written against Viam's data works unchanged.

public struct Vector3: Sendable, Equatable {
    public var x, y, z: Double
    public init(x: Double, y: Double, z: Double) { (self.x, self.y, self.z) = (x, y, z) }
    var document: BSON { ["x": .double(x), "y": .double(y), "z": .double(z)] }
}

/// A pose: position in millimetres, orientation as an orientation vector (unit axis + theta, degrees).
public struct Pose: Sendable, Equatable {
    public var x, y, z: Double
    public var oX, oY, oZ, theta: Double
    public init(x: Double, y: Double, z: Double, oX: Double = 0, oY: Double = 0, oZ: Double = 1, theta: Double = 0) {
        (self.x, self.y, self.z, self.oX, self.oY, self.oZ, self.theta) = (x, y, z, oX, oY, oZ, theta)
    }
    var document: BSON {
        [
            "x": .double(x), "y": .double(y), "z": .double(z),
            "o_x": .double(oX), "o_y": .double(oY), "o_z": .double(oZ), "theta": .double(theta),
        ]
    }
}

func unknownMethod(_ method: String, _ api: ComponentAPI) -> PluginError {
    .unsupported("\(method) is not a capture method of \(api.rawValue); it has \(api.captureMethods.joined(separator: ", "))")
}

public protocol Sensor: Component {
    func readings(extra: BSONDocument) throws -> BSONDocument
}
extension Sensor {
    public func capture(method: String, parameters: BSONDocument) throws -> CaptureOutput {
        guard method == "Readings" else { throw unknownMethod(method, .sensor) }
        return .tabular(["readings": .document(try readings(extra: parameters))])
    }
}

public protocol Arm: Component {
    /// Joint angles in degrees.
    func jointPositions() throws -> [Double]
    func endPosition() throws -> Pose
}
extension Arm {
    public func capture(method: String, parameters: BSONDocument) throws -> CaptureOutput {
        switch method {
        case "JointPositions":
            return .tabular(["positions": ["values": .array(try jointPositions().map(BSON.double))]])
        case "EndPosition":
            return .tabular(["pose": try endPosition().document])
        default: throw unknownMethod(method, .arm)
        }
    }
}

public struct AnalogValue: Sendable, Equatable {
    public var value: Int32
    public var minRange, maxRange, stepSize: Double
    public init(value: Int32, minRange: Double, maxRange: Double, stepSize: Double) {
        (self.value, self.minRange, self.maxRange, self.stepSize) = (value, minRange, maxRange, stepSize)
    }
    var document: BSON {
        [
            "value": .int32(value), "min_range": .double(minRange), "max_range": .double(maxRange),
            "step_size": .double(stepSize),
        ]
    }
}

public protocol Board: Component {
    var analogNames: [String] { get }
    var gpioPins: [String] { get }
    func readAnalog(_ name: String) throws -> AnalogValue
    func readGPIO(_ pin: String) throws -> Bool
}
extension Board {
    /// Analogs: `reader_name` in the parameters reads one reader ({value, min_range, max_range,
    /// step_size}, Viam's ReadAnalogReaderResponse); without it, every reader by name.
    /// Gpios: `pin_name` reads one pin ({high}); without it, every pin by name.
    public func capture(method: String, parameters: BSONDocument) throws -> CaptureOutput {
        switch method {
        case "Analogs":
            if let name = parameters["reader_name"]?.stringValue {
                return .tabular(try readAnalog(name).document.documentValue!)
            }
            return .tabular(["analogs": .document(BSONDocument(try analogNames.map { ($0, try readAnalog($0).document) }))])
        case "Gpios":
            if let pin = parameters["pin_name"]?.stringValue {
                return .tabular(["high": .bool(try readGPIO(pin))])
            }
            return .tabular(["gpios": .document(BSONDocument(try gpioPins.map { ($0, ["high": .bool(try readGPIO($0))]) }))])
        default: throw unknownMethod(method, .board)
        }
    }
}

public protocol Camera: Component {
    /// One image; `mimeType` is the requested type (nil: the camera's default).
    func image(mimeType: String?) throws -> BinaryPayload
    /// Every source's current image.
    func images() throws -> [BinaryPayload]
    /// A point cloud, "pointcloud/pcd".
    func pointCloud() throws -> BinaryPayload
}
extension Camera {
    public func capture(method: String, parameters: BSONDocument) throws -> CaptureOutput {
        switch method {
        case "ReadImage": .binary([try image(mimeType: parameters["mime_type"]?.stringValue)])
        case "GetImages": .binary(try images())
        case "NextPointCloud": .binary([try pointCloud()])
        default: throw unknownMethod(method, .camera)
        }
    }
}

public protocol Encoder: Component {
    /// The position in ticks.
    func ticksCount() throws -> Double
}
extension Encoder {
    public func capture(method: String, parameters: BSONDocument) throws -> CaptureOutput {
        guard method == "TicksCount" else { throw unknownMethod(method, .encoder) }
        return .tabular(["value": .double(try ticksCount()), "position_type": "POSITION_TYPE_TICKS_COUNT"])
    }
}

public protocol Gantry: Component {
    /// Axis lengths and positions in millimetres.
    func lengths() throws -> [Double]
    func position() throws -> [Double]
}
extension Gantry {
    public func capture(method: String, parameters: BSONDocument) throws -> CaptureOutput {
        switch method {
        case "Lengths": .tabular(["lengths_mm": .array(try lengths().map(BSON.double))])
        case "Position": .tabular(["positions_mm": .array(try position().map(BSON.double))])
        default: throw unknownMethod(method, .gantry)
        }
    }
}

public protocol Motor: Component {
    /// Revolutions from home.
    func position() throws -> Double
    /// Whether it is on, and at what fraction of power (-1…1).
    func isPowered() throws -> (isOn: Bool, powerPct: Double)
}
extension Motor {
    public func capture(method: String, parameters: BSONDocument) throws -> CaptureOutput {
        switch method {
        case "Position": return .tabular(["position": .double(try position())])
        case "IsPowered":
            let (isOn, power) = try isPowered()
            return .tabular(["is_on": .bool(isOn), "power_pct": .double(power)])
        default: throw unknownMethod(method, .motor)
        }
    }
}

public protocol MovementSensor: Component {
    func angularVelocity() throws -> Vector3  // degrees/s
    func compassHeading() throws -> Double  // degrees
    func linearAcceleration() throws -> Vector3  // m/s²
    func linearVelocity() throws -> Vector3  // m/s
    func orientation() throws -> Pose  // orientation part only
    func position() throws -> (latitude: Double, longitude: Double, altitudeM: Double)
}
extension MovementSensor {
    public func capture(method: String, parameters: BSONDocument) throws -> CaptureOutput {
        switch method {
        case "AngularVelocity": return .tabular(["angular_velocity": try angularVelocity().document])
        case "CompassHeading": return .tabular(["value": .double(try compassHeading())])
        case "LinearAcceleration": return .tabular(["linear_acceleration": try linearAcceleration().document])
        case "LinearVelocity": return .tabular(["linear_velocity": try linearVelocity().document])
        case "Orientation":
            let o = try orientation()
            return .tabular([
                "orientation": ["o_x": .double(o.oX), "o_y": .double(o.oY), "o_z": .double(o.oZ), "theta": .double(o.theta)]
            ])
        case "Position":
            let p = try position()
            return .tabular([
                "coordinate": ["latitude": .double(p.latitude), "longitude": .double(p.longitude)],
                "altitude_m": .double(p.altitudeM),
            ])
        default: throw unknownMethod(method, .movementSensor)
        }
    }
}

public protocol Servo: Component {
    func positionDegrees() throws -> UInt32
}
extension Servo {
    public func capture(method: String, parameters: BSONDocument) throws -> CaptureOutput {
        guard method == "Position" else { throw unknownMethod(method, .servo) }
        return .tabular(["position_deg": .int64(Int64(try positionDegrees()))])
    }
}
