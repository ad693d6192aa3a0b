import FerryBSON

/// The service APIs a plugin can provide models of (ABI 1.2), with the capture methods Viam's data
/// manager lists for each. A service model is created from a `services[]` entry of the config.
public enum ServiceAPI: String, CaseIterable, Sendable {
    case vision = "rdk:service:vision"

    public var captureMethods: [String] {
        switch self {
        case .vision: ["CaptureAllFromCamera"]
        }
    }
}

/// What a vision service found on one image.
public struct VisionResult: Sendable, Equatable {
    public struct Detection: Sendable, Equatable {
        public var label: String
        public var confidence: Double
        /// Fractions of the image's width (x) and height (y), 0…1.
        public var xMin, yMin, xMax, yMax: Double
        public init(label: String, confidence: Double, xMin: Double, yMin: Double, xMax: Double, yMax: Double) {
            (self.label, self.confidence, self.xMin, self.yMin, self.xMax, self.yMax) = (label, confidence, xMin, yMin, xMax, yMax)
        }
    }
    public struct Classification: Sendable, Equatable {
        public var label: String
        public var confidence: Double
        public init(label: String, confidence: Double) { (self.label, self.confidence) = (label, confidence) }
    }
    /// The camera's image the results are about.
    public var image: BinaryPayload
    public var detections: [Detection]
    public var classifications: [Classification]
    public init(image: BinaryPayload, detections: [Detection], classifications: [Classification]) {
        (self.image, self.detections, self.classifications) = (image, detections, classifications)
    }
}

/// A vision service: detections and classifications on a camera's image.
public protocol Vision: Component {
    /// Viam's CaptureAllFromCamera: the image of camera `cameraName` (get it with
    /// `FerryPlugin.captureResource(cameraName, method: "ReadImage", …)`), in `mimeType` when given,
    /// with everything found on it.
    func captureAllFromCamera(_ cameraName: String, mimeType: String?) throws -> VisionResult
}

extension Vision {
    /// CaptureAllFromCamera, as Viam's data manager captures it: `camera_name` and `mime_type` from
    /// the additional params, results below `min_confidence_score` (default 0.5, 0…1; a number or a
    /// numeric string, as Viam's docs write "0.7") dropped, and the image stored as binary data
    /// with the rest as its annotations.
    public func capture(method: String, parameters: BSONDocument) throws -> CaptureOutput {
        guard method == "CaptureAllFromCamera" else {
            throw PluginError.unsupported("\(method) is not a capture method of rdk:service:vision; it has CaptureAllFromCamera")
        }
        guard let camera = parameters["camera_name"]?.stringValue, !camera.isEmpty else {
            throw PluginError.invalidArgument("CaptureAllFromCamera needs additional_params.camera_name: the camera to look through")
        }
        let minimum = try Self.minimumConfidence(parameters["min_confidence_score"])
        let result = try captureAllFromCamera(camera, mimeType: parameters["mime_type"]?.stringValue)
        var image = result.image
        image.annotations = Annotations(
            boxes: result.detections.filter { $0.confidence >= minimum }.map {
                .init(label: $0.label, confidence: $0.confidence, xMin: $0.xMin, yMin: $0.yMin, xMax: $0.xMax, yMax: $0.yMax)
            },
            classifications: result.classifications.filter { $0.confidence >= minimum }.map {
                .init(label: $0.label, confidence: $0.confidence)
            })
        return .binary([image])
    }

    static func minimumConfidence(_ value: BSON?) throws -> Double {
        guard let value else { return 0.5 }
        let number = value.doubleValue ?? value.stringValue.flatMap(Double.init)
        guard let number, (0...1).contains(number) else {
            throw PluginError.invalidArgument("min_confidence_score must be a number from 0 to 1 (e.g. 0.7 or \"0.7\"), got \(value)")
        }
        return number
    }
}
