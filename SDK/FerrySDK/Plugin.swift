import CFerryPlugin
import FerryBSON
import Synchronization

/// One model a plugin registers.
public struct ModelRegistration: Sendable {
    public var api: String
    public var model: String
    public var captureMethods: [String]
    /// The host may call one instance from several threads at once.
    public var threadSafe: Bool
    public var create: @Sendable (ComponentConfig) throws -> any Component

    /// A model of one of Ferry's known APIs; its capture methods are the API's.
    public init(
        api: ComponentAPI, model: String, threadSafe: Bool = false,
        create: @escaping @Sendable (ComponentConfig) throws -> any Component
    ) {
        self.init(api: api.rawValue, model: model, captureMethods: api.captureMethods, threadSafe: threadSafe, create: create)
    }

    /// A service model (ABI 1.2), created from a `services[]` entry; its capture methods are the API's.
    public init(
        api: ServiceAPI, model: String, threadSafe: Bool = false,
        create: @escaping @Sendable (ComponentConfig) throws -> any Component
    ) {
        self.init(api: api.rawValue, model: model, captureMethods: api.captureMethods, threadSafe: threadSafe, create: create)
    }

    /// A model of any API, with its own list of capture methods.
    public init(
        api: String, model: String, captureMethods: [String], threadSafe: Bool = false,
        create: @escaping @Sendable (ComponentConfig) throws -> any Component
    ) {
        self.api = api
        self.model = model
        self.captureMethods = captureMethods
        self.threadSafe = threadSafe
        self.create = create
    }
}

/// Everything a Swift plugin provides: its name, version, models and MQL operators.
public struct PluginDefinition: Sendable {
    public var name: String
    public var version: String
    public var models: [ModelRegistration]
    public var operators: [OperatorRegistration]

    public init(name: String, version: String, models: [ModelRegistration] = [], operators: [OperatorRegistration] = []) {
        self.name = name
        self.version = version
        self.models = models
        self.operators = operators
    }
}

public enum LogLevel: Sendable {
    case debug, info, warning, error
    var c: ferry_log_level {
        switch self {
        case .debug: FERRY_LOG_DEBUG
        case .info: FERRY_LOG_INFO
        case .warning: FERRY_LOG_WARNING
        case .error: FERRY_LOG_ERROR
        }
    }
}

/// The entry helper. A Swift plugin's whole C surface is:
///
/// ```swift
/// @_cdecl("ferry_plugin_entry")
/// public func ferryPluginEntry() -> UnsafeRawPointer { FerryPlugin.entry(myDefinition) }
/// ```
public enum FerryPlugin {
    struct State {
        var definition: PluginDefinition?
        var descriptor: UnsafeMutablePointer<ferry_plugin_descriptor>?
        var host: HostTable?
    }
    // Each plugin library links its own copy of FerrySDK, so this state is per plugin.
    static let state = Mutex(State())

    /// Returns the address of this plugin's descriptor, built once. `definition` is evaluated only
    /// on the first call; it must only construct values (the host has not checked the ABI yet).
    public static func entry(_ definition: @autoclosure () -> PluginDefinition) -> UnsafeRawPointer {
        state.withLock { state in
            if let descriptor = state.descriptor { return UnsafeRawPointer(descriptor) }
            let definition = definition()
            let descriptor = UnsafeMutablePointer<ferry_plugin_descriptor>.allocate(capacity: 1)
            descriptor.initialize(
                to: ferry_plugin_descriptor(
                    struct_size: UInt32(MemoryLayout<ferry_plugin_descriptor>.size),
                    abi_major: UInt16(FERRY_ABI_MAJOR), abi_minor: UInt16(FERRY_ABI_MINOR),
                    name: permanentCString(definition.name), version: permanentCString(definition.version),
                    init: { host, result in FerryPlugin.initialize(host: host, result: result) }))
            state.definition = definition
            state.descriptor = descriptor
            return UnsafeRawPointer(descriptor)
        }
    }

    /// Logs through the host (its log, its levels); a no-op before `init`.
    public static func log(_ level: LogLevel, _ message: String) {
        guard let host = state.withLock({ $0.host })?.pointer else { return }
        message.withCString { host.pointee.log(host.pointee.host_context, level.c, $0) }
    }

    /// Asks the host's data manager to sync now (Viam's data manager `Sync`), ignoring the
    /// selective syncer. False when the host does not sync, is older than ABI 1.1, or before init.
    @discardableResult
    public static func requestSync() -> Bool {
        guard let host = state.withLock({ $0.host })?.pointer else { return false }
        let needed = MemoryLayout<ferry_host_api>.offset(of: \ferry_host_api.request_sync)! + MemoryLayout<UnsafeRawPointer>.size
        guard Int(host.pointee.struct_size) >= needed, let requestSync = host.pointee.request_sync else { return false }
        return requestSync(host.pointee.host_context) == FERRY_OK
    }

