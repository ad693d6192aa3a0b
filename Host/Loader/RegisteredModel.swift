import CFerryPlugin
import FerryBSON
import FerrySystem
import Foundation

/// A model a plugin registered. Immutable once registered.
package final class RegisteredModel: @unchecked Sendable {
    // @unchecked: `cModel` holds C function pointers and the plugin's context pointer, which the
    // ABI keeps valid for the life of the process (libraries are never unloaded); nothing mutates.
    package let api: String
    package let model: String
    package let captureMethods: [String]
    package let threadSafe: Bool
    package let pluginPath: String
    let cModel: ferry_model

    init(cModel: ferry_model, api: String, model: String, captureMethods: [String], pluginPath: String) {
        self.cModel = cModel
        self.api = api
        self.model = model
        self.captureMethods = captureMethods
        self.threadSafe = cModel.flags & FERRY_MODEL_THREAD_SAFE != 0
        self.pluginPath = pluginPath
    }

    /// Creates an instance from `{name, api, model, attributes, depends_on}`.
    package func create(config: BSONDocument) throws(PluginCallError) -> PluginInstance {
        let bytes = config.encode()
        let collector = ResultCollector()
        var handle: UnsafeMutableRawPointer?
        let status = collector.withResult { result in
            bytes.withUnsafeBufferPointer { cModel.create(cModel.model_context, $0.baseAddress, $0.count, &handle, result) }
        }
        guard status == FERRY_OK, let handle else {
            throw PluginCallError(status == FERRY_OK ? FERRY_FATAL : status, collector.error ?? (status == FERRY_OK ? "create returned no instance" : nil))
        }
        return PluginInstance(model: self, handle: handle)
    }
}

/// A live instance of a plugin model. Serialises calls unless the model is thread-safe, so the
/// plugin never sees one instance called from two collectors' queues at once.
package final class PluginInstance: @unchecked Sendable {
    // @unchecked: every use of `handle` and `closed` happens under `lock` (or, for thread-safe
    // models, the plugin itself promised concurrent calls are safe; `closed` is still locked).
    package let model: RegisteredModel
    private let handle: UnsafeMutableRawPointer
    private let lock = Lock()
    private var closed = false

    init(model: RegisteredModel, handle: UnsafeMutableRawPointer) {
        self.model = model
        self.handle = handle
    }

    deinit { close() }

    private func call<T>(_ body: (ferry_model, UnsafeMutableRawPointer) throws(PluginCallError) -> T) throws(PluginCallError) -> T {
        if model.threadSafe {
            let isClosed = lock.withLock { closed }
            if isClosed { throw PluginCallError(status: .fatal, message: "instance is closed") }
            return try body(model.cModel, handle)
        }
        lock.lock()
        defer { lock.unlock() }
        if closed { throw PluginCallError(status: .fatal, message: "instance is closed") }
        return try body(model.cModel, handle)
    }

    /// Runs one capture method with the collector's additional parameters.
    package func capture(method: String, parameters: BSONDocument = [:]) throws(PluginCallError) -> CapturedValue {
        let parameterBytes = parameters.isEmpty ? [] : parameters.encode()
        return try call { (cModel, handle) throws(PluginCallError) in
            let collector = ResultCollector()
            let status = collector.withResult { result in
                parameterBytes.withUnsafeBufferPointer { params in
                    method.withCString { cModel.capture(handle, $0, params.baseAddress, params.count, result) }
                }
            }
            guard status == FERRY_OK else { throw PluginCallError(status, collector.error) }
            return try collector.capturedValue(method: method)
        }
    }

    /// Applies a new config in place. Returns false when the model cannot (no reconfigure, or it
    /// answered unsupported): the caller then closes this instance and creates a new one.
    package func reconfigure(config: BSONDocument) throws(PluginCallError) -> Bool {
        guard let reconfigure = model.cModel.reconfigure else { return false }
        let bytes = config.encode()
        return try call { (_, handle) throws(PluginCallError) in
            let collector = ResultCollector()
            let status = collector.withResult { result in
                bytes.withUnsafeBufferPointer { reconfigure(handle, $0.baseAddress, $0.count, result) }
            }
            if status == FERRY_UNSUPPORTED { return false }
            guard status == FERRY_OK else { throw PluginCallError(status, collector.error) }
            return true
        }
    }

    package func doCommand(_ command: BSONDocument) throws(PluginCallError) -> BSONDocument {
        guard let doCommand = model.cModel.do_command else {
            throw PluginCallError(status: .unsupported, message: "\(model.model) does not implement DoCommand")
        }
        let bytes = command.encode()
        return try call { (_, handle) throws(PluginCallError) in
            let collector = ResultCollector()
            let status = collector.withResult { result in
                bytes.withUnsafeBufferPointer { doCommand(handle, $0.baseAddress, $0.count, result) }
            }
            guard status == FERRY_OK else { throw PluginCallError(status, collector.error) }
            do {
                return try collector.document.map { try BSONDocument(bytes: $0) } ?? [:]
            } catch {
                throw PluginCallError(status: .fatal, message: "DoCommand returned malformed BSON: \(error)")
            }
        }
    }

    /// Releases the instance; later calls fail with "instance is closed". Idempotent.
    package func close() {
        lock.lock()
        defer { lock.unlock() }
        guard !closed else { return }
        closed = true
        model.cModel.close(handle)
    }
}
