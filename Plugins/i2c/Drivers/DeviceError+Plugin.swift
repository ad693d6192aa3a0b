import FerryDevice
import FerrySDK

extension DeviceError {
    /// How the host should treat this failure: a bus that did not answer is retried on the next
    /// tick; a missing or forbidden device needs the user to fix the config or permissions.
    public var pluginError: PluginError {
        isTransient ? .retryLater(description) : .invalidArgument(description)
    }
}

/// Runs device I/O, turning a DeviceError into the PluginError the host understands.
@discardableResult
public func deviceCall<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch let error as DeviceError { throw error.pluginError }
}
