import FerryBSON
import FerryLoader

/// What one capture produced, reduced to what must stay the same from one capture to the next:
/// a reading's structure (keys and value kinds, not values), or each payload's type and size.
enum Shape: Equatable, CustomStringConvertible {
    case tabular(String)
    case binary([String])

    var description: String {
        switch self {
        case .tabular(let structure): structure
        case .binary(let payloads): payloads.joined(separator: ", ")
        }
    }
}

struct ShapeError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// The document shapes each component API's capture methods must produce (the shapes Viam's data
/// manager stores; see SDK/README.md), and the image checks for cameras.
struct Expectations {
    let api: String
    let attributes: BSONDocument

    /// Capture methods each API may advertise.
    static let methods: [String: Set<String>] = [
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

    /// The image size the attributes promise (`width_px`/`height_px` as the webcam has them, or
    /// `width`/`height`), if they name one.
    var advertisedSize: (width: Int, height: Int)? {
        for (w, h) in [("width_px", "height_px"), ("width", "height")] {
            if let width = attributes[w]?.int64Value, let height = attributes[h]?.int64Value { return (Int(width), Int(height)) }
        }
        return nil
    }

    func validate(method: String, _ value: CapturedValue) throws(ShapeError) -> Shape {
        switch value {
        case .tabular(let document):
            try Self.requireFinite(document, path: "")
            try tabular(method, document)
            return .tabular(Self.structure(of: .document(document)))
        case .binary(let payloads):
            guard !payloads.isEmpty else { throw ShapeError("\(method) returned no payload") }
            return .binary(try binary(method, payloads))
        }
    }

    private func tabular(_ method: String, _ d: BSONDocument) throws(ShapeError) {
        switch (api, method) {
        case ("rdk:component:sensor", "Readings"):
            guard let readings = d["readings"]?.documentValue else { throw ShapeError("Readings must be {\"readings\": {name: value, …}}, got keys \(d.keys)") }
            guard !readings.isEmpty else { throw ShapeError("Readings returned an empty map: a sensor must report at least one value") }
        case ("rdk:component:arm", "JointPositions"):
            guard let values = d["positions"]?.documentValue?["values"]?.arrayValue, !values.isEmpty,
                values.allSatisfy({ $0.doubleValue != nil })
            else { throw ShapeError("JointPositions must be {\"positions\": {\"values\": [degrees, …]}} with at least one joint") }
        case ("rdk:component:arm", "EndPosition"):
            try Self.numbers(d["pose"], ["x", "y", "z", "o_x", "o_y", "o_z", "theta"], "EndPosition must be {\"pose\": {x, y, z, o_x, o_y, o_z, theta}}")
        case ("rdk:component:board", "Gpios"):
            if d["high"]?.boolValue != nil { return }
            guard let gpios = d["gpios"]?.documentValue, !gpios.isEmpty else {
                throw ShapeError("Gpios must be {\"gpios\": {pin: {\"high\": bool}, …}} with at least one pin (configure one)")
            }
            for pin in gpios where pin.value.documentValue?["high"]?.boolValue == nil {
                throw ShapeError("Gpios: pin \(pin.key) must be {\"high\": bool}")
            }
        case ("rdk:component:board", "Analogs"):
            if d["value"] != nil {
                try Self.numbers(.document(d), ["value"], "Analogs must be {value, min_range, max_range, step_size}")
                return
            }
            guard let analogs = d["analogs"]?.documentValue, !analogs.isEmpty else {
                throw ShapeError("Analogs must be {\"analogs\": {name: {value, min_range, max_range, step_size}, …}} with at least one reader")
            }
            for reader in analogs {
                try Self.numbers(reader.value, ["value"], "Analogs: reader \(reader.key) must be {value, min_range, max_range, step_size}")
            }
        case ("rdk:component:motor", "Position"):
            try Self.numbers(.document(d), ["position"], "Position must be {\"position\": revolutions}")
        case ("rdk:component:motor", "IsPowered"):
            guard d["is_on"]?.boolValue != nil, let power = d["power_pct"]?.doubleValue else {
                throw ShapeError("IsPowered must be {\"is_on\": bool, \"power_pct\": fraction}")
            }
            guard (-1...1).contains(power) else { throw ShapeError("IsPowered: power_pct \(power) is outside -1…1 (it is a fraction, not a percentage)") }
        case ("rdk:component:encoder", "TicksCount"):
            try Self.numbers(.document(d), ["value"], "TicksCount must be {\"value\": ticks, \"position_type\": …}")
        case ("rdk:component:gantry", "Lengths"):
            try Self.numberArray(d["lengths_mm"], "Lengths must be {\"lengths_mm\": [mm, …]}")
        case ("rdk:component:gantry", "Position"):
            try Self.numberArray(d["positions_mm"], "Position must be {\"positions_mm\": [mm, …]}")
        case ("rdk:component:servo", "Position"):
            try Self.numbers(.document(d), ["position_deg"], "Position must be {\"position_deg\": degrees}")
        case ("rdk:component:camera", _):
            throw ShapeError("\(method) returned a tabular reading; camera methods return binary payloads")
        default:
            guard !d.isEmpty else { throw ShapeError("\(method) returned an empty document") }
        }
    }

    private func binary(_ method: String, _ payloads: [CapturedBinary]) throws(ShapeError) -> [String] {
        guard api == "rdk:component:camera" else {
            return payloads.map { "\($0.mimeType) payload" }
        }
        if method == "NextPointCloud" {
            guard payloads.count == 1, payloads[0].mimeType == "pointcloud/pcd" else {
                throw ShapeError("NextPointCloud must return one pointcloud/pcd payload, got \(payloads.map(\.mimeType))")
            }
            guard String(decoding: payloads[0].bytes.prefix(4096), as: UTF8.self).contains("\nDATA ") else {
                throw ShapeError("NextPointCloud: the PCD has no DATA line in its header")
            }
            return ["pointcloud/pcd"]
        }
        if method == "ReadImage", payloads.count != 1 {
            throw ShapeError("ReadImage must return exactly one image, got \(payloads.count)")
        }
        var shapes: [String] = []
        for (index, payload) in payloads.enumerated() {
            let decoded: ImageCheck.Decoded
            do { decoded = try ImageCheck.decode(payload.bytes, mimeType: payload.mimeType) } catch {
                throw ShapeError("\(method) image \(index + 1): \(error)")
            }
            // The first image is the colour image the attributes describe; later ones (depth) may differ.
            if index == 0, let size = advertisedSize, (decoded.width, decoded.height) != size {
                throw ShapeError(
                    "\(method): the image is \(decoded.width)x\(decoded.height), but the attributes ask for \(size.width)x\(size.height)")
            }
            if index == 0, method == "ReadImage", let wanted = attributes["mime_type"]?.stringValue, wanted != payload.mimeType {
                throw ShapeError("ReadImage: the image is \(payload.mimeType), but attribute mime_type asks for \(wanted)")
            }
            shapes.append("\(payload.mimeType) \(decoded.width)x\(decoded.height)")
        }
        return shapes
    }

    // MARK: Helpers

    static func numbers(_ value: BSON?, _ keys: [String], _ expectation: String) throws(ShapeError) {
        guard let document = value?.documentValue else { throw ShapeError(expectation) }
        for key in keys where document[key]?.doubleValue == nil {
            throw ShapeError("\(expectation): \(key) is missing or not a number")
        }
    }

    static func numberArray(_ value: BSON?, _ expectation: String) throws(ShapeError) {
        guard let array = value?.arrayValue, !array.isEmpty, array.allSatisfy({ $0.doubleValue != nil }) else {
            throw ShapeError(expectation)
        }
    }

    /// NaN and infinities cannot be stored as Viam's readings (protobuf Struct is JSON).
    static func requireFinite(_ document: BSONDocument, path: String) throws(ShapeError) {
        for element in document {
            let here = path.isEmpty ? element.key : "\(path).\(element.key)"
            try requireFinite(element.value, path: here)
        }
    }

    static func requireFinite(_ value: BSON, path: String) throws(ShapeError) {
        switch value {
        case .double(let d) where !d.isFinite: throw ShapeError("\(path) is \(d); readings must be finite numbers")
        case .document(let d): try requireFinite(d, path: path)
        case .array(let a): for (i, v) in a.enumerated() { try requireFinite(v, path: "\(path)[\(i)]") }
        default: break
        }
    }

    /// Keys and value kinds, recursively; all numbers are "number" (a reading may switch between
    /// an int and a double from one capture to the next and still be the same reading).
    static func structure(of value: BSON) -> String {
        switch value {
        case .document(let d): "{" + d.map { "\($0.key): \(structure(of: $0.value))" }.joined(separator: ", ") + "}"
        case .array(let a): "[" + (a.first.map(structure(of:)) ?? "") + " ×\(a.count)]"
        case .double, .int32, .int64, .decimal128: "number"
        case .string: "string"
        case .bool: "bool"
        case .null: "null"
        default: "value"
        }
    }
}
