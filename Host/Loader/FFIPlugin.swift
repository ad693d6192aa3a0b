@preconcurrency import CFFI
import CFerryPlugin
import FerryBSON
import Foundation

/// The simple tier: a plain C library plus a manifest (``FFIManifest``). The loader resolves each
/// function, prepares its libffi call interface once, and registers a sensor model whose
/// Readings call the functions with arguments taken from the component's attributes. The model
/// is an ordinary `ferry_model` whose callbacks live here, so the rest of the host cannot tell it
/// from a full plugin.
///
/// A float or double function returning NaN means "no reading now" (retry later), which is how a
/// ten-line C driver reports a bus error.
enum FFIPlugin {
    static func load(library: UnsafeMutableRawPointer, path: String, manifestPath: String, into registry: PluginRegistry) throws(LoadError)
        -> PluginInfo
    {
        let manifest: FFIManifest
        do {
            manifest = try FFIManifest(path: manifestPath)
        } catch {
            // Name the library the user configured, and the manifest that holds the fault.
            guard case .malformed(let message) = error.reason else { throw error }
            throw LoadError(path: path, reason: .malformed("\(manifestPath): \(message)"))
        }
        var models: [RegisteredModel] = []
        for entry in manifest.models {
            var functions: [FFIFunction] = []
            for (key, signature) in entry.readings {
                guard let symbol = dlsym(library, signature.name) else {
                    throw LoadError(path: path, reason: .malformed("\(manifestPath) names \(signature.name), which the library does not export"))
                }
                guard let function = FFIFunction(key: key, signature: signature, address: symbol) else {
                    throw LoadError(path: path, reason: .malformed("libffi could not prepare a call to \(signature.name)"))
                }
                functions.append(function)
            }
            let context = FFIModelContext(model: entry.model, functions: functions)
            let methods = ["Readings"]
            let cModel = ferry_model(
                struct_size: UInt32(MemoryLayout<ferry_model>.size), api: nil, model: nil, capture_methods: nil, flags: 0,
                model_context: Unmanaged.passRetained(context).toOpaque(),  // lives as long as the process
                create: ffiCreate, reconfigure: nil, close: ffiClose, capture: ffiCapture, do_command: nil)
            models.append(RegisteredModel(cModel: cModel, api: entry.api, model: entry.model, captureMethods: methods, pluginPath: path))
        }
        let info = PluginInfo(
            path: path, name: manifest.name, version: manifest.version, abiMajor: PluginLoader.abiMajor, abiMinor: PluginLoader.abiMinor,
            models: models.map { ModelSummary(api: $0.api, model: $0.model, captureMethods: $0.captureMethods, threadSafe: false) },
            operators: [])
        try registry.commit(info: info, models: models, operators: [])
        return info
    }
}

/// One C function with its prepared call interface. Immutable after init; the cif and type
/// array are allocated once and never freed (libraries are never unloaded either).
final class FFIFunction: @unchecked Sendable {
    // @unchecked: `cif` and `argumentTypes` are written only in init; ffi_call only reads them.
    let key: String
    let signature: CSignature
    let address: UnsafeMutableRawPointer
    let cif: UnsafeMutablePointer<ffi_cif>
    let argumentTypes: UnsafeMutablePointer<UnsafeMutablePointer<ffi_type>?>

    init?(key: String, signature: CSignature, address: UnsafeMutableRawPointer) {
        (self.key, self.signature, self.address) = (key, signature, address)
        cif = .allocate(capacity: 1)
        argumentTypes = .allocate(capacity: max(signature.parameters.count, 1))
        for (i, parameter) in signature.parameters.enumerated() { argumentTypes[i] = FFIFunction.ffiType(parameter.type) }
        let status = ffi_prep_cif(
            cif, FFI_DEFAULT_ABI, UInt32(signature.parameters.count), FFIFunction.ffiType(signature.returnType), argumentTypes)
        guard status == FFI_OK else { return nil }
    }

    static func ffiType(_ type: CSignature.CType) -> UnsafeMutablePointer<ffi_type> {
        switch type {
        case .int32: ferry_ffi_type_sint32()
        case .int64: ferry_ffi_type_sint64()
        case .double: ferry_ffi_type_double()
        case .float: ferry_ffi_type_float()
        case .bool: ferry_ffi_type_uint8()
        case .string: ferry_ffi_type_pointer()
        }
    }

    /// Calls the function with `arguments` (one 8-byte slot per parameter, already encoded).
    func call(_ arguments: FFIArguments) -> BSON? {
        var result: UInt64 = 0  // ffi widens small integer returns to a full ffi_arg
        var pointers = (0..<signature.parameters.count).map { UnsafeMutableRawPointer(arguments.slots + $0) as UnsafeMutableRawPointer? }
        pointers.withUnsafeMutableBufferPointer { buffer in
            ffi_call(cif, unsafeBitCast(address, to: (@convention(c) () -> Void).self), &result, buffer.baseAddress)
        }
        switch signature.returnType {
        case .double:
            let value = Double(bitPattern: result)
            return value.isNaN ? nil : .double(value)
        case .float:
            let value = Float(bitPattern: UInt32(truncatingIfNeeded: result))
            return value.isNaN ? nil : .double(Double(value))
        case .int32: return .int32(Int32(truncatingIfNeeded: result))
        case .int64: return .int64(Int64(bitPattern: result))
        case .bool: return .bool(UInt8(truncatingIfNeeded: result) != 0)
        case .string: return nil
        }
    }
}

