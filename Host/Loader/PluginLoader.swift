import CFerryPlugin
import FerryBSON
import Foundation
import Logging
import Synchronization

/// dlopen + ABI check + registration. Libraries are never dlclose'd: Swift images cannot be
/// unloaded safely, so reloading a plugin means restarting the host.
enum PluginLoader {
    static let abiMajor = Int(FERRY_ABI_MAJOR)
    static let abiMinor = Int(FERRY_ABI_MINOR)

    static func load(path: String, into registry: PluginRegistry) throws(LoadError) -> PluginInfo {
        guard FileManager.default.fileExists(atPath: path) else { throw LoadError(path: path, reason: .fileMissing) }
        // RTLD_LOCAL keeps each plugin's symbols (its own copy of FerrySDK, say) to itself.
        guard let library = dlopen(path, RTLD_NOW | RTLD_LOCAL) else {
            throw LoadError(path: path, reason: .notASharedLibrary(dlerror().map { String(cString: $0) } ?? "dlopen failed"))
        }
        guard let symbol = dlsym(library, FERRY_PLUGIN_ENTRY_SYMBOL) else {
            // The simple tier: plain C functions described by a manifest beside the library.
            if let manifest = FFIManifest.find(beside: path) {
                return try FFIPlugin.load(library: library, path: path, manifestPath: manifest, into: registry)
            }
            throw LoadError(path: path, reason: .noEntrySymbol)
        }
        let entry = unsafeBitCast(symbol, to: ferry_plugin_entry_fn.self)
        guard let descriptorPointer = entry() else {
            throw LoadError(path: path, reason: .malformed("ferry_plugin_entry returned NULL"))
        }
        // Read the fixed prefix first (size + versions): it is the same in every ABI version.
        let major = Int(descriptorPointer.pointee.abi_major)
        let minor = Int(descriptorPointer.pointee.abi_minor)
        guard major == abiMajor, minor <= abiMinor else {
            throw LoadError(path: path, reason: .abiMismatch(pluginMajor: major, pluginMinor: minor))
        }
        let descriptor = descriptorPointer.pointee
        guard descriptor.struct_size >= MemoryLayout<ferry_plugin_descriptor>.size, let initialize = descriptor.`init`,
            let cName = descriptor.name
        else {
            throw LoadError(path: path, reason: .malformed("the descriptor is too small or lacks a name or init function"))
        }
        let name = String(cString: cName)
        let version = descriptor.version.map { String(cString: $0) } ?? "unknown"

        let context = PluginHostContext(path: path, pluginName: name, registry: registry)
        let host = context.makeHostTable()
        let collector = ResultCollector()
        let status = collector.withResult { initialize(host, $0) }
        let session = context.finishInit()
        // A refused registration is the root cause even when init then failed because of it.
        if let refusal = session.refusals.first { throw refusal }
        guard status == FERRY_OK else {
            throw LoadError(path: path, reason: .initFailed(status: status.name, message: collector.error ?? "no message"))
        }

        let info = PluginInfo(
            path: path, name: name, version: version, abiMajor: major, abiMinor: minor,
            models: session.models.map {
                ModelSummary(api: $0.api, model: $0.model, captureMethods: $0.captureMethods, threadSafe: $0.threadSafe)
            },
            operators: session.operators.map { OperatorSummary(name: $0.name, kind: $0.kind) })
        try registry.commit(info: info, models: session.models, operators: session.operators)
        return info
    }
}

/// What `host_context` points at for one plugin: its identity for logging and, during init, the
/// models and operators it registers. Retained for the life of the process, as the ABI promises.
final class PluginHostContext: Sendable {
    struct Session {
        var open = true
        var models: [RegisteredModel] = []
        var operators: [RegisteredOperator] = []
        var refusals: [LoadError] = []
    }

    let path: String
    let logger: Logger
    let registry: PluginRegistry
    let session = Mutex(Session())

    init(path: String, pluginName: String, registry: PluginRegistry) {
        self.path = path
        self.registry = registry
        var logger = Logger(label: "plugin.\(pluginName)")
        logger[metadataKey: "plugin"] = .string(pluginName)
        self.logger = logger
    }

    func finishInit() -> Session {
        session.withLock {
            $0.open = false
            return $0
        }
    }

    func refuse(_ reason: LoadError.Reason) -> ferry_status {
        let error = LoadError(path: path, reason: reason)
        logger.error("\(error.description)")
        session.withLock { $0.refusals.append(error) }
        return FERRY_INVALID_ARGUMENT
    }

    /// The table handed to the plugin's init; allocated once and never freed.
    func makeHostTable() -> UnsafePointer<ferry_host_api> {
        let table = UnsafeMutablePointer<ferry_host_api>.allocate(capacity: 1)
        table.initialize(
            to: ferry_host_api(
                struct_size: UInt32(MemoryLayout<ferry_host_api>.size),
                abi_major: UInt16(FERRY_ABI_MAJOR), abi_minor: UInt16(FERRY_ABI_MINOR),
                host_context: Unmanaged.passRetained(self).toOpaque(),
                log: { context, level, message in
                    let context = PluginHostContext.from(context)
                    let text = message.map { String(cString: $0) } ?? ""
                    switch level {
                    case FERRY_LOG_DEBUG: context.logger.debug("\(text)")
                    case FERRY_LOG_INFO: context.logger.info("\(text)")
                    case FERRY_LOG_WARNING: context.logger.warning("\(text)")
                    default: context.logger.error("\(text)")
                    }
                },
                register_model: { context, model in
                    PluginHostContext.from(context).register(model: model)
                },
                register_operator: { context, op in
                    PluginHostContext.from(context).register(operator: op)
                },
                request_sync: { context in
                    guard let sync = PluginHostContext.from(context).registry.syncRequestHandler else { return FERRY_UNSUPPORTED }
                    sync()
                    return FERRY_OK
                },
                capture_resource: { context, name, method, parameters, length, result in
                    PluginHostContext.from(context).captureResource(name, method, parameters, length, result)
                }))
        return UnsafePointer(table)
    }

