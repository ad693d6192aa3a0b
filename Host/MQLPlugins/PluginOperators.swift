import FerryBSON
import FerryIsolation
import FerryLoader
import FerryMQL

/// Makes the MQL operators that loaded plugins registered usable in pipelines: each becomes an
/// entry of the engine's operator registry that calls the plugin through the C ABI, or over the
/// channel to the plugin's own process when it runs isolated.
extension MQLOperatorRegistry {
    /// The built-in operators plus every operator the plugins in `plugins` registered, and those
    /// of the plugin processes in `isolated` (an operator a plugin loaded here also has is served
    /// here; between processes, the first in `isolated` serves it).
    package init(plugins: PluginRegistry, isolated: [IsolatedModule] = []) throws {
        self.init()
        var names = Set(plugins.operators.map(\.name))
        for module in isolated {
            for op in module.isolatedOperators.sorted(by: { $0.name < $1.name }) where names.insert(op.name).inserted {
                try register(isolated: op)
            }
        }
        for op in plugins.operators.sorted(by: { $0.name < $1.name }) {
            let validate: @Sendable (BSON) throws -> Void = { spec in try op.validate(spec) }
            switch op.kind {
            case .expression:
                try register(MQLExpressionOperator(name: op.name, validate: validate) { try op.evaluate($0) })
            case .accumulator:
                try register(
                    MQLAccumulatorOperator(name: op.name, validate: validate) { spec in
                        PluginAccumulatorState(try op.makeAccumulator(spec: spec))
                    })
            case .stage:
                try register(MQLStageOperator(name: op.name, validate: validate) { try op.runStage(spec: $0, documents: $1) })
            }
        }
    }

    private mutating func register(isolated op: IsolatedOperator) throws {
        let validate: @Sendable (BSON) throws -> Void = { spec in try op.validate(spec) }
        switch op.kind {
        case .expression:
            try register(MQLExpressionOperator(name: op.name, validate: validate) { try op.evaluate($0) })
        case .accumulator:
            try register(MQLAccumulatorOperator(name: op.name, validate: validate) { spec in PluginAccumulatorState(try op.makeAccumulator(spec: spec)) })
        case .stage:
            try register(MQLStageOperator(name: op.name, validate: validate) { try op.runStage(spec: $0, documents: $1) })
        }
    }
}

/// An accumulator a plugin computes, in this process or in the plugin's own.
protocol PluginAccumulatorCalls: AnyObject {
    func add(_ value: BSON) throws(PluginCallError)
    func merge(_ other: Self) throws(PluginCallError)
    func finalize() throws(PluginCallError) -> BSON
}

extension PluginAccumulator: PluginAccumulatorCalls {}
extension IsolatedAccumulator: PluginAccumulatorCalls {}

/// A plugin accumulator's state as the engine sees it.
final class PluginAccumulatorState<Accumulator: PluginAccumulatorCalls>: MQLAccumulatorState {
    let accumulator: Accumulator
    init(_ accumulator: Accumulator) { self.accumulator = accumulator }

    func add(_ value: BSON) throws { try accumulator.add(value) }

    func merge(_ other: any MQLAccumulatorState) throws {
        guard let other = other as? Self else {
            throw PluginCallError(status: .invalidArgument, message: "cannot merge a state of another accumulator")
        }
        try accumulator.merge(other.accumulator)
    }

    func finalize() throws -> BSON { try accumulator.finalize() }
}
