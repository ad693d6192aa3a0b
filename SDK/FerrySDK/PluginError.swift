import CFerryPlugin

/// What a plugin throws to report failure; it becomes a `ferry_status` plus message at the C ABI.
public struct PluginError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable {
        /// Transient (device busy, bus NACK): the host logs it, rate-limited, and tries on the next tick.
        case retryLater
        /// Bad attributes or parameters: fix the config.
        case invalidArgument
        /// The model does not implement this method.
        case unsupported
        /// The instance is broken and must be re-created.
        case fatal
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public static func retryLater(_ message: String) -> PluginError { PluginError(.retryLater, message) }
    public static func invalidArgument(_ message: String) -> PluginError { PluginError(.invalidArgument, message) }
    public static func unsupported(_ message: String) -> PluginError { PluginError(.unsupported, message) }
    public static func fatal(_ message: String) -> PluginError { PluginError(.fatal, message) }

    public var description: String { message }

    var status: ferry_status {
        switch kind {
        case .retryLater: FERRY_RETRY_LATER
        case .invalidArgument: FERRY_INVALID_ARGUMENT
        case .unsupported: FERRY_UNSUPPORTED
        case .fatal: FERRY_FATAL
        }
    }
}

extension PluginError.Kind {
    /// A status another plugin's call returned (capture_resource), as this plugin's error kind.
    init(_ status: ferry_status) {
        switch status {
        case FERRY_RETRY_LATER: self = .retryLater
        case FERRY_INVALID_ARGUMENT: self = .invalidArgument
        case FERRY_UNSUPPORTED: self = .unsupported
        default: self = .fatal
        }
    }
}
