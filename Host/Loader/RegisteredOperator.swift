import CFerryPlugin
import FerryBSON

/// An MQL operator a plugin registered; the MQL engine bridges it into its operator registry.
package final class RegisteredOperator: @unchecked Sendable {
    // @unchecked: `cOperator` holds C function pointers and the plugin's context, valid for the
    // life of the process (libraries are never unloaded); nothing mutates after registration.
    package enum Kind: String, Sendable { case expression, accumulator, stage }
    package let name: String
    package let kind: Kind
    package let pluginPath: String
    package let cOperator: ferry_operator

    init(cOperator: ferry_operator, name: String, kind: Kind, pluginPath: String) {
        self.cOperator = cOperator
        self.name = name
        self.kind = kind
        self.pluginPath = pluginPath
    }
}

// MARK: - Calling the operator through the C ABI

extension RegisteredOperator {
    /// Calls a plugin function that fills a `ferry_result`, and returns the `field` of the
    /// document it set (the ABI wraps every operator value as `{"<field>": value}`).
    private func call(
        _ what: String, field: String?, _ body: (UnsafeMutablePointer<ferry_result>) -> ferry_status
    ) throws(PluginCallError) -> BSON {
        let collector = ResultCollector()
        let status = collector.withResult(body)
        guard status == FERRY_OK else { throw PluginCallError(status, collector.error.map { "\(name) \(what): \($0)" }) }
        guard let field else { return .null }
        guard let bytes = collector.document else { return .null }
        do {
            return try BSONDocument(bytes: bytes)[field] ?? .null
        } catch {
            throw PluginCallError(status: .fatal, message: "\(name) \(what) returned malformed BSON: \(error)")
        }
    }

    private static func wrap(_ key: String, _ value: BSON) -> [UInt8] { BSONDocument([(key, value)]).encode() }

    /// Checks the operator's argument at pipeline creation (no-op when the plugin has no validate).
    package func validate(_ spec: BSON) throws(PluginCallError) {
        guard let validate = cOperator.validate else { return }
        let bytes = Self.wrap("spec", spec)
        _ = try call("validate", field: nil) { result in
            bytes.withUnsafeBufferPointer { validate(cOperator.operator_context, $0.baseAddress, $0.count, result) }
        }
    }

    /// An expression operator's value for its evaluated argument.
    package func evaluate(_ argument: BSON) throws(PluginCallError) -> BSON {
        guard let evaluate = cOperator.evaluate else { throw PluginCallError(status: .unsupported, message: "\(name) is not an expression") }
        let bytes = Self.wrap("args", argument)
        return try call("evaluate", field: "value") { result in
            bytes.withUnsafeBufferPointer { evaluate(cOperator.operator_context, $0.baseAddress, $0.count, result) }
        }
    }

    /// A stage operator's output batch for its input batch.
    package func runStage(spec: BSON, documents: [BSONDocument]) throws(PluginCallError) -> [BSONDocument] {
        guard let run = cOperator.stage_run else { throw PluginCallError(status: .unsupported, message: "\(name) is not a stage") }
        let specBytes = Self.wrap("spec", spec)
        let inputBytes = Self.wrap("docs", .array(documents.map(BSON.document)))
        let output = try call("stage", field: "docs") { result in
            specBytes.withUnsafeBufferPointer { spec in
                inputBytes.withUnsafeBufferPointer { input in
                    run(cOperator.operator_context, spec.baseAddress, spec.count, input.baseAddress, input.count, result)
                }
            }
        }
        guard let array = output.arrayValue else {
            throw PluginCallError(status: .fatal, message: "\(name) stage returned no \"docs\" array")
        }
        var documents: [BSONDocument] = []
        for value in array {
            guard let document = value.documentValue else {
                throw PluginCallError(status: .fatal, message: "\(name) stage returned a non-document in \"docs\"")
            }
            documents.append(document)
        }
        return documents
    }

    /// A fresh accumulator state for one group or window.
    package func makeAccumulator(spec: BSON) throws(PluginCallError) -> PluginAccumulator {
        guard let initialize = cOperator.accumulator_init else {
            throw PluginCallError(status: .unsupported, message: "\(name) is not an accumulator")
        }
        let bytes = Self.wrap("spec", spec)
        var state: UnsafeMutableRawPointer?
        _ = try call("init", field: nil) { result in
            bytes.withUnsafeBufferPointer { initialize(cOperator.operator_context, $0.baseAddress, $0.count, &state, result) }
        }
        guard let state else { throw PluginCallError(status: .fatal, message: "\(name) init returned no state") }
        return PluginAccumulator(op: self, state: state)
    }
}

/// One plugin accumulator state; freed through the plugin when released. Used by one thread at a
/// time, as the ABI requires of accumulator states.
package final class PluginAccumulator {
    let op: RegisteredOperator
    let state: UnsafeMutableRawPointer

    init(op: RegisteredOperator, state: UnsafeMutableRawPointer) {
        self.op = op
        self.state = state
    }

    deinit { op.cOperator.accumulator_free(state) }

    package func add(_ value: BSON) throws(PluginCallError) {
        let bytes = BSONDocument([("value", value)]).encode()
        let collector = ResultCollector()
        let status = collector.withResult { result in
            bytes.withUnsafeBufferPointer { op.cOperator.accumulator_add(state, $0.baseAddress, $0.count, result) }
        }
        guard status == FERRY_OK else { throw PluginCallError(status, collector.error) }
    }

    /// Folds `other` (a state of the same operator) into this one.
    package func merge(_ other: PluginAccumulator) throws(PluginCallError) {
        guard let merge = op.cOperator.accumulator_merge else {
            throw PluginCallError(status: .unsupported, message: "\(op.name) cannot merge partial states")
        }
        let collector = ResultCollector()
        let status = collector.withResult { merge(state, other.state, $0) }
        guard status == FERRY_OK else { throw PluginCallError(status, collector.error) }
    }

    package func finalize() throws(PluginCallError) -> BSON {
        let collector = ResultCollector()
        let status = collector.withResult { op.cOperator.accumulator_finalize(state, $0) }
        guard status == FERRY_OK else { throw PluginCallError(status, collector.error) }
        do {
            return try collector.document.map { try BSONDocument(bytes: $0)["value"] ?? .null } ?? .null
        } catch {
            throw PluginCallError(status: .fatal, message: "\(op.name) finalize returned malformed BSON: \(error)")
        }
    }
}