/// One instance's argument values for one function: an 8-byte slot per parameter (the value
/// stored at the slot's start, as libffi reads it), and the C strings they point to.
final class FFIArguments {
    let slots: UnsafeMutablePointer<UInt64>
    private var strings: [UnsafeMutablePointer<CChar>] = []

    init(_ function: FFIFunction, attributes: BSONDocument, model: String) throws(FFIConfigError) {
        let parameters = function.signature.parameters
        slots = .allocate(capacity: max(parameters.count, 1))
        slots.initialize(repeating: 0, count: max(parameters.count, 1))
        for (i, parameter) in parameters.enumerated() {
            guard let value = attributes[parameter.name] else {
                throw FFIConfigError("attribute \(parameter.name) is required: \(function.signature.name) takes \(parameter.type.rawValue) \(parameter.name)")
            }
            let raw = UnsafeMutableRawPointer(slots + i)
            switch parameter.type {
            case .int32:
                guard let n = value.int64Value, let v = Int32(exactly: n) else { throw FFIConfigError("attribute \(parameter.name) must be an int") }
                raw.storeBytes(of: v, as: Int32.self)
            case .int64:
                guard let n = value.int64Value else { throw FFIConfigError("attribute \(parameter.name) must be an integer") }
                raw.storeBytes(of: n, as: Int64.self)
            case .double:
                guard let n = value.doubleValue else { throw FFIConfigError("attribute \(parameter.name) must be a number") }
                raw.storeBytes(of: n, as: Double.self)
            case .float:
                guard let n = value.doubleValue else { throw FFIConfigError("attribute \(parameter.name) must be a number") }
                raw.storeBytes(of: Float(n), as: Float.self)
            case .bool:
                guard let b = value.boolValue else { throw FFIConfigError("attribute \(parameter.name) must be true or false") }
                raw.storeBytes(of: b ? 1 : 0, as: UInt8.self)
            case .string:
                guard let s = value.stringValue else { throw FFIConfigError("attribute \(parameter.name) must be a string") }
                let copy = strdup(s)!
                strings.append(copy)
                raw.storeBytes(of: UnsafeRawPointer(copy), as: UnsafeRawPointer.self)
            }
        }
    }

    deinit {
        strings.forEach { free($0) }
        slots.deallocate()
    }
}

struct FFIConfigError: Error {
    var message: String
    init(_ message: String) { self.message = message }
}

final class FFIModelContext: Sendable {
    let model: String
    let functions: [FFIFunction]
    init(model: String, functions: [FFIFunction]) { (self.model, self.functions) = (model, functions) }
}

/// One component: its functions with their argument values. Called from one thread at a time
/// (the model is not registered thread-safe, so the host serialises calls).
final class FFIInstance {
    let calls: [(FFIFunction, FFIArguments)]
    let model: String
    init(context: FFIModelContext, attributes: BSONDocument) throws(FFIConfigError) {
        model = context.model
        var calls: [(FFIFunction, FFIArguments)] = []
        for function in context.functions { calls.append((function, try FFIArguments(function, attributes: attributes, model: context.model))) }
        self.calls = calls
    }
}

private func reply(_ result: UnsafeMutablePointer<ferry_result>?, error message: String) {
    guard let result else { return }
    message.withCString { result.pointee.set_error(result.pointee.context, $0) }
}

private let ffiCreate: @convention(c) (
    UnsafeMutableRawPointer?, UnsafePointer<UInt8>?, Int, UnsafeMutablePointer<UnsafeMutableRawPointer?>?, UnsafeMutablePointer<ferry_result>?
) -> ferry_status = { context, config, length, instance, result in
    let model = Unmanaged<FFIModelContext>.fromOpaque(context!).takeUnretainedValue()
    guard let document = try? BSONDocument(bytes: UnsafeRawBufferPointer(start: config, count: length)) else {
        reply(result, error: "malformed config BSON")
        return FERRY_INVALID_ARGUMENT
    }
    do throws(FFIConfigError) {
        let created = try FFIInstance(context: model, attributes: document["attributes"]?.documentValue ?? [:])
        instance?.pointee = Unmanaged.passRetained(created).toOpaque()
        return FERRY_OK
    } catch {
        reply(result, error: "\(model.model): \(error.message)")
        return FERRY_INVALID_ARGUMENT
    }
}

private let ffiClose: @convention(c) (UnsafeMutableRawPointer?) -> Void = { instance in
    guard let instance else { return }
    Unmanaged<FFIInstance>.fromOpaque(instance).release()
}

private let ffiCapture: @convention(c) (
    UnsafeMutableRawPointer?, UnsafePointer<CChar>?, UnsafePointer<UInt8>?, Int, UnsafeMutablePointer<ferry_result>?
) -> ferry_status = { handle, method, _, _, result in
    let instance = Unmanaged<FFIInstance>.fromOpaque(handle!).takeUnretainedValue()
    guard let method, String(cString: method) == "Readings" else {
        reply(result, error: "\(instance.model) implements only Readings")
        return FERRY_UNSUPPORTED
    }
    var readings = BSONDocument()
    for (function, arguments) in instance.calls {
        guard let value = function.call(arguments) else {
            reply(result, error: "\(function.signature.name) returned NaN (no reading this time); the next capture retries")
            return FERRY_RETRY_LATER
        }
        readings.elements.append(BSONElement(function.key, value))
    }
    let bytes = BSONDocument([("readings", .document(readings))]).encode()
    bytes.withUnsafeBufferPointer { result!.pointee.set_document(result!.pointee.context, $0.baseAddress, $0.count) }
    return FERRY_OK
}
