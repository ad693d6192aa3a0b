import FerryBSON
import FerryLoader
import FerryRemoteParts
import Foundation
import GRPCCore
import SwiftProtobuf
import ViamMachineGRPC
import ViamMachineProtos

// The nine component services: every method Ferry captures, answered by running that capture
// method on the component, plus DoCommand. Methods that move things (SetPower, MoveToPosition…)
// are not served: gRPC answers UNIMPLEMENTED.

extension RPCRouter {
    mutating func doCommand(_ method: MethodDescriptor, api: String, _ access: ResourceAccess) {
        unary(method) { (request: Viam_Common_V1_DoCommandRequest) in try await access.doCommand(api, request) }
    }
}

struct SensorServiceImpl: RegistrableRPCService {
    typealias Service = Viam_Component_Sensor_V1_SensorService
    static let api = "rdk:component:sensor"
    let access: ResourceAccess

    func registerMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
        router.unary(Service.Method.GetReadings.descriptor) { (request: Viam_Common_V1_GetReadingsRequest) in
            try SensorShapes.readings(try await access.reading(Self.api, request.name, "Readings"), "\(request.name).Readings")
        }
        router.doCommand(Service.Method.DoCommand.descriptor, api: Self.api, access)
    }
}

struct ArmServiceImpl: RegistrableRPCService {
    typealias Service = Viam_Component_Arm_V1_ArmService
    static let api = "rdk:component:arm"
    let access: ResourceAccess

    func registerMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
        router.unary(Service.Method.GetJointPositions.descriptor) { (request: Viam_Component_Arm_V1_GetJointPositionsRequest) in
            try ArmShapes.jointPositions(
                try await access.reading(Self.api, request.name, "JointPositions"), "\(request.name).JointPositions")
        }
        router.unary(Service.Method.GetEndPosition.descriptor) { (request: Viam_Component_Arm_V1_GetEndPositionRequest) in
            try ArmShapes.endPosition(try await access.reading(Self.api, request.name, "EndPosition"), "\(request.name).EndPosition")
        }
        router.doCommand(Service.Method.DoCommand.descriptor, api: Self.api, access)
    }
}

struct BoardServiceImpl: RegistrableRPCService {
    typealias Service = Viam_Component_Board_V1_BoardService
    static let api = "rdk:component:board"
    let access: ResourceAccess

    func registerMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
        router.unary(Service.Method.GetGPIO.descriptor) { (request: Viam_Component_Board_V1_GetGPIORequest) in
            try BoardShapes.gpio(
                try await access.reading(Self.api, request.name, "Gpios", ["pin_name": .string(request.pin)]), "\(request.name).Gpios")
        }
        router.unary(Service.Method.ReadAnalogReader.descriptor) { (request: Viam_Component_Board_V1_ReadAnalogReaderRequest) in
            try BoardShapes.analog(
                try await access.reading(Self.api, request.boardName, "Analogs", ["reader_name": .string(request.analogReaderName)]),
                "\(request.boardName).Analogs")
        }
        router.doCommand(Service.Method.DoCommand.descriptor, api: Self.api, access)
    }
}

struct CameraServiceImpl: RegistrableRPCService {
    typealias Service = Viam_Component_Camera_V1_CameraService
    static let api = "rdk:component:camera"
    let access: ResourceAccess

    func registerMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
        router.unary(Service.Method.GetImages.descriptor) { (request: Viam_Component_Camera_V1_GetImagesRequest) in
            let payloads = try await access.payloads(Self.api, request.name, "GetImages")
            var response = Viam_Component_Camera_V1_GetImagesResponse()
            response.images = CameraShapes.images(payloads, camera: request.name).filter {
                request.filterSourceNames.isEmpty || request.filterSourceNames.contains($0.sourceName)
            }
            response.responseMetadata.capturedAt = Google_Protobuf_Timestamp(date: Date())
            return response
        }
        router.unary(Service.Method.GetPointCloud.descriptor) { (request: Viam_Component_Camera_V1_GetPointCloudRequest) in
            let cloud = try await access.payloads(Self.api, request.name, "NextPointCloud")[0]
            var response = Viam_Component_Camera_V1_GetPointCloudResponse()
            response.mimeType = cloud.mimeType
            response.pointCloud = Data(cloud.bytes)
            return response
        }
        router.doCommand(Service.Method.DoCommand.descriptor, api: Self.api, access)
    }
}

struct EncoderServiceImpl: RegistrableRPCService {
    typealias Service = Viam_Component_Encoder_V1_EncoderService
    static let api = "rdk:component:encoder"
    let access: ResourceAccess

    func registerMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
        router.unary(Service.Method.GetPosition.descriptor) { (request: Viam_Component_Encoder_V1_GetPositionRequest) in
            try EncoderShapes.position(try await access.reading(Self.api, request.name, "TicksCount"), "\(request.name).TicksCount")
        }
        router.doCommand(Service.Method.DoCommand.descriptor, api: Self.api, access)
    }
}

