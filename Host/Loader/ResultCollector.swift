import CFerryPlugin

/// The host side of a `ferry_result`: copies whatever the callee hands it, so the callee's buffers
/// may be freed as soon as each function returns. Used on one thread, for one call.
final class ResultCollector {
    var document: [UInt8]?
    var binaries: [(bytes: [UInt8], mimeType: String)] = []
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
                     mime.map { String(cString: $0) } ?? "application/octet-stream"))
            },
            set_error: { context, message in
                ResultCollector.from(context).error = message.map { String(cString: $0) }
            })
        return try withExtendedLifetime(self) { try body(&result) }
    }

    private static func from(_ context: UnsafeMutableRawPointer?) -> ResultCollector {
        Unmanaged<ResultCollector>.fromOpaque(context!).takeUnretainedValue()
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
