import FerryBSON
import FerryLoader
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import ViamMachineGRPC
import ViamMachineProtos

/// The machine API calls that stand for each capture method, as this host makes them on a remote
/// part: Readings is SensorService.GetReadings, Analogs is BoardService.ReadAnalogReader… The
/// responses come back as the same readings the remote would capture itself (`CaptureShapes`).
enum RemoteCalls {
    typealias Client = GRPCClient<HTTP2ClientTransport.Posix>

    /// The capture methods a remote resource of each API can be captured with.
    static let methods: [String: [String]] = [
        "rdk:component:arm": ["EndPosition", "JointPositions"],
        "rdk:component:board": ["Analogs", "Gpios"],
        "rdk:component:camera": ["GetImages", "ReadImage", "NextPointCloud"],
        "rdk:component:encoder": ["TicksCount"],
        "rdk:component:gantry": ["Lengths", "Position"],
        "rdk:component:motor": ["Position", "IsPowered"],
        "rdk:component:movement_sensor": [
            "AngularVelocity", "CompassHeading", "LinearAcceleration", "LinearVelocity", "Orientation", "Position",
        ],
        "rdk:component:sensor": ["Readings"],
        "rdk:component:servo": ["Position"],
    ]

    /// Why a remote's `api` resource cannot be captured with `method` (nil: it can).
    static func problem(api: String, method: String, parameters: BSONDocument) -> String? {
        guard let known = methods[api] else {
            return "\(api) resources cannot be captured from a remote part; these can: \(methods.keys.sorted().joined(separator: ", "))"
        }
        guard known.contains(method) else {
            return "\"\(method)\" is not a capture method of \(api); it has \(known.joined(separator: ", "))"
        }
        // The API reads one reader or pin at a time, so the remote capture must say which (as Viam requires).
        if api == "rdk:component:board", method == "Analogs", parameters["reader_name"]?.stringValue == nil {
            return "Analogs of a remote board needs additional_params.reader_name (the analog reader to read)"
        }
        if api == "rdk:component:board", method == "Gpios", parameters["pin_name"]?.stringValue == nil {
            return "Gpios of a remote board needs additional_params.pin_name (the pin to read)"
        }
        return nil
    }

