import CFerryPlugin
import FerryBSON

/// The plugin's side of a `ferry_result` it hands the host (capture_resource): copies what the host
/// puts in, for one call on one thread.
final class ResultReader {
    var document: [UInt8]?
    var payloads: [BinaryPayload] = []
    var error: String?
    var annotationError: String?

    func withResult<T>(_ body: (UnsafeMutablePointer<ferry_result>) -> T) -> T {
        var result = ferry_result(
            struct_size: UInt32(MemoryLayout<ferry_result>.size),
            context: Unmanaged.passUnretained(self).toOpaque(),
            set_document: { context, bytes, length in
                ResultReader.from(context).document = Array(UnsafeBufferPointer(start: bytes, count: bytes == nil ? 0 : length))
            },
            add_binary: { context, bytes, length, mime in
                ResultReader.from(context).payloads.append(
                    BinaryPayload(
                        bytes: Array(UnsafeBufferPointer(start: bytes, count: bytes == nil ? 0 : length)),
                        mimeType: mime.map { String(cString: $0) } ?? "application/octet-stream"))
            },
            set_error: { context, message in
                ResultReader.from(context).error = message.map { String(cString: $0) }
            },
            add_annotated_binary: { context, bytes, length, mime, annotations, annotationsLength in
                let reader = ResultReader.from(context)
                var payload = BinaryPayload(
                    bytes: Array(UnsafeBufferPointer(start: bytes, count: bytes == nil ? 0 : length)),
                    mimeType: mime.map { String(cString: $0) } ?? "application/octet-stream")
                if let annotations {
                    do {
                        payload.annotations = try Annotations(
                            document: BSONDocument(bytes: UnsafeRawBufferPointer(start: annotations, count: annotationsLength)))
                    } catch {
                        reader.annotationError = "\(error)"
                    }
                }
                reader.payloads.append(payload)
            })
        return withExtendedLifetime(self) { body(&result) }
    }

    func output(what: String) throws -> CaptureOutput {
        if let annotationError { throw PluginError.fatal("\(what) returned malformed annotations: \(annotationError)") }
        if !payloads.isEmpty { return .binary(payloads) }
        guard let document else { throw PluginError.fatal("\(what) returned neither a reading nor a binary payload") }
        do {
            return .tabular(try BSONDocument(bytes: document))
        } catch {
            throw PluginError.fatal("\(what) returned malformed BSON: \(error)")
        }
    }

    private static func from(_ context: UnsafeMutableRawPointer?) -> ResultReader {
        Unmanaged<ResultReader>.fromOpaque(context!).takeUnretainedValue()
    }
}

extension Annotations {
    /// Reads the ABI's annotation document (see `document`).
    public init(document: BSONDocument) throws {
        func number(_ value: BSON?, _ what: String) throws -> Double {
            guard let number = value?.doubleValue else { throw PluginError.invalidArgument("annotations: \(what) must be a number") }
            return number
        }
        boxes = try (document["bboxes"]?.arrayValue ?? []).map { value in
            guard let box = value.documentValue else { throw PluginError.invalidArgument("annotations: bboxes must hold objects") }
            return BoundingBox(
                label: box["label"]?.stringValue ?? "", confidence: box["confidence"]?.doubleValue,
                xMin: try number(box["x_min_normalized"], "x_min_normalized"), yMin: try number(box["y_min_normalized"], "y_min_normalized"),
                xMax: try number(box["x_max_normalized"], "x_max_normalized"), yMax: try number(box["y_max_normalized"], "y_max_normalized"))
        }
        classifications = try (document["classifications"]?.arrayValue ?? []).map { value in
            guard let item = value.documentValue else {
                throw PluginError.invalidArgument("annotations: classifications must hold objects")
            }
            return Classification(label: item["label"]?.stringValue ?? "", confidence: item["confidence"]?.doubleValue)
        }
    }
}
