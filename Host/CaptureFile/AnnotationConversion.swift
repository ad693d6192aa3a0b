import FerryBSON
import ViamProtos

public typealias Annotations = Viam_App_Data_V1_Annotations

/// Viam's data annotations (bounding boxes and classifications of an image) between the BSON a
/// plugin hands over (`{"bboxes": [{label, confidence, x_min_normalized, …}], "classifications":
/// [{label, confidence}]}`, proto field names) and the message capture files and uploads carry.
public enum AnnotationConversion {
    public static func annotations(from document: BSONDocument) -> Annotations {
        var annotations = Annotations()
        for value in document["bboxes"]?.arrayValue ?? [] {
            guard let box = value.documentValue else { continue }
            var bbox = Viam_App_Data_V1_BoundingBox()
            bbox.id = box["id"]?.stringValue ?? ""
            bbox.label = box["label"]?.stringValue ?? ""
            bbox.xMinNormalized = box["x_min_normalized"]?.doubleValue ?? 0
            bbox.yMinNormalized = box["y_min_normalized"]?.doubleValue ?? 0
            bbox.xMaxNormalized = box["x_max_normalized"]?.doubleValue ?? 0
            bbox.yMaxNormalized = box["y_max_normalized"]?.doubleValue ?? 0
            if let confidence = box["confidence"]?.doubleValue { bbox.confidence = confidence }
            annotations.bboxes.append(bbox)
        }
        for value in document["classifications"]?.arrayValue ?? [] {
            guard let item = value.documentValue else { continue }
            var classification = Viam_App_Data_V1_Classification()
            classification.id = item["id"]?.stringValue ?? ""
            classification.label = item["label"]?.stringValue ?? ""
            if let confidence = item["confidence"]?.doubleValue { classification.confidence = confidence }
            annotations.classifications.append(classification)
        }
        return annotations
    }

    public static func document(from annotations: Annotations) -> BSONDocument {
        let boxes: [BSON] = annotations.bboxes.map { box in
            var document: BSONDocument = [
                "label": .string(box.label), "x_min_normalized": .double(box.xMinNormalized),
                "y_min_normalized": .double(box.yMinNormalized), "x_max_normalized": .double(box.xMaxNormalized),
                "y_max_normalized": .double(box.yMaxNormalized),
            ]
            if !box.id.isEmpty { document["id"] = .string(box.id) }
            if box.hasConfidence { document["confidence"] = .double(box.confidence) }
            return .document(document)
        }
        let classifications: [BSON] = annotations.classifications.map { item in
            var document: BSONDocument = ["label": .string(item.label)]
            if !item.id.isEmpty { document["id"] = .string(item.id) }
            if item.hasConfidence { document["confidence"] = .double(item.confidence) }
            return .document(document)
        }
        return ["bboxes": .array(boxes), "classifications": .array(classifications)]
    }
}
