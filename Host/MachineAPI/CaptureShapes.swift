import FerryBSON
import FerryCapture
import FerryCaptureFile
import GRPCCore
import SwiftProtobuf
import ViamMachineProtos

// The readings Ferry's capture methods produce are Viam's response messages with proto field
// names (FerrySDK's typed protocols build them so). These conversions go both ways: a reading to
// the response the machine API sends, and a response a remote part sent back to the reading this
// host captures, so a resource captured through a remote gives the same documents as captured
// where it lives.

/// float32 wire fields back to the decimal they were written as (3.3, not 3.299999952316284).
func decimal(_ value: Float) -> Double { Double(String(describing: value)) ?? Double(value) }

enum ArmShapes {
    static func jointPositions(_ reading: BSONDocument, _ what: String) throws -> Viam_Component_Arm_V1_GetJointPositionsResponse {
        var response = Viam_Component_Arm_V1_GetJointPositionsResponse()
        response.positions.values = try ReadingFields(reading, what).object("positions").doubles("values")
        return response
    }
    static func jointPositions(_ response: Viam_Component_Arm_V1_GetJointPositionsResponse) -> BSONDocument {
        ["positions": ["values": .array(response.positions.values.map(BSON.double))]]
    }

    static func endPosition(_ reading: BSONDocument, _ what: String) throws -> Viam_Component_Arm_V1_GetEndPositionResponse {
        var response = Viam_Component_Arm_V1_GetEndPositionResponse()
        response.pose = try PoseShapes.pose(try ReadingFields(reading, what).object("pose"))
        return response
    }
    static func endPosition(_ response: Viam_Component_Arm_V1_GetEndPositionResponse) -> BSONDocument {
        ["pose": .document(PoseShapes.document(response.pose))]
    }
}

enum PoseShapes {
    static func pose(_ fields: ReadingFields) throws -> Viam_Common_V1_Pose {
        var pose = Viam_Common_V1_Pose()
        (pose.x, pose.y, pose.z) = (try fields.double("x"), try fields.double("y"), try fields.double("z"))
        (pose.oX, pose.oY, pose.oZ, pose.theta) = (
            try fields.double("o_x"), try fields.double("o_y"), try fields.double("o_z"), try fields.double("theta")
        )
        return pose
    }
    static func document(_ pose: Viam_Common_V1_Pose) -> BSONDocument {
        [
            "x": .double(pose.x), "y": .double(pose.y), "z": .double(pose.z), "o_x": .double(pose.oX), "o_y": .double(pose.oY),
            "o_z": .double(pose.oZ), "theta": .double(pose.theta),
        ]
    }
    static func vector(_ fields: ReadingFields) throws -> Viam_Common_V1_Vector3 {
        var vector = Viam_Common_V1_Vector3()
        (vector.x, vector.y, vector.z) = (try fields.double("x"), try fields.double("y"), try fields.double("z"))
        return vector
    }
    static func document(_ vector: Viam_Common_V1_Vector3) -> BSONDocument {
        ["x": .double(vector.x), "y": .double(vector.y), "z": .double(vector.z)]
    }
}

enum BoardShapes {
    static func gpio(_ reading: BSONDocument, _ what: String) throws -> Viam_Component_Board_V1_GetGPIOResponse {
        var response = Viam_Component_Board_V1_GetGPIOResponse()
        response.high = try ReadingFields(reading, what).bool("high")
        return response
    }
    static func gpio(_ response: Viam_Component_Board_V1_GetGPIOResponse) -> BSONDocument { ["high": .bool(response.high)] }

    static func analog(_ reading: BSONDocument, _ what: String) throws -> Viam_Component_Board_V1_ReadAnalogReaderResponse {
        let fields = ReadingFields(reading, what)
        var response = Viam_Component_Board_V1_ReadAnalogReaderResponse()
        guard let value = reading["value"]?.int64Value, let int = Int32(exactly: value) else { throw fields.wrong("value", "an integer") }
        response.value = int
        response.minRange = Float(try fields.double("min_range"))
        response.maxRange = Float(try fields.double("max_range"))
        response.stepSize = Float(try fields.double("step_size"))
        return response
    }
    static func analog(_ response: Viam_Component_Board_V1_ReadAnalogReaderResponse) -> BSONDocument {
        [
            "value": .int32(response.value), "min_range": .double(decimal(response.minRange)),
            "max_range": .double(decimal(response.maxRange)), "step_size": .double(decimal(response.stepSize)),
        ]
    }
}

enum EncoderShapes {
    static let positionTypes: [String: Viam_Component_Encoder_V1_PositionType] = [
        "POSITION_TYPE_UNSPECIFIED": .unspecified, "POSITION_TYPE_TICKS_COUNT": .ticksCount,
        "POSITION_TYPE_ANGLE_DEGREES": .angleDegrees,
    ]
    static func position(_ reading: BSONDocument, _ what: String) throws -> Viam_Component_Encoder_V1_GetPositionResponse {
        let fields = ReadingFields(reading, what)
        var response = Viam_Component_Encoder_V1_GetPositionResponse()
        response.value = Float(try fields.double("value"))
        guard let type = positionTypes[reading["position_type"]?.stringValue ?? "POSITION_TYPE_TICKS_COUNT"] else {
            throw fields.wrong("position_type", positionTypes.keys.sorted().joined(separator: " or "))
        }
        response.positionType = type
        return response
    }
    static func position(_ response: Viam_Component_Encoder_V1_GetPositionResponse) -> BSONDocument {
        let name = positionTypes.first { $0.value == response.positionType }?.key ?? "POSITION_TYPE_UNSPECIFIED"
        return ["value": .double(decimal(response.value)), "position_type": .string(name)]
    }
}

