import CFerryPlugin
import FerryBSON

/// The model's registration, kept alive for the process (models are never unregistered).
final class ModelBox: Sendable {
    let registration: ModelRegistration
    init(_ registration: ModelRegistration) { self.registration = registration }
}

/// One live instance. The host never calls one instance concurrently unless its model is
/// thread-safe (then the component itself promised to be), so the box needs no lock.
final class InstanceBox: @unchecked Sendable {
    let component: any Component
    init(_ component: any Component) { self.component = component }
}

enum ModelTrampolines {
    static func cModel(_ registration: ModelRegistration) -> ferry_model {
        let methods = UnsafeMutablePointer<UnsafePointer<CChar>?>.allocate(capacity: registration.captureMethods.count + 1)
        for (index, method) in registration.captureMethods.enumerated() { methods[index] = permanentCString(method) }
        methods[registration.captureMethods.count] = nil
        return ferry_model(
            struct_size: UInt32(MemoryLayout<ferry_model>.size),
            api: permanentCString(registration.api), model: permanentCString(registration.model),
            capture_methods: UnsafePointer(methods), flags: registration.threadSafe ? FERRY_MODEL_THREAD_SAFE : 0,
            model_context: Unmanaged.passRetained(ModelBox(registration)).toOpaque(),
            create: { context, config, length, instance, result in
                let writer = ResultWriter(result)
                return writer.run {
                    let box = Unmanaged<ModelBox>.fromOpaque(context!).takeUnretainedValue()
                    let component = try box.registration.create(try ComponentConfig(document: document(config, length)))
                    instance?.pointee = Unmanaged.passRetained(InstanceBox(component)).toOpaque()
                }
            },
            reconfigure: { instance, config, length, result in
                ResultWriter(result).run {
                    try ModelTrampolines.box(instance).component.reconfigure(try ComponentConfig(document: document(config, length)))
                }
            },
            close: { instance in
                guard let instance else { return }
                let box = Unmanaged<InstanceBox>.fromOpaque(instance)
                box.takeUnretainedValue().component.close()
                box.release()
            },
            capture: { instance, method, parameters, length, result in
                let writer = ResultWriter(result)
                return writer.run {
                    let output = try ModelTrampolines.box(instance).component.capture(
                        method: String(cString: method!), parameters: try document(parameters, length))
                    switch output {
                    case .tabular(let reading): writer.setDocument(reading)
                    case .binary(let payloads): payloads.forEach(writer.addBinary)
                    }
                }
            },
            do_command: { instance, command, length, result in
                let writer = ResultWriter(result)
                return writer.run {
                    writer.setDocument(try ModelTrampolines.box(instance).component.doCommand(try document(command, length)))
                }
            })
    }

    fileprivate static func box(_ instance: UnsafeMutableRawPointer?) -> InstanceBox {
        Unmanaged<InstanceBox>.fromOpaque(instance!).takeUnretainedValue()
    }
}

/// An operator registration kept alive for the process.
final class OperatorBox: Sendable {
    let registration: OperatorRegistration
    init(_ registration: OperatorRegistration) { self.registration = registration }
}

/// One accumulator state. The ABI gives a state to one thread at a time.
final class AccumulatorBox: @unchecked Sendable {
    let accumulator: any Accumulator
    init(_ accumulator: any Accumulator) { self.accumulator = accumulator }
}

enum OperatorTrampolines {
    static func cOperator(_ registration: OperatorRegistration) -> ferry_operator {
        let kind: ferry_operator_kind =
            switch registration.implementation {
            case .expression: FERRY_OPERATOR_EXPRESSION
            case .accumulator: FERRY_OPERATOR_ACCUMULATOR
            case .stage: FERRY_OPERATOR_STAGE
            }
        var op = ferry_operator()
        op.struct_size = UInt32(MemoryLayout<ferry_operator>.size)
        op.name = permanentCString(registration.name)
        op.kind = kind
        op.operator_context = Unmanaged.passRetained(OperatorBox(registration)).toOpaque()
        op.validate = { context, spec, length, result in
            ResultWriter(result).run {
                let registration = OperatorTrampolines.operatorBox(context).registration
                try registration.validate?(try OperatorTrampolines.field("spec", spec, length))
            }
        }
        switch registration.implementation {
        case .expression:
            op.evaluate = { context, arguments, length, result in
                let writer = ResultWriter(result)
                return writer.run {
                    guard case .expression(let evaluate) = OperatorTrampolines.operatorBox(context).registration.implementation else { return }
                    writer.setDocument(["value": try evaluate(try OperatorTrampolines.field("args", arguments, length))])
                }
            }
        case .accumulator:
            op.accumulator_init = { context, spec, length, state, result in
                ResultWriter(result).run {
                    guard case .accumulator(let make) = OperatorTrampolines.operatorBox(context).registration.implementation else { return }
                    let accumulator = try make(try OperatorTrampolines.field("spec", spec, length))
                    state?.pointee = Unmanaged.passRetained(AccumulatorBox(accumulator)).toOpaque()
                }
            }
            op.accumulator_add = { state, value, length, result in
                ResultWriter(result).run { try OperatorTrampolines.accumulatorBox(state).accumulator.add(try OperatorTrampolines.field("value", value, length)) }
            }
            op.accumulator_merge = { state, other, result in
                ResultWriter(result).run {
                    try OperatorTrampolines.accumulatorBox(state).accumulator.merge(OperatorTrampolines.accumulatorBox(other).accumulator)
                }
            }
            op.accumulator_finalize = { state, result in
                let writer = ResultWriter(result)
                return writer.run { writer.setDocument(["value": try OperatorTrampolines.accumulatorBox(state).accumulator.finalize()]) }
            }
            op.accumulator_free = { state in
                if let state { Unmanaged<AccumulatorBox>.fromOpaque(state).release() }
            }
        case .stage:
            op.stage_run = { context, spec, specLength, input, inputLength, result in
                let writer = ResultWriter(result)
                return writer.run {
                    guard case .stage(let run) = OperatorTrampolines.operatorBox(context).registration.implementation else { return }
                    let docs = try OperatorTrampolines.field("docs", input, inputLength).arrayValue ?? []
                    let batch = try docs.map { value -> BSONDocument in
                        guard let doc = value.documentValue else {
                            throw PluginError.invalidArgument("stage input must be documents")
                        }
                        return doc
                    }
                    let output = try run(try OperatorTrampolines.field("spec", spec, specLength), batch)
                    writer.setDocument(["docs": .array(output.map(BSON.document))])
                }
            }
        }
        return op
    }

    fileprivate static func operatorBox(_ context: UnsafeMutableRawPointer?) -> OperatorBox {
        Unmanaged<OperatorBox>.fromOpaque(context!).takeUnretainedValue()
    }

    fileprivate static func accumulatorBox(_ state: UnsafeMutableRawPointer?) -> AccumulatorBox {
        Unmanaged<AccumulatorBox>.fromOpaque(state!).takeUnretainedValue()
    }

    /// The one field of a `{"<key>": value}` wrapper document the ABI passes operator values in.
    fileprivate static func field(_ key: String, _ bytes: UnsafePointer<UInt8>?, _ length: Int) throws -> BSON {
        try document(bytes, length)[key] ?? .null
    }
}