struct GantryServiceImpl: RegistrableRPCService {
    typealias Service = Viam_Component_Gantry_V1_GantryService
    static let api = "rdk:component:gantry"
    let access: ResourceAccess

    func registerMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
        router.unary(Service.Method.GetPosition.descriptor) { (request: Viam_Component_Gantry_V1_GetPositionRequest) in
            try GantryShapes.position(try await access.reading(Self.api, request.name, "Position"), "\(request.name).Position")
        }
        router.unary(Service.Method.GetLengths.descriptor) { (request: Viam_Component_Gantry_V1_GetLengthsRequest) in
            try GantryShapes.lengths(try await access.reading(Self.api, request.name, "Lengths"), "\(request.name).Lengths")
        }
        router.doCommand(Service.Method.DoCommand.descriptor, api: Self.api, access)
    }
}

struct MotorServiceImpl: RegistrableRPCService {
    typealias Service = Viam_Component_Motor_V1_MotorService
    static let api = "rdk:component:motor"
    let access: ResourceAccess

    func registerMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
        router.unary(Service.Method.GetPosition.descriptor) { (request: Viam_Component_Motor_V1_GetPositionRequest) in
            try MotorShapes.position(try await access.reading(Self.api, request.name, "Position"), "\(request.name).Position")
        }
        router.unary(Service.Method.IsPowered.descriptor) { (request: Viam_Component_Motor_V1_IsPoweredRequest) in
            try MotorShapes.isPowered(try await access.reading(Self.api, request.name, "IsPowered"), "\(request.name).IsPowered")
        }
        router.doCommand(Service.Method.DoCommand.descriptor, api: Self.api, access)
    }
}

struct MovementSensorServiceImpl: RegistrableRPCService {
    typealias Service = Viam_Component_Movementsensor_V1_MovementSensorService
    static let api = "rdk:component:movement_sensor"
    let access: ResourceAccess

    func registerMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
        router.unary(Service.Method.GetPosition.descriptor) { (request: Viam_Component_Movementsensor_V1_GetPositionRequest) in
            try MovementSensorShapes.position(try await access.reading(Self.api, request.name, "Position"), "\(request.name).Position")
        }
        router.unary(Service.Method.GetLinearVelocity.descriptor) {
            (request: Viam_Component_Movementsensor_V1_GetLinearVelocityRequest) in
            var response = Viam_Component_Movementsensor_V1_GetLinearVelocityResponse()
            response.linearVelocity = try MovementSensorShapes.vector(
                try await access.reading(Self.api, request.name, "LinearVelocity"), "linear_velocity", "\(request.name).LinearVelocity")
            return response
        }
        router.unary(Service.Method.GetAngularVelocity.descriptor) {
            (request: Viam_Component_Movementsensor_V1_GetAngularVelocityRequest) in
            var response = Viam_Component_Movementsensor_V1_GetAngularVelocityResponse()
            response.angularVelocity = try MovementSensorShapes.vector(
                try await access.reading(Self.api, request.name, "AngularVelocity"), "angular_velocity", "\(request.name).AngularVelocity")
            return response
        }
        router.unary(Service.Method.GetLinearAcceleration.descriptor) {
            (request: Viam_Component_Movementsensor_V1_GetLinearAccelerationRequest) in
            var response = Viam_Component_Movementsensor_V1_GetLinearAccelerationResponse()
            response.linearAcceleration = try MovementSensorShapes.vector(
                try await access.reading(Self.api, request.name, "LinearAcceleration"), "linear_acceleration",
                "\(request.name).LinearAcceleration")
            return response
        }
        router.unary(Service.Method.GetCompassHeading.descriptor) {
            (request: Viam_Component_Movementsensor_V1_GetCompassHeadingRequest) in
            try MovementSensorShapes.compassHeading(
                try await access.reading(Self.api, request.name, "CompassHeading"), "\(request.name).CompassHeading")
        }
        router.unary(Service.Method.GetOrientation.descriptor) { (request: Viam_Component_Movementsensor_V1_GetOrientationRequest) in
            try MovementSensorShapes.orientation(
                try await access.reading(Self.api, request.name, "Orientation"), "\(request.name).Orientation")
        }
        router.doCommand(Service.Method.DoCommand.descriptor, api: Self.api, access)
    }
}

struct ServoServiceImpl: RegistrableRPCService {
    typealias Service = Viam_Component_Servo_V1_ServoService
    static let api = "rdk:component:servo"
    let access: ResourceAccess

    func registerMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
        router.unary(Service.Method.GetPosition.descriptor) { (request: Viam_Component_Servo_V1_GetPositionRequest) in
            try ServoShapes.position(try await access.reading(Self.api, request.name, "Position"), "\(request.name).Position")
        }
        router.doCommand(Service.Method.DoCommand.descriptor, api: Self.api, access)
    }
}
