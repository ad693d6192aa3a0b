import FerryBSON

/// A component instance created by a plugin from its config. The host calls one instance from one
/// thread at a time (unless its model is registered thread-safe), so an implementation needs no lock
/// of its own for per-instance state.
public protocol Component: AnyObject {
    /// Runs the capture method `method` (one of the model's capture methods) with the collector's
    /// `additional_params`. The typed component protocols (``Sensor``, ``Arm``…) implement this for
    /// you from their typed methods, in the shape Viam's capture uses.
    func capture(method: String, parameters: BSONDocument) throws -> CaptureOutput
    /// Applies a new config in place. The default throws `.unsupported`, which makes the host close
    /// this instance and create a new one.
    func reconfigure(_ config: ComponentConfig) throws
    /// Viam's DoCommand: an arbitrary command in, an arbitrary reply out.
    func doCommand(_ command: BSONDocument) throws -> BSONDocument
    /// Releases devices and files. Called once; the instance is never used again.
    func close()
}

extension Component {
    public func reconfigure(_ config: ComponentConfig) throws {
        throw PluginError.unsupported("reconfigure is not implemented; the host re-creates the instance")
    }
    public func doCommand(_ command: BSONDocument) throws -> BSONDocument {
        throw PluginError.unsupported("DoCommand is not implemented by this model")
    }
    public func close() {}
}

/// What one capture call produced: a tabular reading, or binary payloads (each its own capture file).
public enum CaptureOutput: Sendable, Equatable {
    case tabular(BSONDocument)
    case binary([BinaryPayload])
}

public struct BinaryPayload: Sendable, Equatable {
    public var bytes: [UInt8]
    /// e.g. "image/jpeg", "image/png", "pointcloud/pcd".
    public var mimeType: String
    /// What was found on the image (a vision service's capture), stored with it.
    public var annotations: Annotations?
    public init(bytes: [UInt8], mimeType: String, annotations: Annotations? = nil) {
        self.bytes = bytes
        self.mimeType = mimeType
        self.annotations = annotations
    }
}

/// Viam's data annotations of an image: labelled boxes and whole-image labels.
public struct Annotations: Sendable, Equatable {
    public struct BoundingBox: Sendable, Equatable {
        public var label: String
        public var confidence: Double?
        /// Fractions of the image's width (x) and height (y), 0…1.
        public var xMin, yMin, xMax, yMax: Double
        public init(label: String, confidence: Double?, xMin: Double, yMin: Double, xMax: Double, yMax: Double) {
            (self.label, self.confidence, self.xMin, self.yMin, self.xMax, self.yMax) = (label, confidence, xMin, yMin, xMax, yMax)
        }
    }
    public struct Classification: Sendable, Equatable {
        public var label: String
        public var confidence: Double?
        public init(label: String, confidence: Double?) { (self.label, self.confidence) = (label, confidence) }
    }
    public var boxes: [BoundingBox]
    public var classifications: [Classification]
    public init(boxes: [BoundingBox] = [], classifications: [Classification] = []) {
        self.boxes = boxes
        self.classifications = classifications
    }

    /// The ABI's document: `{"bboxes": [{label, confidence, x_min_normalized, …}], "classifications": [{label, confidence}]}`.
    public var document: BSONDocument {
        let boxes: [BSON] = self.boxes.map { box in
            var document: BSONDocument = [
                "label": .string(box.label), "x_min_normalized": .double(box.xMin), "y_min_normalized": .double(box.yMin),
                "x_max_normalized": .double(box.xMax), "y_max_normalized": .double(box.yMax),
            ]
            if let confidence = box.confidence { document["confidence"] = .double(confidence) }
            return .document(document)
        }
        let classifications: [BSON] = self.classifications.map { item in
            var document: BSONDocument = ["label": .string(item.label)]
            if let confidence = item.confidence { document["confidence"] = .double(confidence) }
            return .document(document)
        }
        return ["bboxes": .array(boxes), "classifications": .array(classifications)]
    }
}

/// A component's (or a service's) entry in the machine config, as the host hands it to `create`.
public struct ComponentConfig: Sendable, Equatable {
    public var name: String
    public var api: String
    public var model: String
    public var attributes: BSONDocument
    public var dependsOn: [String]

    public init(name: String, api: String, model: String, attributes: BSONDocument = [:], dependsOn: [String] = []) {
        self.name = name
        self.api = api
        self.model = model
        self.attributes = attributes
        self.dependsOn = dependsOn
    }

    /// Decodes the document `{name, api, model, attributes, depends_on}` the host passes to `create`.
    public init(document: BSONDocument) throws {
        guard let name = document["name"]?.stringValue, let api = document["api"]?.stringValue,
            let model = document["model"]?.stringValue
        else { throw PluginError.invalidArgument("component config lacks name, api or model") }
        self.init(
            name: name, api: api, model: model, attributes: document["attributes"]?.documentValue ?? [:],
            dependsOn: (document["depends_on"]?.arrayValue ?? []).compactMap(\.stringValue))
    }

    public var document: BSONDocument {
        [
            "name": .string(name), "api": .string(api), "model": .string(model),
            "attributes": .document(attributes), "depends_on": .array(dependsOn.map(BSON.string)),
        ]
    }
}

/// Typed access to attributes with errors that name the attribute, for `create`.
extension BSONDocument {
    public func double(_ key: String, default fallback: Double? = nil) throws -> Double {
        if let value = self[key] {
            guard let number = value.doubleValue else {
                throw PluginError.invalidArgument("attribute \(key) must be a number")
            }
            return number
        }
        guard let fallback else { throw PluginError.invalidArgument("attribute \(key) is required (a number)") }
        return fallback
    }

    public func int(_ key: String, default fallback: Int? = nil) throws -> Int {
        if let value = self[key] {
            guard let number = value.int64Value, let int = Int(exactly: number) else {
                throw PluginError.invalidArgument("attribute \(key) must be an integer")
            }
            return int
        }
        guard let fallback else { throw PluginError.invalidArgument("attribute \(key) is required (an integer)") }
        return fallback
    }

    public func string(_ key: String, default fallback: String? = nil) throws -> String {
        if let value = self[key] {
            guard let string = value.stringValue else {
                throw PluginError.invalidArgument("attribute \(key) must be a string")
            }
            return string
        }
        guard let fallback else { throw PluginError.invalidArgument("attribute \(key) is required (a string)") }
        return fallback
    }
}
