import CFerryPlugin
import FerryBSON

/// The host side of a `ferry_result`: copies whatever the callee hands it, so the callee's buffers
/// may be freed as soon as each function returns. Used on one thread, for one call.
final class ResultCollector {
    var document: [UInt8]?
    var binaries: [(bytes: [UInt8], mimeType: String, annotations: [UInt8]?)] = []
    var error: String?

    /// Runs `body` with a `ferry_result` that fills this collector; the pointer is valid only inside.
    func withResult<T>(_ body: (UnsafeMutablePointer<ferry_result>) throws -> T) rethrows -> T {
        var result = ferry_result(
            struct_size: UInt32(MemoryLayout<ferry_result>.size),
            context: Unmanaged.passUnretained(self).toOpaque(),
            set_document: { context, bytes, length in
                ResultCollector.from(context).document = Array(UnsafeBufferPointer(start: bytes, count: bytes == nil ? 0 : length))
            },
            add_binary: { context, bytes, length, mime in
                ResultCollector.from(context).binaries.append(
                    (Array(UnsafeBufferPointer(start: bytes, count: bytes == nil ? 0 : length)),
                     mime.map { String(cString: $0) } ?? "application/octet-stream", nil))
            },
            set_error: { context, message in
                ResultCollector.from(context).error = message.map { String(cString: $0) }
            },
            add_annotated_binary: { context, bytes, length, mime, annotations, annotationsLength in
                ResultCollector.from(context).binaries.append(
                    (Array(UnsafeBufferPointer(start: bytes, count: bytes == nil ? 0 : length)),
                     mime.map { String(cString: $0) } ?? "application/octet-stream",
                     annotations == nil ? nil : Array(UnsafeBufferPointer(start: annotations, count: annotationsLength))))
            })
        return try withExtendedLifetime(self) { try body(&result) }
    }

    private static func from(_ context: UnsafeMutableRawPointer?) -> ResultCollector {
        Unmanaged<ResultCollector>.fromOpaque(context!).takeUnretainedValue()
    }

    /// What a capture returned, once its status was OK.
    func capturedValue(method: String) throws(PluginCallError) -> CapturedValue {
        if !binaries.isEmpty {
            var payloads: [CapturedBinary] = []
            for binary in binaries {
                var annotations: BSONDocument?
                if let bytes = binary.annotations {
                    do {
                        annotations = try BSONDocument(bytes: bytes)
                    } catch {
                        throw PluginCallError(status: .fatal, message: "\(method) returned malformed BSON annotations: \(error)")
                    }
                }
                payloads.append(CapturedBinary(bytes: binary.bytes, mimeType: binary.mimeType, annotations: annotations))
            }
            return .binary(payloads)
        }
        guard let bytes = document else {
            throw PluginCallError(status: .fatal, message: "\(method) returned OK with neither a reading nor a binary payload")
        }
        do {
            return .tabular(try BSONDocument(bytes: bytes))
        } catch {
            throw PluginCallError(status: .fatal, message: "\(method) returned malformed BSON: \(error)")
        }
    }
}

/// Writes a host-side value into a `ferry_result` a plugin handed the host (capture_resource):
/// the same calls a plugin makes, in the other direction.
enum ResultFiller {
    static func fill(_ result: UnsafeMutablePointer<ferry_result>, with value: CapturedValue) {
        let table = result.pointee
        switch value {
        case .tabular(let document):
            let bytes = document.encode()
            bytes.withUnsafeBufferPointer { table.set_document(table.context, $0.baseAddress, $0.count) }
        case .binary(let payloads):
            let annotatedOffset = MemoryLayout<ferry_result>.offset(of: \ferry_result.add_annotated_binary)!
            let canAnnotate = Int(table.struct_size) >= annotatedOffset + MemoryLayout<UnsafeRawPointer>.size
            for payload in payloads {
                payload.bytes.withUnsafeBufferPointer { bytes in
                    payload.mimeType.withCString { mime in
                        if let annotations = payload.annotations?.encode(), canAnnotate, let add = table.add_annotated_binary {
                            annotations.withUnsafeBufferPointer {
                                add(table.context, bytes.baseAddress, bytes.count, mime, $0.baseAddress, $0.count)
                            }
                        } else {
                            table.add_binary(table.context, bytes.baseAddress, bytes.count, mime)
                        }
                    }
                }
            }
        }
    }

    static func fail(_ result: UnsafeMutablePointer<ferry_result>, _ error: PluginCallError) -> ferry_status {
        error.message.withCString { result.pointee.set_error(result.pointee.context, $0) }
        switch error.status {
        case .retryLater: return FERRY_RETRY_LATER
        case .invalidArgument: return FERRY_INVALID_ARGUMENT
        case .unsupported: return FERRY_UNSUPPORTED
        case .fatal: return FERRY_FATAL
        }
    }
}

extension ferry_status {
    var name: String {
        switch self {
        case FERRY_OK: "ok"
        case FERRY_RETRY_LATER: "retry-later"
        case FERRY_INVALID_ARGUMENT: "invalid-argument"
        case FERRY_UNSUPPORTED: "unsupported"
        case FERRY_FATAL: "fatal"
        default: "unknown status \(rawValue)"
        }
    }
}
