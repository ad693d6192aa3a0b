import FerryBSON
import Foundation

/// A labelled box on an image in normalized coordinates (0...1 from the top-left corner), as
/// Viam's `BoundingBox` message has it. Stored in the payload's annotations under `bboxes`.
public struct BoundingBox: Sendable, Hashable {
    public var id: String
    public var label: String
    public var xMin: Double
    public var yMin: Double
    public var xMax: Double
    public var yMax: Double
    public var confidence: Double?

    public init(id: String = "", label: String, xMin: Double, yMin: Double, xMax: Double, yMax: Double, confidence: Double? = nil) {
        self.id = id
        self.label = label
        self.xMin = xMin
        self.yMin = yMin
        self.xMax = xMax
        self.yMax = yMax
        self.confidence = confidence
    }

    /// Refuses a box a viewer could not draw: an empty label, a coordinate outside 0...1, or
    /// a minimum not below its maximum. The message names the value.
    public func validate() throws {
        guard !label.isEmpty else { throw StoreError.invalid("the bounding box label must not be empty") }
        try StoreChecks.validate(text: label, what: "the bounding box label \(label.debugDescription)")
        for (name, value) in [("x_min_normalized", xMin), ("y_min_normalized", yMin), ("x_max_normalized", xMax), ("y_max_normalized", yMax)] {
            guard value.isFinite, (0...1).contains(value) else {
                throw StoreError.invalid("\(name) is \(value); normalized coordinates lie between 0 and 1")
            }
        }
        guard xMin < xMax else { throw StoreError.invalid("x_min_normalized (\(xMin)) must be less than x_max_normalized (\(xMax))") }
        guard yMin < yMax else { throw StoreError.invalid("y_min_normalized (\(yMin)) must be less than y_max_normalized (\(yMax))") }
        if let confidence, !(confidence.isFinite && (0...1).contains(confidence)) {
            throw StoreError.invalid("confidence is \(confidence); it lies between 0 and 1")
        }
    }

    /// The box as the annotations document stores it (proto field names, as capture files carry them).
    package var document: BSONDocument {
        var document: BSONDocument = [
            "id": .string(id), "label": .string(label), "x_min_normalized": .double(xMin), "y_min_normalized": .double(yMin),
            "x_max_normalized": .double(xMax), "y_max_normalized": .double(yMax),
        ]
        if let confidence { document["confidence"] = .double(confidence) }
        return document
    }

    package init?(document: BSONDocument) {
        guard let label = document["label"]?.stringValue else { return nil }
        self.init(
            id: document["id"]?.stringValue ?? "", label: label, xMin: document["x_min_normalized"]?.doubleValue ?? 0,
            yMin: document["y_min_normalized"]?.doubleValue ?? 0, xMax: document["x_max_normalized"]?.doubleValue ?? 0,
            yMax: document["y_max_normalized"]?.doubleValue ?? 0, confidence: document["confidence"]?.doubleValue)
    }
}

/// What an update changes of a box: each nil field stays as it is.
public struct BoundingBoxChange: Sendable, Hashable {
    public var label: String?
    public var xMin: Double?
    public var yMin: Double?
    public var xMax: Double?
    public var yMax: Double?
    public var confidence: Double?

    public init(label: String? = nil, xMin: Double? = nil, yMin: Double? = nil, xMax: Double? = nil, yMax: Double? = nil, confidence: Double? = nil) {
        self.label = label
        self.xMin = xMin
        self.yMin = yMin
        self.xMax = xMax
        self.yMax = yMax
        self.confidence = confidence
    }

    func applied(to box: BoundingBox) -> BoundingBox {
        var box = box
        if let label { box.label = label }
        if let xMin { box.xMin = xMin }
        if let yMin { box.yMin = yMin }
        if let xMax { box.xMax = xMax }
        if let yMax { box.yMax = yMax }
        if let confidence { box.confidence = confidence }
        return box
    }
}

/// Changing one payload's annotations atomically (Viam's bounding-box labelling).
public protocol AnnotationEdits: Sendable {
    /// Reads the payload's annotations, hands them to `change` and stores what it returns, in one
    /// transaction with the row locked; returns `change`'s result, or nil when the organisation has
    /// no payload `id`. An error thrown by `change` leaves the payload unchanged.
    func editAnnotations<T: Sendable>(
        organizationID: String, id: String, _ change: @escaping @Sendable (BSONDocument?) throws -> (BSONDocument, T)
    ) async throws -> T?
}

extension AnnotationEdits {
    /// Adds `box` (its id is ignored) to the payload's annotations; returns the new box's id, or
    /// nil when the organisation has no payload `binaryID`.
    public func addBoundingBox(_ box: BoundingBox, organizationID: String, binaryID: String) async throws -> String? {
        try box.validate()
        var box = box
        box.id = UUID().uuidString.lowercased()
        let added = box
        return try await editAnnotations(organizationID: organizationID, id: binaryID) { annotations in
            var annotations = annotations ?? [:]
            annotations["bboxes"] = .array((annotations["bboxes"]?.arrayValue ?? []) + [.document(added.document)])
            if annotations["classifications"] == nil { annotations["classifications"] = .array([]) }
            return (annotations, added.id)
        }
    }

    /// Applies `change` to the payload's box `boxID`; false when the organisation has no payload
    /// `binaryID`. Throws NOT_FOUND when the payload has no such box, INVALID_ARGUMENT when the
    /// changed box is not a valid one.
    public func updateBoundingBox(_ change: BoundingBoxChange, boxID: String, organizationID: String, binaryID: String) async throws -> Bool {
        try await editAnnotations(organizationID: organizationID, id: binaryID) { annotations in
            var annotations = annotations ?? [:]
            var boxes = annotations["bboxes"]?.arrayValue ?? []
            guard let index = Self.index(of: boxID, in: boxes),
                let box = boxes[index].documentValue.flatMap(BoundingBox.init(document:))
            else { throw Self.noBox(boxID, binaryID) }
            let changed = change.applied(to: box)
            try changed.validate()
            boxes[index] = .document(changed.document)
            annotations["bboxes"] = .array(boxes)
            return (annotations, true)
        } ?? false
    }

    /// Removes the payload's box `boxID`; false when the organisation has no payload `binaryID`.
    /// Throws NOT_FOUND when the payload has no such box.
    public func removeBoundingBox(boxID: String, organizationID: String, binaryID: String) async throws -> Bool {
        try await editAnnotations(organizationID: organizationID, id: binaryID) { annotations in
            var annotations = annotations ?? [:]
            var boxes = annotations["bboxes"]?.arrayValue ?? []
            guard let index = Self.index(of: boxID, in: boxes) else { throw Self.noBox(boxID, binaryID) }
            boxes.remove(at: index)
            annotations["bboxes"] = .array(boxes)
            return (annotations, true)
        } ?? false
    }

    private static func index(of boxID: String, in boxes: [BSON]) -> Int? {
        guard !boxID.isEmpty else { return nil }
        return boxes.firstIndex { $0.documentValue?["id"]?.stringValue == boxID }
    }

    private static func noBox(_ boxID: String, _ binaryID: String) -> StoreError {
        StoreError(.notFound, "binary data \(binaryID.debugDescription) has no bounding box with id \(boxID.debugDescription); list its boxes with BinaryDataByIDs")
    }
}
