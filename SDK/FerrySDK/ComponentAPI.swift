/// The component APIs Ferry knows, with the capture methods Viam's data manager lists for each.
public enum ComponentAPI: String, CaseIterable, Sendable {
    case arm = "rdk:component:arm"
    case board = "rdk:component:board"
    case camera = "rdk:component:camera"
    case encoder = "rdk:component:encoder"
    case gantry = "rdk:component:gantry"
    case motor = "rdk:component:motor"
    case movementSensor = "rdk:component:movement_sensor"
    case sensor = "rdk:component:sensor"
    case servo = "rdk:component:servo"

    public var captureMethods: [String] {
        switch self {
        case .arm: ["EndPosition", "JointPositions"]
        case .board: ["Analogs", "Gpios"]
        case .camera: ["GetImages", "ReadImage", "NextPointCloud"]
        case .encoder: ["TicksCount"]
        case .gantry: ["Lengths", "Position"]
        case .motor: ["Position", "IsPowered"]
        case .movementSensor:
            ["AngularVelocity", "CompassHeading", "LinearAcceleration", "LinearVelocity", "Orientation", "Position"]
        case .sensor: ["Readings"]
        case .servo: ["Position"]
        }
    }

    /// Methods whose output is binary (their own capture files) rather than a tabular reading.
    public var binaryCaptureMethods: Set<String> {
        self == .camera ? ["GetImages", "ReadImage", "NextPointCloud"] : []
    }
}