    static func capture(
        _ client: Client, api: String, resource name: String, method: String, parameters: BSONDocument, metadata: Metadata,
        options: CallOptions
    ) async throws -> CapturedValue {
        func tabular(_ document: BSONDocument) -> CapturedValue { .tabular(document) }
        switch (api, method) {
        case ("rdk:component:sensor", "Readings"):
            var request = Viam_Common_V1_GetReadingsRequest()
            request.name = name
            let response = try await Viam_Component_Sensor_V1_SensorService.Client(wrapping: client).getReadings(
                request, metadata: metadata, options: options)
            return tabular(SensorShapes.readings(response))

        case ("rdk:component:arm", "JointPositions"):
            var request = Viam_Component_Arm_V1_GetJointPositionsRequest()
            request.name = name
            let arm = Viam_Component_Arm_V1_ArmService.Client(wrapping: client)
            return tabular(ArmShapes.jointPositions(try await arm.getJointPositions(request, metadata: metadata, options: options)))
        case ("rdk:component:arm", "EndPosition"):
            var request = Viam_Component_Arm_V1_GetEndPositionRequest()
            request.name = name
            let arm = Viam_Component_Arm_V1_ArmService.Client(wrapping: client)
            return tabular(ArmShapes.endPosition(try await arm.getEndPosition(request, metadata: metadata, options: options)))

        case ("rdk:component:board", "Analogs"):
            var request = Viam_Component_Board_V1_ReadAnalogReaderRequest()
            request.boardName = name
            request.analogReaderName = parameters["reader_name"]?.stringValue ?? ""
            let board = Viam_Component_Board_V1_BoardService.Client(wrapping: client)
            return tabular(BoardShapes.analog(try await board.readAnalogReader(request, metadata: metadata, options: options)))
        case ("rdk:component:board", "Gpios"):
            var request = Viam_Component_Board_V1_GetGPIORequest()
            request.name = name
            request.pin = parameters["pin_name"]?.stringValue ?? ""
            let board = Viam_Component_Board_V1_BoardService.Client(wrapping: client)
            return tabular(BoardShapes.gpio(try await board.getGPIO(request, metadata: metadata, options: options)))

        case ("rdk:component:camera", "GetImages"), ("rdk:component:camera", "ReadImage"):
            var request = Viam_Component_Camera_V1_GetImagesRequest()
            request.name = name
            let camera = Viam_Component_Camera_V1_CameraService.Client(wrapping: client)
            var payloads = CameraShapes.payloads(try await camera.getImages(request, metadata: metadata, options: options).images)
            if method == "ReadImage" {
                // One image: of the requested type when the camera has one, else its first.
                let wanted = parameters["mime_type"]?.stringValue
                payloads = Array((payloads.first { $0.mimeType == wanted } ?? payloads.first).map { [$0] } ?? [])
            }
            guard !payloads.isEmpty else { throw RPCError(code: .internalError, message: "camera \(name) returned no image") }
            return .binary(payloads)
        case ("rdk:component:camera", "NextPointCloud"):
            var request = Viam_Component_Camera_V1_GetPointCloudRequest()
            request.name = name
            request.mimeType = "pointcloud/pcd"
            let camera = Viam_Component_Camera_V1_CameraService.Client(wrapping: client)
            let response = try await camera.getPointCloud(request, metadata: metadata, options: options)
            return .binary([CapturedBinary(bytes: [UInt8](response.pointCloud), mimeType: response.mimeType)])

        case ("rdk:component:encoder", "TicksCount"):
            var request = Viam_Component_Encoder_V1_GetPositionRequest()
            request.name = name
            request.positionType = .ticksCount
            let encoder = Viam_Component_Encoder_V1_EncoderService.Client(wrapping: client)
            return tabular(EncoderShapes.position(try await encoder.getPosition(request, metadata: metadata, options: options)))

        case ("rdk:component:gantry", "Position"):
            var request = Viam_Component_Gantry_V1_GetPositionRequest()
            request.name = name
            let gantry = Viam_Component_Gantry_V1_GantryService.Client(wrapping: client)
            return tabular(GantryShapes.position(try await gantry.getPosition(request, metadata: metadata, options: options)))
        case ("rdk:component:gantry", "Lengths"):
            var request = Viam_Component_Gantry_V1_GetLengthsRequest()
            request.name = name
            let gantry = Viam_Component_Gantry_V1_GantryService.Client(wrapping: client)
            return tabular(GantryShapes.lengths(try await gantry.getLengths(request, metadata: metadata, options: options)))

        case ("rdk:component:motor", "Position"):
            var request = Viam_Component_Motor_V1_GetPositionRequest()
            request.name = name
            let motor = Viam_Component_Motor_V1_MotorService.Client(wrapping: client)
            return tabular(MotorShapes.position(try await motor.getPosition(request, metadata: metadata, options: options)))
        case ("rdk:component:motor", "IsPowered"):
            var request = Viam_Component_Motor_V1_IsPoweredRequest()
            request.name = name
            let motor = Viam_Component_Motor_V1_MotorService.Client(wrapping: client)
            return tabular(MotorShapes.isPowered(try await motor.isPowered(request, metadata: metadata, options: options)))

        case ("rdk:component:movement_sensor", _):
            return tabular(try await movementSensor(client, name, method, metadata, options))

        case ("rdk:component:servo", "Position"):
            var request = Viam_Component_Servo_V1_GetPositionRequest()
            request.name = name
            let servo = Viam_Component_Servo_V1_ServoService.Client(wrapping: client)
            return tabular(ServoShapes.position(try await servo.getPosition(request, metadata: metadata, options: options)))

        default:
            throw RPCError(code: .unimplemented, message: problem(api: api, method: method, parameters: parameters) ?? "\(api) \(method)")
        }
    }

    static func movementSensor(
        _ client: Client, _ name: String, _ method: String, _ metadata: Metadata, _ options: CallOptions
    ) async throws -> BSONDocument {
        typealias Service = Viam_Component_Movementsensor_V1_MovementSensorService
        let sensor = Service.Client(wrapping: client)
        switch method {
        case "Position":
            var request = Viam_Component_Movementsensor_V1_GetPositionRequest()
            request.name = name
            return MovementSensorShapes.position(try await sensor.getPosition(request, metadata: metadata, options: options))
        case "LinearVelocity":
            var request = Viam_Component_Movementsensor_V1_GetLinearVelocityRequest()
            request.name = name
            let response = try await sensor.getLinearVelocity(request, metadata: metadata, options: options)
            return ["linear_velocity": .document(PoseShapes.document(response.linearVelocity))]
        case "AngularVelocity":
            var request = Viam_Component_Movementsensor_V1_GetAngularVelocityRequest()
            request.name = name
            let response = try await sensor.getAngularVelocity(request, metadata: metadata, options: options)
            return ["angular_velocity": .document(PoseShapes.document(response.angularVelocity))]
        case "LinearAcceleration":
            var request = Viam_Component_Movementsensor_V1_GetLinearAccelerationRequest()
            request.name = name
            let response = try await sensor.getLinearAcceleration(request, metadata: metadata, options: options)
            return ["linear_acceleration": .document(PoseShapes.document(response.linearAcceleration))]
        case "CompassHeading":
            var request = Viam_Component_Movementsensor_V1_GetCompassHeadingRequest()
            request.name = name
            return ["value": .double(try await sensor.getCompassHeading(request, metadata: metadata, options: options).value)]
        case "Orientation":
            var request = Viam_Component_Movementsensor_V1_GetOrientationRequest()
            request.name = name
            return MovementSensorShapes.orientation(try await sensor.getOrientation(request, metadata: metadata, options: options))
        default:
            throw RPCError(code: .unimplemented, message: "\(method) is not a movement sensor capture method")
        }
    }
}
