import FerryBSON
import FerryCapture
import FerryCaptureFile
import FerryLoader
import Foundation
import GRPCCore
import SwiftProtobuf
import ViamMachineProtos

// The readings Ferry's capture methods produce are Viam's response messages with proto field
// names (FerrySDK's typed protocols build them so). These conversions go both ways: a reading to
// the response the machine API sends, and a response a remote part sent back to the reading this
// host captures, so a resource captured through a remote gives the same documents as captured
// where it lives.

/// float32 wire fields back to the decimal they were written as (3.3, not 3.299999952316284).
package func decimal(_ value: Float) -> Double { Double(String(describing: value)) ?? Double(value) }

package enum ArmShapes {
    package static func jointPositions(_ reading: BSONDocument, _ what: String) throws -> Viam_Component_Arm_V1_GetJointPositionsResponse {
        var response = Viam_Component_Arm_V1_GetJointPositionsResponse()
        response.positions.values = try ReadingFields(reading, what).object("positions").doubles("values")
        return response
    }
    package static func jointPositions(_ response: Viam_Component_Arm_V1_GetJointPositionsResponse) -> BSONDocument {
        ["positions": ["values": .array(response.positions.values.map(BSON.double))]]
    }

    package static func endPosition(_ reading: BSONDocument, _ what: String) throws -> Viam_Component_Arm_V1_GetEndPositionResponse {
        var response = Viam_Component_Arm_V1_GetEndPositionResponse()
        response.pose = try PoseShapes.pose(try ReadingFields(reading, what).object("pose"))
        return response
    }
    package static func endPosition(_ response: Viam_Component_Arm_V1_GetEndPositionResponse) -> BSONDocument {
        ["pose": .document(PoseShapes.document(response.pose))]
    }
}

package enum PoseShapes {
    package static func pose(_ fields: ReadingFields) throws -> Viam_Common_V1_Pose {
        var pose = Viam_Common_V1_Pose()
        (pose.x, pose.y, pose.z) = (try fields.double("x"), try fields.double("y"), try fields.double("z"))
        (pose.oX, pose.oY, pose.oZ, pose.theta) = (
            try fields.double("o_x"), try fields.double("o_y"), try fields.double("o_z"), try fields.double("theta")
        )
        return pose
    }
    package static func document(_ pose: Viam_Common_V1_Pose) -> BSONDocument {
        [
            "x": .double(pose.x), "y": .double(pose.y), "z": .double(pose.z), "o_x": .double(pose.oX), "o_y": .double(pose.oY),
            "o_z": .double(pose.oZ), "theta": .double(pose.theta),
        ]
    }
    package static func vector(_ fields: ReadingFields) throws -> Viam_Common_V1_Vector3 {
        var vector = Viam_Common_V1_Vector3()
        (vector.x, vector.y, vector.z) = (try fields.double("x"), try fields.double("y"), try fields.double("z"))
        return vector
    }
    package static func document(_ vector: Viam_Common_V1_Vector3) -> BSONDocument {
        ["x": .double(vector.x), "y": .double(vector.y), "z": .double(vector.z)]
    }
}

package enum BoardShapes {
    package static func gpio(_ reading: BSONDocument, _ what: String) throws -> Viam_Component_Board_V1_GetGPIOResponse {
        var response = Viam_Component_Board_V1_GetGPIOResponse()
        response.high = try ReadingFields(reading, what).bool("high")
        return response
    }
    package static func gpio(_ response: Viam_Component_Board_V1_GetGPIOResponse) -> BSONDocument { ["high": .bool(response.high)] }

    package static func analog(_ reading: BSONDocument, _ what: String) throws -> Viam_Component_Board_V1_ReadAnalogReaderResponse {
        let fields = ReadingFields(reading, what)
        var response = Viam_Component_Board_V1_ReadAnalogReaderResponse()
        guard let value = reading["value"]?.int64Value, let int = Int32(exactly: value) else { throw fields.wrong("value", "an integer") }
        response.value = int
        response.minRange = Float(try fields.double("min_range"))
        response.maxRange = Float(try fields.double("max_range"))
        response.stepSize = Float(try fields.double("step_size"))
        return response
    }
    package static func analog(_ response: Viam_Component_Board_V1_ReadAnalogReaderResponse) -> BSONDocument {
        [
            "value": .int32(response.value), "min_range": .double(decimal(response.minRange)),
            "max_range": .double(decimal(response.maxRange)), "step_size": .double(decimal(response.stepSize)),
        ]
    }
}

