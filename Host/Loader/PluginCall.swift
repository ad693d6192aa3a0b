import CFerryPlugin
import FerryBSON

/// A non-OK status a plugin returned from a call, with its message.
package struct PluginCallError: Error, CustomStringConvertible, Sendable, Equatable {
    package enum Status: String, Sendable {
        case retryLater = "retry-later"
        case invalidArgument = "invalid-argument"
        case unsupported
        case fatal
    }
    package var status: Status
    package var message: String

    package init(status: Status, message: String) {
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

    package var description: String { "\(status.rawValue): \(message)" }
}

/// One binary payload a capture produced.
package struct CapturedBinary: Sendable, Equatable {
    package var bytes: [UInt8]
    package var mimeType: String
    /// Viam's data annotations for the payload (`{"bboxes": […], "classifications": […]}`), from a
    /// vision service's capture (ABI 1.2's add_annotated_binary); nil for a plain payload.
    package var annotations: BSONDocument?
    package init(bytes: [UInt8], mimeType: String, annotations: BSONDocument? = nil) {
        self.bytes = bytes
        self.mimeType = mimeType
        self.annotations = annotations
    }
}

/// What one capture call produced.
package enum CapturedValue: Sendable, Equatable {
    case tabular(BSONDocument)
    case binary([CapturedBinary])
}