    /// capture_resource: a plugin asks for another resource's capture (a vision service, its camera's image).
    func captureResource(
        _ name: UnsafePointer<CChar>?, _ method: UnsafePointer<CChar>?, _ parameters: UnsafePointer<UInt8>?, _ length: Int,
        _ result: UnsafeMutablePointer<ferry_result>?
    ) -> ferry_status {
        guard let result else { return FERRY_INVALID_ARGUMENT }
        guard let name, let method else {
            return ResultFiller.fail(result, PluginCallError(status: .invalidArgument, message: "capture_resource needs a name and a method"))
        }
        guard let capture = registry.resourceCapture else {
            return ResultFiller.fail(result, PluginCallError(status: .unsupported, message: "this host runs no machine, so there is no resource to capture"))
        }
        do throws(PluginCallError) {
            var document: BSONDocument = [:]
            if let parameters, length > 0 {
                do {
                    document = try BSONDocument(bytes: UnsafeRawBufferPointer(start: parameters, count: length))
                } catch {
                    throw PluginCallError(status: .invalidArgument, message: "capture_resource parameters are not BSON: \(error)")
                }
            }
            ResultFiller.fill(result, with: try capture(String(cString: name), String(cString: method), document))
            return FERRY_OK
        } catch {
            return ResultFiller.fail(result, error)
        }
    }

    static func from(_ context: UnsafeMutableRawPointer?) -> PluginHostContext {
        Unmanaged<PluginHostContext>.fromOpaque(context!).takeUnretainedValue()
    }

    /// Copies a struct the plugin may have compiled against an older (smaller) layout: the fields
    /// it does not know stay zero, i.e. NULL / absent.
    static func copy<T>(_ pointer: UnsafePointer<T>, declaredSize: UInt32, zero: T) -> T {
        var value = zero
        let count = min(Int(declaredSize), MemoryLayout<T>.size)
        withUnsafeMutableBytes(of: &value) { $0.copyMemory(from: UnsafeRawBufferPointer(start: pointer, count: count)) }
        return value
    }

    func register(model pointer: UnsafePointer<ferry_model>?) -> ferry_status {
        guard session.withLock({ $0.open }) else {
            return refuse(.malformed("register_model called after init returned; register only during init"))
        }
        guard let pointer else { return refuse(.malformed("register_model(NULL)")) }
        let model = PluginHostContext.copy(pointer, declaredSize: pointer.pointee.struct_size, zero: ferry_model())
        guard let api = model.api.map({ String(cString: $0) }), let name = model.model.map({ String(cString: $0) }),
            model.create != nil, model.close != nil, model.capture != nil
        else {
            return refuse(.malformed("a model lacks its api, model name, or create/close/capture function"))
        }
        var methods: [String] = []
        if var cursor = model.capture_methods {
            while let method = cursor.pointee {
                methods.append(String(cString: method))
                cursor += 1
            }
        }
        let key = ModelKey(api: api, model: name)
        if let owner = registry.owner(of: key) {
            return refuse(.duplicate(what: "model \(key)", registeredBy: owner))
        }
        let registered = RegisteredModel(cModel: model, api: api, model: name, captureMethods: methods, pluginPath: path)
        return session.withLock { session in
            if session.models.contains(where: { $0.api == api && $0.model == name }) {
                session.refusals.append(LoadError(path: path, reason: .duplicate(what: "model \(key)", registeredBy: path)))
                return FERRY_INVALID_ARGUMENT
            }
            session.models.append(registered)
            return FERRY_OK
        }
    }

    func register(operator pointer: UnsafePointer<ferry_operator>?) -> ferry_status {
        guard session.withLock({ $0.open }) else {
            return refuse(.malformed("register_operator called after init returned; register only during init"))
        }
        guard let pointer else { return refuse(.malformed("register_operator(NULL)")) }
        let op = PluginHostContext.copy(pointer, declaredSize: pointer.pointee.struct_size, zero: ferry_operator())
        guard let name = op.name.map({ String(cString: $0) }), name.hasPrefix("$"), name.count > 1 else {
            return refuse(.malformed("an MQL operator's name must start with $"))
        }
        let kind: RegisteredOperator.Kind
        switch op.kind {
        case FERRY_OPERATOR_EXPRESSION where op.evaluate != nil: kind = .expression
        case FERRY_OPERATOR_ACCUMULATOR
        where op.accumulator_init != nil && op.accumulator_add != nil && op.accumulator_finalize != nil
            && op.accumulator_free != nil:
            kind = .accumulator
        case FERRY_OPERATOR_STAGE where op.stage_run != nil: kind = .stage
        default:
            return refuse(.malformed("MQL operator \(name) lacks the functions its kind needs"))
        }
        if let owner = registry.owner(ofOperator: name) {
            return refuse(.duplicate(what: "MQL operator \(name)", registeredBy: owner))
        }
        let registered = RegisteredOperator(cOperator: op, name: name, kind: kind, pluginPath: path)
        return session.withLock { session in
            if session.operators.contains(where: { $0.name == name }) {
                session.refusals.append(LoadError(path: path, reason: .duplicate(what: "MQL operator \(name)", registeredBy: path)))
                return FERRY_INVALID_ARGUMENT
            }
            session.operators.append(registered)
            return FERRY_OK
        }
    }
}