enum GantryShapes {
    static func position(_ reading: BSONDocument, _ what: String) throws -> Viam_Component_Gantry_V1_GetPositionResponse {
        var response = Viam_Component_Gantry_V1_GetPositionResponse()
        response.positionsMm = try ReadingFields(reading, what).doubles("positions_mm")
        return response
    }
    static func position(_ response: Viam_Component_Gantry_V1_GetPositionResponse) -> BSONDocument {
        ["positions_mm": .array(response.positionsMm.map(BSON.double))]
    }
    static func lengths(_ reading: BSONDocument, _ what: String) throws -> Viam_Component_Gantry_V1_GetLengthsResponse {
        var response = Viam_Component_Gantry_V1_GetLengthsResponse()
        response.lengthsMm = try ReadingFields(reading, what).doubles("lengths_mm")
        return response
    }
    static func lengths(_ response: Viam_Component_Gantry_V1_GetLengthsResponse) -> BSONDocument {
        ["lengths_mm": .array(response.lengthsMm.map(BSON.double))]
    }
}

enum MotorShapes {
    static func position(_ reading: BSONDocument, _ what: String) throws -> Viam_Component_Motor_V1_GetPositionResponse {
        var response = Viam_Component_Motor_V1_GetPositionResponse()
        response.position = try ReadingFields(reading, what).double("position")
        return response
    }
    static func position(_ response: Viam_Component_Motor_V1_GetPositionResponse) -> BSONDocument {
        ["position": .double(response.position)]
    }
    static func isPowered(_ reading: BSONDocument, _ what: String) throws -> Viam_Component_Motor_V1_IsPoweredResponse {
        let fields = ReadingFields(reading, what)
        var response = Viam_Component_Motor_V1_IsPoweredResponse()
        response.isOn = try fields.bool("is_on")
        response.powerPct = try fields.double("power_pct")
        return response
    }
    static func isPowered(_ response: Viam_Component_Motor_V1_IsPoweredResponse) -> BSONDocument {
        ["is_on": .bool(response.isOn), "power_pct": .double(response.powerPct)]
    }
}

enum MovementSensorShapes {
    typealias Position = Viam_Component_Movementsensor_V1_GetPositionResponse
    static func position(_ reading: BSONDocument, _ what: String) throws -> Position {
        let fields = ReadingFields(reading, what)
        let coordinate = try fields.object("coordinate")
        var response = Position()
        response.coordinate.latitude = try coordinate.double("latitude")
        response.coordinate.longitude = try coordinate.double("longitude")
        response.altitudeM = Float(try fields.double("altitude_m"))
        return response
    }
    static func position(_ response: Position) -> BSONDocument {
        [
            "coordinate": ["latitude": .double(response.coordinate.latitude), "longitude": .double(response.coordinate.longitude)],
            "altitude_m": .double(decimal(response.altitudeM)),
        ]
    }

    static func vector(_ reading: BSONDocument, _ key: String, _ what: String) throws -> Viam_Common_V1_Vector3 {
        try PoseShapes.vector(try ReadingFields(reading, what).object(key))
    }

    static func compassHeading(_ reading: BSONDocument, _ what: String) throws -> Viam_Component_Movementsensor_V1_GetCompassHeadingResponse {
        var response = Viam_Component_Movementsensor_V1_GetCompassHeadingResponse()
        response.value = try ReadingFields(reading, what).double("value")
        return response
    }

    static func orientation(_ reading: BSONDocument, _ what: String) throws -> Viam_Component_Movementsensor_V1_GetOrientationResponse {
        let fields = try ReadingFields(reading, what).object("orientation")
        var response = Viam_Component_Movementsensor_V1_GetOrientationResponse()
        response.orientation.oX = try fields.double("o_x")
        response.orientation.oY = try fields.double("o_y")
        response.orientation.oZ = try fields.double("o_z")
        response.orientation.theta = try fields.double("theta")
        return response
    }
    static func orientation(_ response: Viam_Component_Movementsensor_V1_GetOrientationResponse) -> BSONDocument {
        let o = response.orientation
        return ["orientation": ["o_x": .double(o.oX), "o_y": .double(o.oY), "o_z": .double(o.oZ), "theta": .double(o.theta)]]
    }
}

enum ServoShapes {
    static func position(_ reading: BSONDocument, _ what: String) throws -> Viam_Component_Servo_V1_GetPositionResponse {
        var response = Viam_Component_Servo_V1_GetPositionResponse()
        guard let degrees = reading["position_deg"]?.int64Value, let value = UInt32(exactly: degrees) else {
            throw ReadingFields(reading, what).wrong("position_deg", "an integer from 0")
        }
        response.positionDeg = value
        return response
    }
    static func position(_ response: Viam_Component_Servo_V1_GetPositionResponse) -> BSONDocument {
        ["position_deg": .int64(Int64(response.positionDeg))]
    }
}

enum SensorShapes {
    static func readings(_ reading: BSONDocument, _ what: String) throws -> Viam_Common_V1_GetReadingsResponse {
        var response = Viam_Common_V1_GetReadingsResponse()
        response.readings = StructConversion.struct(from: try ReadingFields(reading, what).object("readings").document).fields
        return response
    }
    static func readings(_ response: Viam_Common_V1_GetReadingsResponse) -> BSONDocument {
        var value = Google_Protobuf_Struct()
        value.fields = response.readings
        return ["readings": .document(StructConversion.document(from: value))]
    }
}
