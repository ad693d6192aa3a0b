import FerryBSON
import FerryLoader

/// An MQL operator a plugin registered, served from the plugin's process: each call goes over the
/// channel with the module's call deadline. A crash or a missed deadline fails that call (so the
/// query or pipeline run using it) as retry-later, and the process restarts with its backoff; the
/// host that runs the query lives on.
package struct IsolatedOperator: Sendable {
    package let module: IsolatedModule
    package let name: String
    package let kind: RegisteredOperator.Kind

    /// Checks the operator's argument at pipeline creation.
    package func validate(_ spec: BSON) throws(PluginCallError) {
        _ = try module.operatorCall(name, "validate", ["spec": spec])
    }

    /// An expression operator's value for its evaluated argument.
    package func evaluate(_ argument: BSON) throws(PluginCallError) -> BSON {
        try module.operatorCall(name, "evaluate", ["args": argument]).result["value"] ?? .null
    }

    /// A stage operator's output batch for its input batch.
    package func runStage(spec: BSON, documents: [BSONDocument]) throws(PluginCallError) -> [BSONDocument] {
        let result = try module.operatorCall(name, "stage", ["spec": spec, "docs": .array(documents.map(BSON.document))]).result
        guard let docs = result["docs"]?.arrayValue else {
            throw PluginCallError(status: .fatal, message: "\(name) stage returned no \"docs\" array")
        }
        let output = docs.compactMap(\.documentValue)
        guard output.count == docs.count else { throw PluginCallError(status: .fatal, message: "\(name) stage returned a non-document in \"docs\"") }
        return output
    }

    /// A fresh accumulator state for one group or window, living in the plugin process.
    package func makeAccumulator(spec: BSON) throws(PluginCallError) -> IsolatedAccumulator {
        let (result, generation) = try module.operatorCall(name, "accumulator_init", ["spec": spec])
        guard let state = result["state"]?.int64Value else { throw PluginCallError(status: .fatal, message: "\(name) init returned no state") }
        return IsolatedAccumulator(op: self, state: state, generation: generation)
    }
}

/// One accumulator state in a plugin process, known by its id there; freed there when released.
/// Its calls fail once that process has restarted (the state went with it).
package final class IsolatedAccumulator: Sendable {
    let op: IsolatedOperator
    let state: Int64
    let generation: Int

    init(op: IsolatedOperator, state: Int64, generation: Int) {
        self.op = op
        self.state = state
        self.generation = generation
    }

    deinit { _ = try? call("accumulator_free", [:]) }

    private func call(_ what: String, _ arguments: BSONDocument) throws(PluginCallError) -> BSONDocument {
        var arguments = arguments
        arguments["state"] = .int64(state)
        return try op.module.operatorCall(op.name, what, arguments, stateIn: generation).result
    }

    package func add(_ value: BSON) throws(PluginCallError) {
        _ = try call("accumulator_add", ["value": value])
    }

    /// Folds `other` (a state of the same operator, in the same process) into this one.
    package func merge(_ other: IsolatedAccumulator) throws(PluginCallError) {
        guard other.op.module === op.module, other.generation == generation else {
            throw PluginCallError(status: .fatal, message: "\(op.name): cannot merge states from different plugin processes")
        }
        _ = try call("accumulator_merge", ["other": .int64(other.state)])
    }

    package func finalize() throws(PluginCallError) -> BSON {
        try call("accumulator_finalize", [:])["value"] ?? .null
    }
}
