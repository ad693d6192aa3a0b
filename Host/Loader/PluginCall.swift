import CFerryPlugin
import FerryBSON

/// A non-OK status a plugin returned from a call, with its message.
public struct PluginCallError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Status: String, Sendable {
        case retryLater = "retry-later"
        case invalidArgument = "invalid-argument"
        case unsupported
        case fatal
    }
    public var status: Status
    public var message: String

    public init(status: Status, message: String) {
        self.status = status
        self.message = message
    }

    init(_ status: ferry_status, _ message: String?) {
        switch status {
        case FERRY_RETRY_LATER: self.status = .retryLater
        case FERRY_INVALID_ARGUMENT: self.status = .invalidArgument
        case FERRY_UNSUPPORTED: self.status = .unsupported
        default: self.status = .fatal
        }
        self.message = message ?? "the plugin returned \(status.name) without a message"
    }

    public var description: String { "\(status.rawValue): \(message)" }
}

/// One binary payload a capture produced.
public struct CapturedBinary: Sendable, Equatable {
    public var bytes: [UInt8]
    public var mimeType: String
    /// Viam's data annotations for the payload (`{"bboxes": […], "classifications": […]}`), from a
    /// vision service's capture (ABI 1.2's add_annotated_binary); nil for a plain payload.
    public var annotations: BSONDocument?
    public init(bytes: [UInt8], mimeType: String, annotations: BSONDocument? = nil) {
        self.bytes = bytes
        self.mimeType = mimeType
        self.annotations = annotations
    }
}

/// What one capture call produced.
public enum CapturedValue: Sendable, Equatable {
    case tabular(BSONDocument)
    case binary([CapturedBinary])
}