package enum EncoderShapes {
    static let positionTypes: [String: Viam_Component_Encoder_V1_PositionType] = [
        "POSITION_TYPE_UNSPECIFIED": .unspecified, "POSITION_TYPE_TICKS_COUNT": .ticksCount,
        "POSITION_TYPE_ANGLE_DEGREES": .angleDegrees,
    ]
    package static func position(_ reading: BSONDocument, _ what: String) throws -> Viam_Component_Encoder_V1_GetPositionResponse {
        let fields = ReadingFields(reading, what)
        var response = Viam_Component_Encoder_V1_GetPositionResponse()
        response.value = Float(try fields.double("value"))
        guard let type = positionTypes[reading["position_type"]?.stringValue ?? "POSITION_TYPE_TICKS_COUNT"] else {
            throw fields.wrong("position_type", positionTypes.keys.sorted().joined(separator: " or "))
        }
        response.positionType = type
        return response
    }
    package static func position(_ response: Viam_Component_Encoder_V1_GetPositionResponse) -> BSONDocument {
        let name = positionTypes.first { $0.value == response.positionType }?.key ?? "POSITION_TYPE_UNSPECIFIED"
        return ["value": .double(decimal(response.value)), "position_type": .string(name)]
    }
}

package enum GantryShapes {
    package static func position(_ reading: BSONDocument, _ what: String) throws -> Viam_Component_Gantry_V1_GetPositionResponse {
        var response = Viam_Component_Gantry_V1_GetPositionResponse()
        response.positionsMm = try ReadingFields(reading, what).doubles("positions_mm")
        return response
    }
    package static func position(_ response: Viam_Component_Gantry_V1_GetPositionResponse) -> BSONDocument {
        ["positions_mm": .array(response.positionsMm.map(BSON.double))]
    }
    package static func lengths(_ reading: BSONDocument, _ what: String) throws -> Viam_Component_Gantry_V1_GetLengthsResponse {
        var response = Viam_Component_Gantry_V1_GetLengthsResponse()
        response.lengthsMm = try ReadingFields(reading, what).doubles("lengths_mm")
        return response
    }
    package static func lengths(_ response: Viam_Component_Gantry_V1_GetLengthsResponse) -> BSONDocument {
        ["lengths_mm": .array(response.lengthsMm.map(BSON.double))]
    }
}

package enum MotorShapes {
    package static func position(_ reading: BSONDocument, _ what: String) throws -> Viam_Component_Motor_V1_GetPositionResponse {
        var response = Viam_Component_Motor_V1_GetPositionResponse()
        response.position = try ReadingFields(reading, what).double("position")
        return response
    }
    package static func position(_ response: Viam_Component_Motor_V1_GetPositionResponse) -> BSONDocument {
        ["position": .double(response.position)]
    }
    package static func isPowered(_ reading: BSONDocument, _ what: String) throws -> Viam_Component_Motor_V1_IsPoweredResponse {
        let fields = ReadingFields(reading, what)
        var response = Viam_Component_Motor_V1_IsPoweredResponse()
        response.isOn = try fields.bool("is_on")
        response.powerPct = try fields.double("power_pct")
        return response
    }
    package static func isPowered(_ response: Viam_Component_Motor_V1_IsPoweredResponse) -> BSONDocument {
        ["is_on": .bool(response.isOn), "power_pct": .double(response.powerPct)]
    }
}