    /// Runs capture method `method` of the machine's resource `name` (ABI 1.2's capture_resource):
    /// how a service reaches what it works on, e.g. a vision service its camera's image. Throws
    /// `.retryLater` while no such resource runs, `.unsupported` on a host without a machine (or
    /// older than ABI 1.2), else what that resource's capture threw. Never ask for your own name.
    public static func captureResource(_ name: String, method: String, parameters: BSONDocument = [:]) throws -> CaptureOutput {
        guard let host = state.withLock({ $0.host })?.pointer else {
            throw PluginError.unsupported("capture_resource: the plugin has not been initialised by a host")
        }
        let needed = MemoryLayout<ferry_host_api>.offset(of: \ferry_host_api.capture_resource)! + MemoryLayout<UnsafeRawPointer>.size
        guard Int(host.pointee.struct_size) >= needed, let capture = host.pointee.capture_resource else {
            throw PluginError.unsupported("this host (ABI older than 1.2) cannot capture another resource")
        }
        let collector = ResultReader()
        let bytes = parameters.isEmpty ? [] : parameters.encode()
        let status = collector.withResult { result in
            name.withCString { cName in
                method.withCString { cMethod in
                    bytes.withUnsafeBufferPointer { capture(host.pointee.host_context, cName, cMethod, $0.baseAddress, $0.count, result) }
                }
            }
        }
        guard status == FERRY_OK else {
            throw PluginError(PluginError.Kind(status), collector.error ?? "capture of \(name).\(method) failed")
        }
        return try collector.output(what: "\(name).\(method)")
    }

    private static func initialize(
        host: UnsafePointer<ferry_host_api>?, result: UnsafeMutablePointer<ferry_result>?
    ) -> ferry_status {
        guard let host, let definition = state.withLock({ $0.definition }) else {
            ResultWriter(result).setError("plugin init called without a host table or before ferry_plugin_entry")
            return FERRY_FATAL
        }
        state.withLock { $0.host = HostTable(pointer: host) }
        for registration in definition.models {
            var model = ModelTrampolines.cModel(registration)
            let status = host.pointee.register_model(host.pointee.host_context, &model)
            guard status == FERRY_OK else {
                ResultWriter(result).setError("the host refused model \(registration.api) \(registration.model)")
                return status
            }
        }
        for registration in definition.operators {
            var op = OperatorTrampolines.cOperator(registration)
            let status = host.pointee.register_operator(host.pointee.host_context, &op)
            guard status == FERRY_OK else {
                ResultWriter(result).setError("the host refused MQL operator \(registration.name)")
                return status
            }
        }
        return FERRY_OK
    }
}

/// The host's function table. plugin.h guarantees it stays valid for the life of the process and
/// that its `log` is thread-safe, so the pointer may be shared between threads.
struct HostTable: @unchecked Sendable {
    let pointer: UnsafePointer<ferry_host_api>
}

/// A C string that lives for the rest of the process (descriptor and registration strings).
func permanentCString(_ string: String) -> UnsafePointer<CChar> {
    UnsafePointer(strdup(string)!)
}

/// Writes into a host-owned `ferry_result`; each call copies, so our buffers may go right after.
struct ResultWriter {
    let result: UnsafeMutablePointer<ferry_result>?
    init(_ result: UnsafeMutablePointer<ferry_result>?) { self.result = result }

    func setDocument(_ document: BSONDocument) {
        guard let result else { return }
        let bytes = document.encode()
        bytes.withUnsafeBufferPointer { result.pointee.set_document(result.pointee.context, $0.baseAddress, $0.count) }
    }

    /// A payload with annotations goes through add_annotated_binary when the host has it (ABI 1.2);
    /// an older host gets the payload alone.
    func addBinary(_ payload: BinaryPayload) {
        guard let result else { return }
        let needed = MemoryLayout<ferry_result>.offset(of: \ferry_result.add_annotated_binary)! + MemoryLayout<UnsafeRawPointer>.size
        let annotated = Int(result.pointee.struct_size) >= needed ? result.pointee.add_annotated_binary : nil
        payload.bytes.withUnsafeBufferPointer { bytes in
            payload.mimeType.withCString { mime in
                if let annotations = payload.annotations?.document.encode(), let annotated {
                    annotations.withUnsafeBufferPointer {
                        annotated(result.pointee.context, bytes.baseAddress, bytes.count, mime, $0.baseAddress, $0.count)
                    }
                } else {
                    result.pointee.add_binary(result.pointee.context, bytes.baseAddress, bytes.count, mime)
                }
            }
        }
    }

    func setError(_ message: String) {
        guard let result else { return }
        message.withCString { result.pointee.set_error(result.pointee.context, $0) }
    }

    /// Runs `body`, mapping a thrown error to its status and message. Nothing unwinds into C.
    func run(_ body: () throws -> Void) -> ferry_status {
        do {
            try body()
            return FERRY_OK
        } catch let error as PluginError {
            setError(error.message)
            return error.status
        } catch {
            setError(String(describing: error))
            return FERRY_FATAL
        }
    }
}

/// A borrowed BSON buffer from the host as a document (empty when absent).
func document(_ bytes: UnsafePointer<UInt8>?, _ length: Int) throws -> BSONDocument {
    guard let bytes, length > 0 else { return [:] }
    do {
        return try BSONDocument(bytes: UnsafeRawBufferPointer(start: bytes, count: length))
    } catch {
        throw PluginError.invalidArgument("malformed BSON from the host: \(error)")
    }
}

#if canImport(Glibc)
    import Glibc
#endif