package enum MovementSensorShapes {
    package typealias Position = Viam_Component_Movementsensor_V1_GetPositionResponse
    package static func position(_ reading: BSONDocument, _ what: String) throws -> Position {
        let fields = ReadingFields(reading, what)
        let coordinate = try fields.object("coordinate")
        var response = Position()
        response.coordinate.latitude = try coordinate.double("latitude")
        response.coordinate.longitude = try coordinate.double("longitude")
        response.altitudeM = Float(try fields.double("altitude_m"))
        return response
    }
    package static func position(_ response: Position) -> BSONDocument {
        [
            "coordinate": ["latitude": .double(response.coordinate.latitude), "longitude": .double(response.coordinate.longitude)],
            "altitude_m": .double(decimal(response.altitudeM)),
        ]
    }

    package static func vector(_ reading: BSONDocument, _ key: String, _ what: String) throws -> Viam_Common_V1_Vector3 {
        try PoseShapes.vector(try ReadingFields(reading, what).object(key))
    }

    package static func compassHeading(_ reading: BSONDocument, _ what: String) throws -> Viam_Component_Movementsensor_V1_GetCompassHeadingResponse {
        var response = Viam_Component_Movementsensor_V1_GetCompassHeadingResponse()
        response.value = try ReadingFields(reading, what).double("value")
        return response
    }

    package static func orientation(_ reading: BSONDocument, _ what: String) throws -> Viam_Component_Movementsensor_V1_GetOrientationResponse {
        let fields = try ReadingFields(reading, what).object("orientation")
        var response = Viam_Component_Movementsensor_V1_GetOrientationResponse()
        response.orientation.oX = try fields.double("o_x")
        response.orientation.oY = try fields.double("o_y")
        response.orientation.oZ = try fields.double("o_z")
        response.orientation.theta = try fields.double("theta")
        return response
    }
    package static func orientation(_ response: Viam_Component_Movementsensor_V1_GetOrientationResponse) -> BSONDocument {
        let o = response.orientation
        return ["orientation": ["o_x": .double(o.oX), "o_y": .double(o.oY), "o_z": .double(o.oZ), "theta": .double(o.theta)]]
    }
}

package enum ServoShapes {
    package static func position(_ reading: BSONDocument, _ what: String) throws -> Viam_Component_Servo_V1_GetPositionResponse {
        var response = Viam_Component_Servo_V1_GetPositionResponse()
        guard let degrees = reading["position_deg"]?.int64Value, let value = UInt32(exactly: degrees) else {
            throw ReadingFields(reading, what).wrong("position_deg", "an integer from 0")
        }
        response.positionDeg = value
        return response
    }
    package static func position(_ response: Viam_Component_Servo_V1_GetPositionResponse) -> BSONDocument {
        ["position_deg": .int64(Int64(response.positionDeg))]
    }
}

package enum SensorShapes {
    package static func readings(_ reading: BSONDocument, _ what: String) throws -> Viam_Common_V1_GetReadingsResponse {
        var response = Viam_Common_V1_GetReadingsResponse()
        response.readings = StructConversion.struct(from: try ReadingFields(reading, what).object("readings").document).fields
        return response
    }
    package static func readings(_ response: Viam_Common_V1_GetReadingsResponse) -> BSONDocument {
        var value = Google_Protobuf_Struct()
        value.fields = response.readings
        return ["readings": .document(StructConversion.document(from: value))]
    }
}

package enum CameraShapes {
    /// A camera's payloads as named images: the first is named after the camera, the others
    /// `<camera>-<index>` (plugins hand payloads over without names).
    package static func images(_ payloads: [CapturedBinary], camera: String) -> [Viam_Component_Camera_V1_Image] {
        payloads.enumerated().map { index, payload in
            var image = Viam_Component_Camera_V1_Image()
            image.sourceName = index == 0 ? camera : "\(camera)-\(index)"
            image.mimeType = payload.mimeType
            image.image = Data(payload.bytes)
            return image
        }
    }

    package static func payloads(_ images: [Viam_Component_Camera_V1_Image]) -> [CapturedBinary] {
        images.map { CapturedBinary(bytes: [UInt8]($0.image), mimeType: $0.mimeType.isEmpty ? "application/octet-stream" : $0.mimeType) }
    }
}

/// A reading's fields, with errors that say which field of which method's reading is wrong.
package struct ReadingFields {
    package let document: BSONDocument
    package let what: String

    package init(_ document: BSONDocument, _ what: String) {
        self.document = document
        self.what = what
    }

    package func wrong(_ key: String, _ expected: String) -> RPCError {
        RPCError(code: .internalError, message: "\(what) returned \(document.extendedJSON(.relaxed)): \(key) must be \(expected)")
    }

    package func double(_ key: String) throws -> Double {
        guard let value = document[key]?.doubleValue else { throw wrong(key, "a number") }
        return value
    }

    package func bool(_ key: String) throws -> Bool {
        guard let value = document[key]?.boolValue else { throw wrong(key, "true or false") }
        return value
    }

    package func doubles(_ key: String) throws -> [Double] {
        guard let values = document[key]?.arrayValue?.compactMap(\.doubleValue), values.count == document[key]?.arrayValue?.count
        else { throw wrong(key, "an array of numbers") }
        return values
    }

    package func object(_ key: String) throws -> ReadingFields {
        guard let inner = document[key]?.documentValue else { throw wrong(key, "an object") }
        return ReadingFields(inner, "\(what).\(key)")
    }
}
